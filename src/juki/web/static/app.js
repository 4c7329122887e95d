/* juki clerk UI: the visible idle lock, CSRF for htmx, kana conversion, keyboard helpers.
   Loaded from /static (the CSP allows no inline script). Nothing here is needed for the rules to hold:
   the server locks an idle session and checks every POST's CSRF token itself. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx sends the session's CSRF token as a header on every request it makes.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // After inline validation, mark the inputs whose error slot holds a message (and clear the others).
  // Done in the same task as the swap, so the message and the mark appear together; and again after
  // settle, because settling may copy the server-rendered attributes back onto a swapped input.
  function markInvalidInputs() {
    document.querySelectorAll(".field-error[id^='err-']").forEach(function (slot) {
      var input = document.getElementById(slot.id.slice(4));
      if (!input) return;
      if (slot.textContent.trim()) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }
  document.addEventListener("htmx:oobAfterSwap", markInvalidInputs);
  document.addEventListener("htmx:afterSwap", markInvalidInputs);
  document.addEventListener("htmx:afterSettle", markInvalidInputs);

  // --- idle lock: the server locks after the idle period; the page shows it as soon as it happens ------------
  function startIdleTimer() {
    var body = document.body;
    var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
    var lockUrl = body.getAttribute("data-lock-url");
    if (!seconds || !lockUrl) return;
    var lastActivity = Date.now();
    var lastContact = Date.now();
    var warning = document.getElementById("idle-warning");
    var keepaliveEvery = Math.max(15, Math.min(60, Math.floor(seconds / 3))) * 1000;

    function lockNow() {
      var here = window.location.pathname + window.location.search;
      window.location.assign(lockUrl + "?next=" + encodeURIComponent(here));
    }

    // Several tabs share one session: activity in any of them keeps the others from locking it.
    var SHARED = "juki:lastActivity";
    function sharedActivity() {
      try { return parseInt(window.localStorage.getItem(SHARED) || "0", 10) || 0; } catch (e) { return 0; }
    }

    function activity() {
      lastActivity = Date.now();
      try { window.localStorage.setItem(SHARED, String(lastActivity)); } catch (e) { /* storage off: this tab only */ }
      if (warning && warning.textContent) warning.textContent = "";
      // Typing a long form makes no request: tell the server the clerk is still here.
      if (Date.now() - lastContact > keepaliveEvery) {
        lastContact = Date.now();
        fetch("/ui/keepalive", {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRF-Token": csrfToken(), "HX-Request": "true" }
        }).then(function (res) {
          if (res.headers.get("HX-Redirect")) window.location.assign(res.headers.get("HX-Redirect"));
        }).catch(function () {});
      }
    }
    ["keydown", "mousedown", "touchstart", "input", "wheel"].forEach(function (name) {
      document.addEventListener(name, activity, { passive: true, capture: true });
    });
    document.addEventListener("htmx:afterRequest", function () { lastContact = Date.now(); });

    window.setInterval(function () {
      var idle = (Date.now() - Math.max(lastActivity, sharedActivity())) / 1000;
      var left = Math.ceil(seconds - idle);
      if (left <= 0) { lockNow(); return; }
      if (warning) warning.textContent = left <= 30 ? "あと" + left + "秒で画面をロックします" : "";
    }, 1000);
  }

  // --- kana: hiragana and half-width katakana become full-width katakana as the field is left ----------------
  function toKatakana(text) {
    var s = text.normalize("NFKC");
    return s.replace(/[\u3041-\u3096\u309d\u309e]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) + 0x60);
    });
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-kana") && typeof el.value === "string") {
      var converted = toKatakana(el.value);
      if (converted !== el.value) el.value = converted;
    }
  }, true);

  // --- a select that applies at once (the 事務 switch) --------------------------------------------------------
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });

  // --- show the parts of a form that the chosen option needs (radio buttons with data-shows) --------------------
  function syncToggles(root) {
    root.querySelectorAll("[data-section]").forEach(function (section) {
      var name = section.getAttribute("data-when-name");
      var wanted = section.getAttribute("data-when-value").split(" ");
      var chosen = root.querySelector('[name="' + name + '"]:checked') || root.querySelector('select[name="' + name + '"]');
      var value = chosen ? chosen.value : "";
      section.hidden = wanted.indexOf(value) < 0;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.form) syncToggles(event.target.form);
  });

  // Alt + a letter: the element with that access key (the browser's own handling differs by platform).
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || !event.key || event.key.length !== 1) return;
    var target = document.querySelector('[accesskey="' + event.key.toLowerCase() + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "A" || target.tagName === "BUTTON") target.click(); else target.focus();
  });

  // Escape on a confirmation page goes back to the form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var back = document.querySelector("[data-escape]");
    if (back) { event.preventDefault(); back.click(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    startIdleTimer();
    document.querySelectorAll("form").forEach(syncToggles);
  });
})();
