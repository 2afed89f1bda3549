// Practice: the mock interview's clock on a step page, and the flashcard keys.
// Both pages work without this file: the clock then shows the time as the page was served, and
// the cards are revealed and graded by links and buttons.
(function () {
  "use strict";

  var HEARTBEAT_MS = 15000;

  function clockText(seconds) {
    var whole = Math.round(seconds);
    var sign = whole < 0 ? "\u2212" : "";
    whole = Math.abs(whole);
    var rest = whole % 60;
    return sign + Math.floor(whole / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function newTabId() {
    var raw = window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    return raw.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 40) || "tab";
  }

  // The server records how long each step page is open from these events: "start" when the
  // page opens or is shown again, "beat" every 15 s while it is visible, "leave" when it is
  // hidden or closed (sent with sendBeacon, which survives the page going away). Its answer
  // resets the countdowns, so two tabs, a reload or a restart never drift from its count.
  function setupClock() {
    var root = document.querySelector("[data-interview-clock]");
    if (!root) return;
    var url = root.getAttribute("data-events-url");
    var step = root.getAttribute("data-step");
    var tab = newTabId();
    var stepLeft = Number(root.getAttribute("data-step-left"));
    var left = Number(root.getAttribute("data-left"));
    var paused = root.hasAttribute("data-paused");
    var stepShown = root.querySelector('[data-clock="step"]');
    var allShown = root.querySelector('[data-clock="interview"]');
    var status = root.querySelector("[data-clock-status]");
    var pauseForm = root.querySelector("[data-clock-pause]");
    var resumeForm = root.querySelector("[data-clock-resume]");
    var token = root.querySelector('input[name="csrfmiddlewaretoken"]');
    var last = Date.now();

    function visible() {
      return document.visibilityState === "visible";
    }

    function render() {
      stepShown.textContent = clockText(stepLeft);
      allShown.textContent = clockText(left);
      root.classList.toggle("over-step", stepLeft <= 0);
      root.classList.toggle("times-up", left <= 0);
      if (pauseForm && resumeForm && pauseForm.hidden !== paused) {
        pauseForm.hidden = paused;
        resumeForm.hidden = !paused;
      }
      var message = "";
      if (paused) message = "Paused: the clock stands still.";
      else if (left <= 0) message = "Time's up. Keep writing if you like; then finish and review.";
      else if (stepLeft <= 0) message = "Over this step's budget: consider moving on.";
      // A live region speaks when its text changes: only change it when the message does.
      if (status.textContent.trim() !== message) status.textContent = message;
    }

    function tick() {
      var now = Date.now();
      var seconds = (now - last) / 1000;
      last = now;
      if (!paused) {
        left -= seconds;
        if (visible()) stepLeft -= seconds;
      }
      render();
    }

    function form(event) {
      var data = new FormData();
      data.append("event", event);
      data.append("step", step);
      data.append("tab", tab);
      data.append("csrfmiddlewaretoken", token ? token.value : "");
      return data;
    }

    function send(event) {
      fetch(url, { method: "POST", body: form(event), credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (clock) {
          if (!clock) return;
          stepLeft = clock.step_left;
          left = clock.left;
          paused = clock.paused;
          last = Date.now();
          render();
        })
        .catch(function () { /* the next heartbeat tries again */ });
    }

    function leave() {
      if (navigator.sendBeacon) navigator.sendBeacon(url, form("leave"));
      else send("leave");
    }

    if (visible()) send("start");
    // Paused too: the server counts nothing then, but its answer is how this page learns that
    // another window resumed (or paused) the interview.
    setInterval(function () { if (visible()) send("beat"); }, HEARTBEAT_MS);
    setInterval(tick, 1000);
    document.addEventListener("visibilitychange", function () {
      if (visible()) send("start");
      else leave();
    });
    window.addEventListener("pagehide", leave);
    render();
  }

  // Flashcards: Space shows the answer and then grades it Good (as in Anki), 1-4 grade it,
  // U undoes the last grade; flipping through a deck without an account, the arrow keys move
  // between cards.
  function setupReview() {
    if (!document.querySelector("[data-review]")) return;
    var GOOD = '[data-grade="3"]';

    function current() {
      return document.querySelector("[data-review]");
    }

    function reveal(review) {
      var answer = review.querySelector("[data-answer]");
      if (!answer || !answer.hidden) return false;
      answer.hidden = false;
      var link = review.querySelector("[data-reveal]");
      if (link) link.parentNode.hidden = true;
      // The focus goes to the default answer, so Enter means Good too, never Again.
      var first = answer.querySelector(GOOD) || answer.querySelector("[data-next]");
      if (first) first.focus();
      return true;
    }

    function press(review, selector) {
      if (review.querySelector(".htmx-request")) return false; // a grade is on its way
      var target = review.querySelector(selector);
      if (!target) return false;
      target.click();
      return true;
    }

    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-reveal]");
      if (link && reveal(current())) event.preventDefault();
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
      var target = event.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      var review = current();
      if (!review) return;
      var answer = review.querySelector("[data-answer]");
      var shown = answer && !answer.hidden;
      var handled = false;
      if (event.key === " " && answer && !shown) handled = reveal(review);
      else if (event.key === " " && shown) handled = press(review, GOOD);
      else if (/^[1-4]$/.test(event.key) && shown) handled = press(review, '[data-grade="' + event.key + '"]');
      else if (event.key === "u" || event.key === "U") handled = press(review, "[data-undo]");
      else if (event.key === "ArrowRight") handled = press(review, "[data-next]");
      else if (event.key === "ArrowLeft") handled = press(review, "[data-previous]");
      if (handled) event.preventDefault();
    });

    // A new card arrived (HTMX swapped it in): put the keyboard on it.
    document.body.addEventListener("htmx:afterSwap", function () {
      var review = current();
      var focus = review && review.querySelector("[data-reveal]");
      if (focus) focus.focus();
    });
  }

  function setup() {
    setupClock();
    setupReview();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
