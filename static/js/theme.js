/*
 * Colour theme, loaded blocking in <head> so that it applies before the first paint.
 * The stylesheet follows prefers-color-scheme; a choice made with the top bar's switch
 * (light / dark / system) is remembered per browser in localStorage and set as
 * data-theme="light|dark" on <html> (no attribute: follow the system).
 * It also marks <html class="js">, which lets the stylesheet collapse the navigation on
 * narrow screens behind the menu button (static/js/nav.js); without scripts it stays open.
 */
(function () {
  "use strict";
  var KEY = "vault-console-theme";
  var root = document.documentElement;
  root.classList.add("js");

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : "system";
    } catch (e) {
      return "system"; // storage blocked: follow the system
    }
  }

  function apply(choice) {
    if (choice === "light" || choice === "dark") root.setAttribute("data-theme", choice);
    else root.removeAttribute("data-theme");
  }

  function remember(choice) {
    try {
      if (choice === "system") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, choice);
    } catch (e) { /* not remembered, still applied */ }
  }

  function showChoice(choice) {
    var buttons = document.querySelectorAll("[data-theme-choice]");
    for (var i = 0; i < buttons.length; i++) {
      var on = buttons[i].getAttribute("data-theme-choice") === choice;
      buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  apply(stored());

  document.addEventListener("DOMContentLoaded", function () {
    var switches = document.querySelectorAll("[data-theme-switch]");
    for (var i = 0; i < switches.length; i++) switches[i].hidden = false;
    showChoice(stored());
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-theme-choice]");
    if (!button) return;
    var choice = button.getAttribute("data-theme-choice");
    remember(choice);
    apply(choice);
    showChoice(choice);
  });

  // another tab changed the theme: follow it
  window.addEventListener("storage", function (evt) {
    if (evt.key !== KEY && evt.key !== null) return;
    apply(stored());
    showChoice(stored());
  });
})();
