/* Drag an announcement to another day, or to an hour of the week's grid: the
   drop opens its "Move" form with that day (and hour) filled in, the minutes
   kept, where the person reads whether moving it sends it back for approval,
   and confirms; the calendar then says what happened. The same form is a link
   on every movable entry, for keyboards and phones, and works without this. */
(function () {
  "use strict";

  var dragged = null;
  var target = null;

  function slot(event) {
    return (event.target.closest && event.target.closest("[data-day]")) || null;
  }

  function mark(cell) {
    if (target === cell) { return; }
    if (target) { target.classList.remove("cal-drop-target"); }
    target = cell;
    if (target) { target.classList.add("cal-drop-target"); }
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-move]");
    if (!item) { return; }
    dragged = item.getAttribute("data-move");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged);
  });

  document.addEventListener("dragover", function (event) {
    var cell = dragged ? slot(event) : null;
    mark(cell);
    if (cell) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
    }
  });

  document.addEventListener("drop", function (event) {
    var cell = slot(event);
    if (!dragged || !cell) { return; }
    event.preventDefault();
    var url = dragged + "?date=" + encodeURIComponent(cell.getAttribute("data-day"));
    if (cell.hasAttribute("data-hour")) {
      url += "&hour=" + encodeURIComponent(cell.getAttribute("data-hour"));
    }
    window.location.assign(url);
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    mark(null);
  });
})();
