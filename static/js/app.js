// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Menus built on <details>: close on outside click and on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  // <form data-confirm="question"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // One-time secrets: select the whole value when focused, for copying.
  document.addEventListener("focusin", function (event) {
    if (!event.target.hasAttribute("data-select-on-focus")) return;
    var range = document.createRange();
    range.selectNodeContents(event.target);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  });
})();
