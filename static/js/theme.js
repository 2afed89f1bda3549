// Applies the reader's saved colour theme before the page paints, so there is no flash.
// With no saved choice the CSS follows the operating system (prefers-color-scheme).
(function () {
  // Lets the CSS reserve the theme button's space before site.js shows it (no layout shift).
  document.documentElement.classList.add("js");
  try {
    var saved = localStorage.getItem("theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.setAttribute("data-theme", saved);
    }
  } catch (e) {
    /* storage may be disabled; the OS preference still applies */
  }
})();
