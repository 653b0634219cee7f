/* Drafting pages, better with JavaScript: live preview, channels of the chosen
   department only, more translation blocks, confirmation of destructive steps.
   Every feature here has a server-side equivalent; nothing depends on this file. */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  /* A link to a confirmation page (cancel, retract): ask here, then post straight away. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-confirm]");
    if (!link) return;
    event.preventDefault();
    if (!window.confirm(link.getAttribute("data-confirm"))) return;
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.getAttribute("href");
    [["csrf_token", csrfToken()], ["confirmed", "yes"]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  });

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var form = document.getElementById("announcement-form");
  if (!form) return;

  /* Only the chosen department's channels; hidden ones are disabled so they are not sent. */
  var department = form.querySelector("select#department");
  function filterChannels() {
    var chosen = department ? department.value : null;
    form.querySelectorAll(".channel-group").forEach(function (group) {
      var show = !chosen || group.getAttribute("data-department") === chosen;
      group.hidden = !show;
      group.querySelectorAll("input, textarea").forEach(function (input) { input.disabled = !show; });
    });
  }
  if (department) {
    department.addEventListener("change", filterChannels);
    filterChannels();
  }

  /* Alert details only beside a ticked Emergency box (always there without script); kept while they show an
     error. Hidden, they are disabled, so unticking Emergency sends none. */
  var emergencyBox = form.querySelector("input#emergency:not([disabled])");
  var alertDetails = document.getElementById("alert-details");
  if (emergencyBox && alertDetails) {
    var showAlert = function () {
      alertDetails.hidden = !emergencyBox.checked && !alertDetails.querySelector("[aria-invalid]");
      alertDetails.disabled = alertDetails.hidden;
    };
    emergencyBox.addEventListener("change", showAlert);
    showAlert();
  }

  /* "Add another translation": a copy of the last block, emptied and renumbered. */
  var addButton = document.getElementById("add-translation");
  var list = form.querySelector(".translation-list");
  if (addButton && list) {
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      var blocks = list.querySelectorAll(".translation");
      var last = blocks[blocks.length - 1];
      var next = parseInt(last.getAttribute("data-index"), 10) + 1;
      var copy = last.cloneNode(true);
      var number = String(blocks.length + 1);
      copy.setAttribute("data-index", String(next));
      copy.querySelector("legend").textContent = "Translation " + number;
      copy.querySelectorAll(".error-text").forEach(function (p) { p.remove(); });
      copy.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/translations-\d+-/, "translations-" + next + "-");
        label.textContent = label.textContent.replace(/\d+$/, number);
      });
      copy.querySelectorAll("input, textarea").forEach(function (input) {
        input.id = input.id.replace(/translations-\d+-/, "translations-" + next + "-");
        input.name = input.id;
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      });
      list.appendChild(copy);
      copy.querySelector("input").focus();
    });
  }

  /* On a phone: "Write" and "Preview" as tabs (the WAI-ARIA tabs pattern, arrow keys move between them). */
  var drafting = document.querySelector(".drafting");
  var writePane = document.getElementById("write-pane");
  var previewPane = document.getElementById("preview-pane");
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 63.99rem)") : null;
  var tabs = null;
  function selectTab(tab, focus) {
    tabs.querySelectorAll('[role="tab"]').forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
  }
  function makeTabs() {
    tabs = document.createElement("div");
    tabs.className = "draft-tabs";
    tabs.setAttribute("role", "tablist");
    tabs.setAttribute("aria-label", "Announcement");
    [["write", "Write", writePane], ["preview", "Preview", previewPane]].forEach(function (t) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.id = "tab-" + t[0];
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", t[2].id);
      tab.textContent = t[1];
      tabs.appendChild(tab);
    });
    tabs.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab) selectTab(tab, false);
    });
    tabs.addEventListener("keydown", function (event) {
      var all = Array.prototype.slice.call(tabs.querySelectorAll('[role="tab"]'));
      var at = all.indexOf(document.activeElement);
      var to = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1}[event.key];
      if (to === undefined || at < 0) return;
      event.preventDefault();
      selectTab(all[(to + all.length) % all.length], true);
    });
  }
  function layout() {
    var phone = narrow.matches;
    if (phone && !tabs.parentNode) {
      drafting.insertBefore(tabs, drafting.firstChild);
      [writePane, previewPane].forEach(function (pane, n) {
        pane.setAttribute("role", "tabpanel");
        pane.setAttribute("aria-labelledby", n ? "tab-preview" : "tab-write");
      });
      previewPane.tabIndex = 0;
      // After a Preview press (or a refused save, which is about the form) open the tab the person needs.
      var errors = document.getElementById("error-summary");
      var first = drafting.getAttribute("data-previewed") && !errors ? "tab-preview" : "tab-write";
      selectTab(document.getElementById(first), false);
    } else if (!phone && tabs.parentNode) {
      tabs.remove();
      [writePane, previewPane].forEach(function (pane) {
        pane.removeAttribute("role");
        pane.hidden = false;
      });
      previewPane.setAttribute("aria-labelledby", "preview-heading");
      writePane.removeAttribute("aria-labelledby");
    }
    var skip = writePane.querySelector(".skip-to-preview");
    if (skip) skip.hidden = phone;
  }
  if (drafting && writePane && previewPane && narrow) {
    makeTabs();
    layout();
    if (narrow.addEventListener) narrow.addEventListener("change", layout);
  }

  /* Live preview: the form as it stands, posted (without the image file) after a pause in typing. */
  var cards = document.getElementById("preview-cards");
  var status = document.getElementById("preview-status");
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var latest = 0;
  var pending = null;
  function refresh() {
    var data = new FormData(form);
    data.delete("image_file");
    var ticket = ++latest;
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    cards.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      body: data,
      signal: pending ? pending.signal : undefined,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) throw new Error("preview " + response.status);
      return response.text();
    }).then(function (html) {
      if (ticket !== latest) return;  // an older answer arriving late
      cards.innerHTML = html;
      showChosenImage();
      var result = cards.querySelector(".preview-result");
      if (status && result) status.textContent = result.getAttribute("data-summary") || "";
    }).catch(function () {
      if (ticket === latest && status) status.textContent = "The preview could not be updated; use the Preview button.";
    }).then(function () {
      if (ticket === latest) cards.removeAttribute("aria-busy");
    });
  }
  function schedule(event) {
    var target = event && event.target;
    if (target && target.type === "file") return;
    window.clearTimeout(timer);
    // A ticked box (a channel, an image from the library) shows at once; typing waits for a pause.
    timer = window.setTimeout(refresh, target && target.type === "checkbox" ? 0 : 600);
  }
  /* An image chosen but not uploaded yet: a thumbnail from the browser's copy, in the form and on every
     card at once, with its alt text as the picture's alt and the same badge the server would show. */
  var fileInput = document.getElementById("image_file");
  var altInput = document.getElementById("image_alt");
  var chosen = document.getElementById("image_file-chosen");
  var localUrl = null;
  function showChosenImage() {
    if (!cards || !fileInput) return;
    cards.querySelectorAll(".post-image-local").forEach(function (item) { item.remove(); });
    var file = fileInput.files && fileInput.files[0];
    if (chosen) chosen.hidden = !localUrl;
    if (!file || !localUrl) return;
    var alt = altInput ? altInput.value.trim() : "";
    if (chosen) chosen.querySelector("img").src = localUrl;
    cards.querySelectorAll(".card").forEach(function (card) {
      var post = card.querySelector(".post");
      if (!post) return;
      var list = post.querySelector(".post-images");
      if (!list) {
        list = document.createElement("ul");
        list.className = "post-images";
        list.lang = "en";
        var text = post.querySelector(".post-text");
        post.insertBefore(list, text ? null : post.firstChild);
      }
      var item = document.createElement("li");
      item.className = "post-image post-image-local";
      var img = document.createElement("img");
      img.src = localUrl;
      img.alt = alt;
      var badge = document.createElement("span");
      badge.className = "image-badge " + (alt ? "image-badge-alt" : "image-badge-missing");
      badge.textContent = alt ? "ALT" : "No alt text";
      if (alt) badge.title = "This image has alt text";
      item.appendChild(img);
      item.appendChild(badge);
      list.appendChild(item);
    });
  }
  if (fileInput) {
    fileInput.addEventListener("change", function () {
      if (localUrl && window.URL) URL.revokeObjectURL(localUrl);
      var file = fileInput.files && fileInput.files[0];
      localUrl = file && window.URL && URL.createObjectURL ? URL.createObjectURL(file) : null;
      showChosenImage();
    });
    if (altInput) altInput.addEventListener("input", showChosenImage);
  }

  if (cards && url && window.fetch && window.FormData) {
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // A real submit replaces the page: a preview still on its way would only be cut off.
    form.addEventListener("submit", function () {
      window.clearTimeout(timer);
      latest++;
      if (pending) pending.abort();
    });
  }
})();
