// Progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function currentTheme() {
    var set = document.documentElement.getAttribute("data-theme");
    if (set) return set;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function setupThemeToggle() {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) return;
    function label() {
      var next = currentTheme() === "dark" ? "light" : "dark";
      button.setAttribute("aria-label", "Switch to " + next + " theme");
      button.setAttribute("title", "Switch to " + next + " theme");
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try {
        localStorage.setItem("theme", next);
      } catch (e) {
        /* the choice lasts for this page only */
      }
      label();
    });
  }

  // A range slider shows its value in the <output for="…"> beside it.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type !== "range" || !input.id) return;
    var output = document.querySelector('output[for="' + input.id + '"]');
    if (output) output.value = input.value;
  });

  document.addEventListener("DOMContentLoaded", function () {
    setupThemeToggle();
  });
})();
