// Progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // The theme button cycles light → dark → the system's choice, and says which comes next.
  var THEMES = ["light", "dark", "system"];
  var THEME_NAMES = { light: "light theme", dark: "dark theme", system: "the system's theme" };

  function savedTheme() {
    var set = document.documentElement.getAttribute("data-theme");
    return set === "light" || set === "dark" ? set : "system";
  }

  function setupThemeToggle() {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) return;
    function next() {
      return THEMES[(THEMES.indexOf(savedTheme()) + 1) % THEMES.length];
    }
    function label() {
      var text = "Theme: " + THEME_NAMES[savedTheme()] + ". Switch to " + THEME_NAMES[next()];
      button.setAttribute("aria-label", text);
      button.setAttribute("title", text);
      button.setAttribute("data-current", savedTheme());
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var theme = next();
      if (theme === "system") document.documentElement.removeAttribute("data-theme");
      else document.documentElement.setAttribute("data-theme", theme);
      try {
        if (theme === "system") localStorage.removeItem("theme");
        else localStorage.setItem("theme", theme);
      } catch (e) {
        /* the choice lasts for this page only */
      }
      label();
    });
  }

  // "On this page": folded on narrow screens (the page itself comes first there); on wide
  // screens the entry of the section being read is marked as the reader scrolls.
  function setupTableOfContents() {
    var toc = document.querySelector("details.toc");
    if (!toc) return;
    if (window.matchMedia("(max-width: 63.99rem)").matches) toc.open = false;
    var links = {};
    toc.querySelectorAll('a[href^="#"]').forEach(function (link) {
      links[decodeURIComponent(link.getAttribute("href").slice(1))] = link;
    });
    var headings = Array.prototype.filter.call(
      document.querySelectorAll(".prose h2[id], .prose h3[id]"),
      function (heading) { return links[heading.id]; }
    );
    if (!headings.length) return;
    var queued = false;
    function mark() {
      queued = false;
      var current = null;
      for (var i = 0; i < headings.length; i++) {
        if (headings[i].getBoundingClientRect().top < window.innerHeight * 0.35) current = headings[i];
      }
      current = current || headings[0];
      Object.keys(links).forEach(function (id) {
        if (id === current.id) links[id].setAttribute("aria-current", "location");
        else links[id].removeAttribute("aria-current");
      });
    }
    window.addEventListener("scroll", function () {
      if (!queued) {
        queued = true;
        window.requestAnimationFrame(mark);
      }
    }, { passive: true });
    mark();
  }

  // A range slider shows its value in the <output for="…"> beside it.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type !== "range" || !input.id) return;
    var output = document.querySelector('output[for="' + input.id + '"]');
    if (output) output.value = input.value;
  });

  // An estimator's fields show the inputs its result was computed from (the result carries them
  // in data-inputs). htmx puts an earlier page back on Back and Forward from a copy of its HTML,
  // where fields hold the values the page was first served with, not the ones typed since; a
  // page the browser restores may likewise keep text typed after the last estimate.
  function showEstimateInputs() {
    document.querySelectorAll(".estimator").forEach(function (estimator) {
      var shown = estimator.querySelector("[data-inputs]");
      var form = estimator.querySelector("form");
      if (!shown || !form) return;
      new URLSearchParams(shown.getAttribute("data-inputs")).forEach(function (value, name) {
        var field = form.elements.namedItem(name);
        // Set without an input event: the estimate shown is already this one.
        if (field && field.value !== value) field.value = value;
      });
    });
  }
  document.addEventListener("htmx:historyRestore", showEstimateInputs);
  window.addEventListener("pageshow", showEstimateInputs);

  // Header search: a combobox over the HTMX suggestions. Arrows move, Enter opens,
  // Escape closes, "/" focuses the box from anywhere that is not a text field.
  function setupSearch() {
    var input = document.getElementById("header-q");
    var box = document.getElementById("search-suggestions");
    if (!input || !box) return;
    var active = -1;

    function options() {
      return Array.prototype.slice.call(box.querySelectorAll('[role="option"][data-href]'));
    }
    function open(isOpen) {
      input.setAttribute("aria-expanded", isOpen ? "true" : "false");
      box.hidden = !isOpen;
      if (!isOpen) {
        active = -1;
        input.removeAttribute("aria-activedescendant");
      }
    }
    function highlight(index) {
      var items = options();
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    box.addEventListener("htmx:afterSwap", function () {
      open(box.querySelector('[role="listbox"]') !== null);
      active = -1;
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target === box) open(box.querySelector('[role="listbox"]') !== null);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = options()[active].getAttribute("data-href");
      } else if (event.key === "Escape" && !box.hidden) {
        // The first Escape closes the list and keeps the text (a search field would clear it).
        event.preventDefault();
        open(false);
      }
    });
    // Options are not links (a link inside an option is a nested control); a click opens one.
    box.addEventListener("mousedown", function (event) {
      var option = event.target.closest('[role="option"][data-href]');
      if (option) {
        event.preventDefault();
        window.location.href = option.getAttribute("data-href");
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () { open(false); }, 150);
    });
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.focus();
        input.select();
      }
    });
    open(false);
  }

  // A <details data-remember="name"> stays as the reader left it (the wizard's guidance).
  function setupRememberedDetails() {
    document.querySelectorAll("details[data-remember]").forEach(function (details) {
      var key = "details-closed:" + details.getAttribute("data-remember");
      try {
        if (localStorage.getItem(key) === "1") details.open = false;
      } catch (e) {
        return;
      }
      details.addEventListener("toggle", function () {
        try {
          if (details.open) localStorage.removeItem(key);
          else localStorage.setItem(key, "1");
        } catch (e) {
          /* not remembered; nothing else changes */
        }
      });
    });
  }

  // A field's aria-invalid follows its error box (a .field-error its aria-describedby names),
  // which HTMX replaces after each save or preview: set when a message comes, gone once fixed.
  function followErrors(event) {
    var root = event.target;
    if (!root.querySelectorAll) return;
    var boxes = root.matches(".field-error") ? [root] : root.querySelectorAll(".field-error");
    Array.prototype.forEach.call(boxes, function (box) {
      if (!box.id) return;
      var invalid = box.textContent.trim() !== "";
      document.querySelectorAll('[aria-describedby~="' + CSS.escape(box.id) + '"]').forEach(function (field) {
        if (invalid) field.setAttribute("aria-invalid", "true");
        else field.removeAttribute("aria-invalid");
      });
    });
  }
  document.addEventListener("htmx:oobAfterSwap", followErrors);
  document.addEventListener("htmx:afterSwap", followErrors);

  // A form marked data-warn-unsaved (a comment, a rename, a share) holds typing that only its
  // submit saves: leaving the page with it changed asks first. Autosaved fields (autosave.js
  // guards those) do not count; a form being sent does not, until it fails or is typed in.
  function changed(form) {
    return Array.prototype.some.call(form.elements, function (field) {
      if (field.closest("[data-autosave]")) return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (option, i) {
          var initial = option.defaultSelected || (i === 0 && !field.multiple && !field.querySelector("option[selected]"));
          return option.selected !== initial;
        });
      }
      if (field.tagName !== "TEXTAREA" && field.tagName !== "INPUT") return false;
      if (/^(hidden|submit|button|reset|image|file|password)$/.test(field.type)) return false;
      return field.value !== field.defaultValue;
    });
  }

  function setupUnsavedWarning() {
    var sending = new WeakSet();
    function form(event) {
      return event.target.closest && event.target.closest("form[data-warn-unsaved]");
    }
    document.addEventListener("submit", function (event) {
      var sent = form(event);
      if (sent) sending.add(sent); // htmx prevents the default and sends it itself
    });
    document.addEventListener("input", function (event) {
      var typed = form(event);
      if (typed) sending.delete(typed);
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var sent = form(event);
      if (sent && !event.detail.successful) sending.delete(sent);
    });
    window.addEventListener("beforeunload", function (event) {
      var unsent = Array.prototype.some.call(document.querySelectorAll("form[data-warn-unsaved]"), function (each) {
        return !sending.has(each) && changed(each);
      });
      if (!unsent) return;
      event.preventDefault();
      event.returnValue = "";
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) sending = new WeakSet(); // back from the cache: nothing is on its way
    });
  }

  // A paragraph, list item or definition that scrolls sideways (a long formula on a phone:
  // MathML does not wrap) takes the keyboard's focus while it scrolls, so arrow keys reach it.
  // Those that fit take none: a tab stop on every paragraph would be noise.
  function focusScrollingText(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll(".prose p, .prose li, .prose dd").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }

  function setupScrollingText() {
    focusScrollingText(document);
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        focusScrollingText(document);
      }, 150);
    });
    document.addEventListener("htmx:afterSettle", function (event) {
      focusScrollingText(event.target);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupScrollingText();
    setupRememberedDetails();
    setupUnsavedWarning();
    setupThemeToggle();
    setupTableOfContents();
    setupSearch();
  });
})();
