/* Drag an announcement to another day of the calendar: the drop opens its
   "Move" form with that day filled in (the time of day kept), where the
   person sees whether moving it sends it back for approval, and confirms.
   The same form is a link on every movable entry, for keyboards and phones. */
(function () {
  "use strict";

  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-move]");
    if (!item) { return; }
    dragged = item.getAttribute("data-move");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged);
  });

  document.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest && event.target.closest("[data-day]")) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
    }
  });

  document.addEventListener("drop", function (event) {
    var day = event.target.closest && event.target.closest("[data-day]");
    if (!dragged || !day) { return; }
    event.preventDefault();
    window.location.assign(dragged + "?date=" + encodeURIComponent(day.getAttribute("data-day")));
  });

  document.addEventListener("dragend", function () { dragged = null; });
})();
