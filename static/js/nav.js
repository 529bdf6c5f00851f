/*
 * The top bar's menu button on narrow screens: a <button aria-expanded aria-controls> that
 * shows and hides the navigation; Escape closes it and gives focus back to the button.
 * The stylesheet only hides the menu when <html> has class "js" (static/js/theme.js), so
 * without scripts the navigation stays open and reachable.
 */
(function () {
  "use strict";
  var button = document.querySelector(".nav-toggle[aria-controls]");
  if (!button) return;
  var menu = document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;

  function isOpen() {
    return button.getAttribute("aria-expanded") === "true";
  }

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }

  button.addEventListener("click", function () {
    setOpen(!isOpen());
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || !isOpen() || button.offsetParent === null) return;
    var inside = menu.contains(document.activeElement) || document.activeElement === button;
    setOpen(false);
    if (inside) {
      evt.preventDefault();
      evt.stopPropagation();
      button.focus();
    }
  }, true);
})();

/*
 * A table wider than the screen scrolls inside its .table-wrap; such a wrap is made
 * keyboard-focusable and named (a region), so keyboard users can scroll it too (WCAG 2.1.1).
 * Re-checked on resize and after htmx swaps.
 */
(function () {
  "use strict";

  function nameOf(wrap) {
    var table = wrap.querySelector("table");
    var caption = table && table.querySelector("caption");
    if (caption) return caption.textContent.trim();
    var box = wrap.closest("section, .card, main");
    var heading = box && box.querySelector("h2, h1");
    return (heading ? heading.textContent.trim() + ": " : "") + "table, scrolls sideways";
  }

  function mark() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", nameOf(wrap));
        wrap.setAttribute("data-scroll-marked", "");
      } else if (!scrolls && wrap.hasAttribute("data-scroll-marked")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        wrap.removeAttribute("data-scroll-marked");
      }
    }
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(mark, 150);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
  window.addEventListener("resize", later);
  document.addEventListener("htmx:afterSettle", mark);
})();
