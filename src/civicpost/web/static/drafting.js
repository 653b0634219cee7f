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
      var result = cards.querySelector(".preview-result");
      if (status && result) status.textContent = result.getAttribute("data-summary") || "";
    }).catch(function () {
      if (ticket === latest && status) status.textContent = "The preview could not be updated; use the Preview button.";
    }).then(function () {
      if (ticket === latest) cards.removeAttribute("aria-busy");
    });
  }
  function schedule(event) {
    if (event && event.target && event.target.type === "file") return;
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
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
