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

  // Autosave: when a save cannot reach the server, say so and offer to try again. The text
  // stays in the field, so nothing is lost; the plain Save button still posts the whole step.
  function autosaveFailed(event) {
    var field = event.detail && event.detail.elt;
    if (!field || !field.hasAttribute("data-autosave")) return;
    var status = document.getElementById(field.getAttribute("data-status"));
    if (!status) return;
    status.className = "save-status failed";
    status.textContent = "Not saved — ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link-button";
    retry.textContent = "retry";
    retry.addEventListener("click", function () {
      status.className = "save-status";
      status.textContent = "";
      window.htmx.trigger(field, field.tagName === "SELECT" || field.tagName === "FIELDSET" ? "change" : "autosave-retry");
    });
    status.appendChild(retry);
  }
  document.addEventListener("htmx:sendError", autosaveFailed);
  document.addEventListener("htmx:responseError", autosaveFailed);

  document.addEventListener("DOMContentLoaded", function () {
    setupThemeToggle();
  });
})();
