/* Live parts of staff pages (web/pages/live.py): while a part has deliveries in
   flight, fetch it again every few seconds with the ETag of what is shown and
   swap it in only when it changed. A polite live region says what changed.
   Without this script a reload shows the same. */
(function () {
  "use strict";

  var EVERY_MS = 3000;
  var MOST_MS = 30000;

  function announcer() {
    var region = document.getElementById("live-announcer");
    if (!region) {
      region = document.createElement("p");
      region.id = "live-announcer";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  function summary(part) {
    return part.getAttribute("data-live-summary") || ""; // the server words what the part now shows
  }

  function follow(part) {
    var url = part.getAttribute("data-live");
    var tag = null;
    var every = parseInt(part.getAttribute("data-live-every"), 10) || EVERY_MS;
    var wait = every;

    function again() { window.setTimeout(poll, wait); }

    function poll() {
      if (document.hidden) { document.addEventListener("visibilitychange", poll, { once: true }); return; }
      var current = document.getElementById(part.id);
      if (current && current.contains(document.activeElement)) { again(); return; } // someone is using it
      var headers = { "Accept": "text/html" };
      if (tag) { headers["If-None-Match"] = tag; }
      fetch(url, { headers: headers, credentials: "same-origin", cache: "no-cache" }).then(function (answer) {
        if (answer.redirected || (answer.status !== 200 && answer.status !== 304)) {
          throw new Error("stopped"); // signed out, or the announcement is gone: a reload tells why
        }
        tag = answer.headers.get("ETag") || tag;
        return answer.status === 304 ? null : answer.text();
      }).then(function (html) {
        wait = every;
        if (html === null) { again(); return; }
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        var fresh = holder.content.firstElementChild;
        var old = document.getElementById(part.id);
        if (!fresh || !old) { return; }
        var before = summary(old);
        // What the person opened stays open (the queue's rows are <details>).
        old.querySelectorAll("details[id][open]").forEach(function (opened) {
          var same = fresh.querySelector("#" + CSS.escape(opened.id));
          if (same) { same.open = true; }
        });
        old.replaceWith(fresh);
        var after = summary(fresh);
        if (after && after !== before) { announcer().textContent = after; }
        var state = fresh.getAttribute("data-announcement-state");
        var badge = document.getElementById("announcement-state");
        var drawn = fresh.querySelector("template.state-fresh");
        if (state && badge && badge.textContent !== state) {
          if (drawn) {
            // The badge's icon changes with its word; the page keeps one element with the badge's id.
            var fresher = drawn.content.firstElementChild.cloneNode(true);
            fresher.id = "announcement-state";
            badge.replaceWith(fresher);
          } else {
            badge.textContent = state;
            badge.className = "state state-" + state;
          }
        }
        if (fresh.getAttribute("data-live-open") === "true") { again(); }
      }).catch(function (error) {
        if (error && error.message === "stopped") { return; }
        wait = Math.min(wait * 2, MOST_MS); // the network or the server hiccupped: try again, less often
        again();
      });
    }

    again();
  }

  document.querySelectorAll("[data-live]").forEach(function (part) {
    if (part.id && part.getAttribute("data-live-open") === "true") { follow(part); }
  });
})();
