// Autosave for the design-doc wizard: nothing typed is lost, however the writer leaves.
//
// Each field marked data-autosave saves 800 ms after the last keystroke, at once when it loses
// focus, and when the page is hidden or closed (a keepalive request, which outlives the page).
// A save that fails is retried by itself with backoff, always on the same base version, so a
// retry can never overwrite someone else's newer text. Until the server acknowledges a text it
// is also kept in localStorage; the next visit offers it back, never applying it silently.
// Without this script the step form still saves everything with a plain POST.
(function () {
  "use strict";

  var DELAY = 800;
  var MAX_BACKOFF = 30000;
  var KEEPALIVE_LIMIT = 60000; // browsers cap keepalive bodies at 64 KiB in all
  var PREFIX = "mlsd-draft:";
  var tab = newTabId();
  var seq = 0;
  var fields = [];
  var submitting = false;

  function newTabId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2, 12);
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function clock(date) {
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  }

  // --- Drafts kept in this browser until the server has the text ---------------------------

  var storage = (function () {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage off: the other safeguards still hold
    }
  })();

  function draftPrefix(field) {
    return PREFIX + field.doc + ":" + field.key + ":";
  }

  function draftKeys(field) {
    var keys = [];
    if (!storage) return keys;
    var prefix = draftPrefix(field);
    for (var i = 0; i < storage.length; i++) {
      var name = storage.key(i);
      if (name && name.indexOf(prefix) === 0) keys.push(name);
    }
    return keys;
  }

  function storeDraft(field) {
    if (!storage) return;
    var base = field.base();
    var record = { value: field.value(), base: base, tab: tab, seq: seq, at: Date.now() };
    try {
      draftKeys(field).forEach(function (name) {
        if (name !== draftPrefix(field) + base) storage.removeItem(name);
      });
      storage.setItem(draftPrefix(field) + base, JSON.stringify(record));
    } catch (e) {
      /* storage full: the server copy and the leave-page warning still protect the text */
    }
  }

  function dropDrafts(field) {
    draftKeys(field).forEach(function (name) { storage.removeItem(name); });
  }

  function latestDraft(field) {
    var best = null;
    draftKeys(field).forEach(function (name) {
      try {
        var record = JSON.parse(storage.getItem(name));
        if (record && typeof record.value === "string" && (!best || record.at > best.at)) best = record;
      } catch (e) {
        storage.removeItem(name);
      }
    });
    return best;
  }

  // --- One field ------------------------------------------------------------------------------

  function Field(el) {
    this.el = el;
    this.url = el.getAttribute("data-autosave");
    this.key = el.getAttribute("data-key");
    this.doc = el.getAttribute("data-doc");
    this.max = parseInt(el.getAttribute("data-max"), 10) || 0;
    this.noun = el.getAttribute("data-noun") || "answer"; // what the writer calls the text
    this.acked = this.value();
    this.state = "idle"; // idle | waiting | sending | retrying | conflict | refused
    this.timer = null;
    this.inflight = false;
    this.again = false;
    this.attempt = 0;
    this.keep = null;
    this.refused = null; // the text the last conflict refused (and the server kept)
    this.closingSent = null;
  }

  Field.prototype.value = function () {
    if (this.el.tagName === "FIELDSET") {
      return Array.prototype.map.call(
        this.el.querySelectorAll('input[type="checkbox"]:checked'),
        function (box) { return box.value; }
      ).join(",");
    }
    return this.el.value;
  };

  Field.prototype.setValue = function (value) {
    if (this.el.tagName === "FIELDSET") {
      var chosen = value.split(",");
      this.el.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
        box.checked = chosen.indexOf(box.value) !== -1;
      });
    } else {
      this.el.value = value;
    }
  };

  Field.prototype.versionInput = function () {
    return document.getElementById("version-" + this.key);
  };

  Field.prototype.base = function () {
    var input = this.versionInput();
    return input ? input.value : "0";
  };

  Field.prototype.status = function () {
    return document.getElementById("status-" + this.key);
  };

  Field.prototype.unacknowledged = function () {
    return this.inflight || this.value() !== this.acked;
  };

  Field.prototype.say = function (text, className) {
    var status = this.status();
    if (!status) return;
    var fresh = document.createElement("p");
    fresh.id = status.id;
    fresh.className = "save-status " + (className || "");
    fresh.setAttribute(className === "failed" ? "role" : "aria-live", className === "failed" ? "alert" : "polite");
    fresh.textContent = text;
    status.replaceWith(fresh);
    return fresh;
  };

  Field.prototype.changed = function (immediately) {
    if (this.state === "conflict") {
      storeDraft(this);
      return; // the writer chooses first; the text is kept meanwhile
    }
    storeDraft(this);
    window.clearTimeout(this.timer);
    if (immediately) {
      this.save();
    } else {
      this.state = this.state === "retrying" ? "retrying" : "waiting";
      this.timer = window.setTimeout(this.save.bind(this), DELAY);
    }
  };

  Field.prototype.save = function (options) {
    options = options || {};
    window.clearTimeout(this.timer);
    if (this.state === "conflict" && this.keep === null && !options.force) return;
    var value = this.value();
    if (value === this.acked && this.keep === null && !this.inflight) {
      this.state = "idle";
      return;
    }
    if (this.max && value.length > this.max) {
      this.state = "refused";
      this.say(
        "Not saved: this " + this.noun + " is " + value.length.toLocaleString("en") + " characters and the limit is " +
          this.max.toLocaleString("en") + ". Your text stays in the field and in this browser; shorten it and it saves again.",
        "failed"
      );
      return;
    }
    if (this.inflight && !options.closing) {
      this.again = true;
      return;
    }
    this.send(value, options.closing);
  };

  // One save request of ``value`` on the field's base version, as this tab.
  Field.prototype.post = function (value, url) {
    var self = this;
    var body = new URLSearchParams();
    if (this.el.tagName === "FIELDSET") {
      value.split(",").forEach(function (slug) { if (slug) body.append(self.key, slug); });
    } else {
      body.append(this.key, value);
    }
    body.append("version_" + this.key, this.base());
    body.append("tab", tab);
    seq += 1;
    body.append("seq", String(seq));
    body.append("csrfmiddlewaretoken", csrfToken());
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: body.toString().length < KEEPALIVE_LIMIT,
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
    });
  };

  Field.prototype.send = function (value, closing) {
    var self = this;
    var url = this.url;
    if (this.keep !== null) url += "?keep=" + encodeURIComponent(this.keep);
    this.inflight = true;
    if (!closing) this.say("Saving…", "saving");
    var request = this.post(value, url);
    // When the page is going these handlers never run; the draft in storage covers a failure.
    request.then(
      function (response) {
        return response.text().then(function (html) { self.answered(response, html, value); });
      },
      function () { self.failed(null); }
    );
  };

  Field.prototype.answered = function (response, html, sent) {
    this.inflight = false;
    var status = response.status;
    if (response.redirected || status === 401 || status === 403) {
      this.failed(null, "Not saved yet: you seem to be signed out. Sign in again in another tab; retrying");
      return;
    }
    if (status === 200 || status === 409 || status === 413) {
      window.htmx.swap(this.status(), html, { swapStyle: "outerHTML" });
    }
    if (status === 200) {
      this.attempt = 0;
      this.keep = null;
      this.acked = sent;
      this.state = "idle";
      var trigger = response.headers.get("HX-Trigger");
      if (trigger) window.htmx.trigger(document.body, trigger);
      this.again = false;
      if (this.value() === sent) {
        dropDrafts(this);
      } else {
        storeDraft(this); // keyed by the new base version
        this.save();
      }
      document.dispatchEvent(new CustomEvent("autosave:saved", { detail: { key: this.key } }));
    } else if (status === 409) {
      this.state = "conflict";
      this.refused = sent; // the server keeps it in the history
      this.keep = null;
      this.again = false;
    } else if (status === 413 || status === 400) {
      this.state = "refused";
      if (status === 400) this.say("Not saved: the server refused this text. It stays in the field and in this browser.", "failed");
    } else {
      var wait = parseInt(response.headers.get("Retry-After"), 10);
      this.failed(isNaN(wait) ? null : wait * 1000, refusal(response, html));
    }
  };

  // The server's reason for a refusal it sends as JSON (a doc moved to the trash in another
  // tab): said beside the text, which is kept and sent again once the reason is gone.
  function refusal(response, body) {
    if ((response.headers.get("Content-Type") || "").indexOf("application/json") !== 0) return null;
    try {
      var error = JSON.parse(body).error;
      return error ? "Not saved: " + error + " Your text stays here and in this browser; retrying" : null;
    } catch (e) {
      return null;
    }
  }

  Field.prototype.failed = function (waitMs, message) {
    var self = this;
    this.inflight = false;
    this.state = "retrying";
    this.attempt += 1;
    var backoff = Math.min(MAX_BACKOFF, 1000 * Math.pow(2, this.attempt - 1));
    var wait = Math.max(waitMs || 0, backoff) + Math.floor(Math.random() * 250);
    var status = this.say((message || "Not saved yet — retrying") + " in " + Math.ceil(wait / 1000) + " s. ", "failed");
    if (status) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.textContent = "Retry now";
      button.addEventListener("click", function () { self.save({ force: true }); });
      status.appendChild(button);
    }
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.save({ force: true }); }, wait);
  };

  // A draft left by an earlier visit whose text never reached the server: offer it back.
  Field.prototype.offerDraft = function () {
    var self = this;
    var draft = latestDraft(this);
    if (!draft) return;
    if (draft.value === this.value()) {
      dropDrafts(this);
      return;
    }
    var notice = document.createElement("div");
    notice.className = "draft-notice";
    notice.setAttribute("role", "status");
    var when = new Date(draft.at);
    var text = document.createElement("p");
    text.textContent =
      "This browser kept text you typed here at " + clock(when) + " on " + when.toLocaleDateString("en-GB") +
      " that did not reach the server." +
      (String(draft.base) !== this.base() ? " The saved " + this.noun + " has changed since." : "");
    var preview = document.createElement("pre");
    preview.textContent = draft.value.length > 600 ? draft.value.slice(0, 600) + "…" : draft.value;
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button button-small";
    restore.textContent = "Put my text back";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button button-small secondary";
    discard.textContent = "Discard it";
    notice.append(text, preview, restore, discard);
    this.el.closest(".prompt").insertBefore(notice, this.status());
    restore.addEventListener("click", function () {
      self.setValue(draft.value);
      notice.remove();
      // Sent on the base it was typed on, as the tab that typed it: if someone else has saved
      // since, the conflict view shows both texts instead of overwriting theirs.
      var input = self.versionInput();
      if (input) input.value = String(draft.base);
      self.sendAs(draft);
    });
    discard.addEventListener("click", function () {
      dropDrafts(self);
      notice.remove();
    });
  };

  Field.prototype.sendAs = function (draft) {
    var saved = tab;
    var savedSeq = seq;
    tab = draft.tab || tab;
    seq = Math.max(seq, (draft.seq || 0) + 1);
    this.send(draft.value, false);
    tab = saved;
    seq = savedSeq;
  };

  // "Use the saved text instead": the field takes the other tab's text, and nothing this tab
  // typed is lost. The server kept the text that met the conflict; text typed since is sent
  // once more on the old base, a save the server refuses and keeps in the history as this
  // tab's unsaved text. Until it has, the draft stays in this browser; the text also stays
  // on the page, to copy from.
  Field.prototype.useSaved = function (saved, version) {
    var mine = this.value();
    var oldDraft = draftPrefix(this) + this.base();
    if (mine !== saved && mine !== this.refused) {
      storeDraft(this);
      this.post(mine, this.url).then(function (response) {
        if (response.status === 409 && storage) storage.removeItem(oldDraft);
      }, function () { /* the draft is offered back on the next visit */ });
    } else {
      dropDrafts(this);
    }
    this.setValue(saved);
    var input = this.versionInput();
    if (input) input.value = version;
    this.acked = this.value();
    this.state = "idle";
    this.refused = null;
    if (mine === saved) {
      this.say("Showing the saved text.", "saved");
      return;
    }
    var status = this.say("Showing the saved text; yours is in the document's history, and below.", "saved");
    if (!status) return;
    // Beside the status, not in it: the next save's status leaves it on the page.
    var yours = document.getElementById("yours-" + this.key) || document.createElement("details");
    yours.id = "yours-" + this.key;
    yours.className = "conflict-yours";
    var summary = document.createElement("summary");
    summary.textContent = "Your text, as you left it";
    var text = document.createElement("pre");
    text.tabIndex = 0; // it may scroll: reachable by keyboard
    text.textContent = mine;
    yours.replaceChildren(summary, text);
    status.after(yours);
  };

  // --- The page -------------------------------------------------------------------------------

  function fieldFor(el) {
    var root = el.closest("[data-autosave]");
    if (!root) return null;
    for (var i = 0; i < fields.length; i++) if (fields[i].el === root) return fields[i];
    return null;
  }

  function flushAll() {
    if (submitting) return;
    fields.forEach(function (field) {
      if (field.state === "conflict" || field.state === "refused") return;
      var value = field.value();
      if (value !== field.acked && value !== field.closingSent) {
        storeDraft(field);
        field.closingSent = value;
        field.save({ closing: true });
      }
    });
  }

  // Leaving the step, by any means: one request carries every text not yet acknowledged and
  // asks the server to keep a snapshot of the doc as the writer left it. It is the last save
  // of this tab (highest sequence number), so a slower earlier save can never undo it.
  function leave() {
    if (submitting) return;
    var form = document.querySelector(".wizard-form");
    if (!form) return;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken());
    data.append("tab", tab);
    seq += 1;
    data.append("seq", String(seq));
    data.append("go", "left");
    fields.forEach(function (field) {
      if (field.state === "conflict" || field.state === "refused") return;
      var value = field.value();
      if (value === field.acked) return;
      storeDraft(field);
      if (field.el.tagName === "FIELDSET") {
        value.split(",").forEach(function (slug) { if (slug) data.append(field.key, slug); });
      } else {
        data.append(field.key, value);
      }
      data.append("version_" + field.key, field.base());
    });
    var sent = false;
    try {
      sent = navigator.sendBeacon(form.action, data);
    } catch (e) {
      sent = false;
    }
    if (!sent) flushAll(); // too large for a beacon: separate saves (the drafts cover the rest)
  }

  function setup() {
    document.querySelectorAll("[data-autosave]").forEach(function (el) {
      var field = new Field(el);
      fields.push(field);
      field.offerDraft();
    });
    if (!fields.length) return;

    document.addEventListener("input", function (event) {
      var field = fieldFor(event.target);
      if (field && field.el.tagName !== "FIELDSET" && field.el.tagName !== "SELECT") field.changed(false);
    });
    document.addEventListener("change", function (event) {
      var field = fieldFor(event.target);
      if (field) field.changed(field.el.tagName === "FIELDSET" || field.el.tagName === "SELECT");
    });
    document.addEventListener("focusout", function (event) {
      var field = fieldFor(event.target);
      if (field && field.value() !== field.acked && field.state !== "conflict") field.save();
    });
    document.addEventListener("click", function (event) {
      var keep = event.target.closest("[data-keep-version]");
      var useSaved = event.target.closest("[data-use-saved]");
      var field = fieldFor(event.target) || (keep || useSaved) && fieldByKey(event.target);
      if (!field) return;
      if (keep) {
        event.preventDefault();
        field.keep = keep.getAttribute("data-keep-version");
        field.state = "idle";
        field.save({ force: true });
      } else if (useSaved) {
        event.preventDefault();
        field.useSaved(useSaved.getAttribute("data-saved-text"), useSaved.getAttribute("data-saved-version"));
      }
    });

    var form = document.querySelector(".wizard-form");
    if (form) {
      form.addEventListener("submit", function () {
        // The form carries every text itself; tell the server which tab sent it.
        submitting = true;
        fields.forEach(function (field) { window.clearTimeout(field.timer); });
        seq += 1;
        [["tab", tab], ["seq", String(seq)]].forEach(function (pair) {
          var input = form.querySelector('input[name="' + pair[0] + '"]') || document.createElement("input");
          input.type = "hidden";
          input.name = pair[0];
          input.value = pair[1];
          form.appendChild(input);
        });
      });
    }

    window.addEventListener("pagehide", leave);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") flushAll();
    });
    window.addEventListener("beforeunload", function (event) {
      if (submitting) return;
      var pending = fields.some(function (field) { return field.unacknowledged(); });
      if (!pending) return;
      flushAll();
      event.preventDefault();
      event.returnValue = "";
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) submitting = false; // back from the cache after a submit
    });
  }

  function fieldByKey(el) {
    var box = el.closest(".prompt");
    if (!box) return null;
    var root = box.querySelector("[data-autosave]");
    return root ? fieldFor(root) : null;
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
