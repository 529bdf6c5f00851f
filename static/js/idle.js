/*
 * Idle sign-out that never loses an edit (markup: templates/auth/_idle.html; server:
 * app/auth/session.py). No inline handlers (strict CSP).
 *   - every answer to a signed-in request carries X-Session-Seconds-Left; a countdown warns
 *     before the end and "Stay signed in" POSTs /session/keep-alive
 *   - typing in a form (a POST form with unsent changes) keeps the session, at most once
 *     per data-keepalive-seconds (a minute)
 *   - a request answered 401 with X-Sign-In-Required (the session ended) opens the sign-in
 *     dialog in place; after signing in as the same operator it is sent again, with what
 *     was typed. Secrets typed (X-Sign-In-Retype) are blanked and asked for again instead.
 */
(function () {
  "use strict";

  var SECONDS_LEFT = "X-Session-Seconds-Left";
  var SIGN_IN = "X-Sign-In-Required";
  var RETYPE = "X-Sign-In-Retype";
  var DIALOG = "X-Sign-In-Dialog";
  var BACKGROUND = "X-Background-Refresh";

  var bar = document.getElementById("idle-warning");
  var dialog = document.getElementById("signin-dialog");
  if (!bar || !dialog) return; // signed out: nothing to count down

  var warnSeconds = parseInt(bar.getAttribute("data-warn-seconds"), 10) || 120;
  var keepaliveMs = (parseInt(bar.getAttribute("data-keepalive-seconds"), 10) || 60) * 1000;
  var clock = bar.querySelector("[data-idle-clock]");
  var slot = document.getElementById("signin-slot");
  var pristineForm = slot.innerHTML;

  var deadline = 0;      // when the session ends without activity (Date.now() ms)
  var checkedDeadline = -1; // the deadline the server last confirmed
  var checking = false;
  var lastCheck = 0;
  var lastActivity = Date.now();
  var ended = false;
  var reason = "";
  var pending = [];      // requests refused while signed out, sent again after sign-in
  var retyped = [];      // inputs blanked for this sign-in: typed again, not resent
  var dirty = [];        // POST forms typed into since they were last sent

  function setLeft(seconds) {
    deadline = Date.now() + seconds * 1000;
    if (seconds > 0 && ended) {
      ended = false;
      showCounting();
    }
    tick();
  }

  function leftFrom(headers) {
    var value = headers && headers.get ? headers.get(SECONDS_LEFT) : headers;
    var seconds = value === null || value === undefined ? NaN : parseInt(value, 10);
    if (!isNaN(seconds)) setLeft(seconds);
  }

  function secondsLeft() {
    return Math.ceil((deadline - Date.now()) / 1000);
  }

  function format(seconds) {
    seconds = Math.max(0, seconds);
    var s = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (s < 10 ? "0" : "") + s;
  }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function setCsrfToken(token) {
    if (!token) return;
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { /* none */ }
    headers["X-CSRFToken"] = token;
    document.body.setAttribute("hx-headers", JSON.stringify(headers));
    document.querySelectorAll("input[type=hidden]").forEach(function (input) {
      if (/(^|-)csrf_token$/.test(input.name)) input.value = token;
    });
  }

  function send(method, url, extra) {
    var headers = { "X-CSRFToken": csrfToken() };
    headers[DIALOG] = "1";
    Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
    return fetch(url, { method: method, headers: headers, credentials: "same-origin", cache: "no-store" });
  }

  // -- the warning -------------------------------------------------------------------
  function showCounting() {
    bar.querySelector("[data-idle-counting]").hidden = false;
    bar.querySelector("[data-idle-ended]").hidden = true;
    bar.querySelector("[data-idle-stay]").hidden = false;
    bar.querySelector("[data-idle-signin]").hidden = true;
    bar.classList.remove("idle-ended");
  }

  function showWarning() {
    if (!bar.hidden) return;
    bar.hidden = false;
    var active = document.activeElement;
    if (!active || active === document.body) bar.querySelector("[data-idle-stay]").focus();
  }

  function hideWarning() {
    bar.hidden = true;
  }

  function signedOut(message) {
    if (message && (!ended || !reason)) reason = message; // the first says why it ended
    if (ended) return;
    ended = true;
    bar.querySelector("[data-idle-counting]").hidden = true;
    bar.querySelector("[data-idle-ended]").hidden = false;
    bar.querySelector("[data-idle-stay]").hidden = true;
    bar.querySelector("[data-idle-signin]").hidden = false;
    bar.classList.add("idle-ended");
    bar.hidden = false;
  }

  // Asks the server (not counting as activity) before warning or ending: another tab may
  // have kept the session.
  function check() {
    if (checking || Date.now() - lastCheck < 3000) return;
    checking = true;
    lastCheck = Date.now();
    var extra = {};
    extra[BACKGROUND] = "1";
    send("GET", bar.getAttribute("data-status-url"), extra).then(function (response) {
      checking = false;
      if (response.status === 401 && response.headers.get(SIGN_IN)) {
        return response.text().then(signedOut);
      }
      checkedDeadline = -1;
      leftFrom(response.headers);
      checkedDeadline = deadline;
      tick();
    }, function () { checking = false; });
  }

  function tick() {
    if (ended || checking) return;
    var left = secondsLeft();
    if (left <= 0) {
      clock.textContent = format(0);
      check();
    } else if (left <= warnSeconds) {
      if (bar.hidden && checkedDeadline !== deadline) {
        check();
        return;
      }
      clock.textContent = format(left);
      showWarning();
    } else if (!bar.hidden) {
      hideWarning();
    }
  }

  function keepAlive() {
    lastActivity = Date.now();
    return send("POST", bar.getAttribute("data-keepalive-url")).then(function (response) {
      if (response.status === 401 && response.headers.get(SIGN_IN)) {
        return response.text().then(function (message) {
          signedOut(message);
          return false;
        });
      }
      leftFrom(response.headers);
      return response.ok;
    }, function () { return false; });
  }

  bar.querySelector("[data-idle-stay]").addEventListener("click", function () {
    keepAlive().then(function (ok) {
      if (ok) hideWarning();
      else if (ended) openDialog();
    });
  });
  bar.querySelector("[data-idle-signin]").addEventListener("click", function () { openDialog(); });

  // -- typing counts as activity while a form has unsent changes ------------------------
  function isDirtyForm(form) {
    return form && form.isConnected && dirty.indexOf(form) !== -1;
  }

  document.addEventListener("input", function (evt) {
    var form = evt.target.form || (evt.target.closest && evt.target.closest("form"));
    if (!form || form.method !== "post" || dialog.contains(form)) return;
    if (dirty.indexOf(form) === -1) dirty.push(form);
    dirty = dirty.filter(function (f) { return f.isConnected; });
    if (!ended && Date.now() - lastActivity >= keepaliveMs) keepAlive();
  });

  // -- every htmx answer says how long is left ---------------------------------------
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers[DIALOG] = "1";
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr) return;
    var seconds = xhr.getResponseHeader(SECONDS_LEFT);
    if (seconds !== null) leftFrom(seconds);
    var cfg = evt.detail.requestConfig || {};
    var background = cfg.headers && cfg.headers[BACKGROUND] === "1";
    if (!background && evt.detail.successful) lastActivity = Date.now();
    var elt = evt.detail.elt;
    if (evt.detail.successful && elt && elt.tagName === "FORM") {
      dirty = dirty.filter(function (f) { return f !== elt; });
    }
  });

  // A request refused because the session ended: keep the page, sign in in place.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr || xhr.status !== 401 || !xhr.getResponseHeader(SIGN_IN)) return;
    evt.detail.shouldSwap = false;
    evt.detail.isError = false; // no "request failed" toast: the dialog says what happened
    var cfg = evt.detail.requestConfig || {};
    var background = cfg.headers && cfg.headers[BACKGROUND] === "1";
    signedOut(xhr.responseText);
    if (background) return; // a timed refresh: the warning bar says so, nothing to resend
    var elt = cfg.elt || evt.detail.elt;
    blankSecrets(elt && elt.tagName === "FORM" ? elt : null, xhr.getResponseHeader(RETYPE));
    if (elt) {
      pending = pending.filter(function (p) { return p.elt !== elt; });
      pending.push({ elt: elt, verb: cfg.verb || "post", path: cfg.path });
    }
    openDialog();
  });

  // -- secrets are not kept across the sign-in ----------------------------------------
  function labelOf(input) {
    var label = input.id && document.querySelector('label[for="' + input.id + '"]');
    return label ? label.textContent.trim() : input.name;
  }

  function lower(text) {
    return text.toLowerCase().replace(/\btfa\b/g, "TFA");
  }

  function blankSecrets(form, header) {
    if (!form) return;
    var told = { names: [], labels: [] };
    try { told = JSON.parse(header || "null") || told; } catch (e) { /* none */ }
    var inputs = [];
    told.names.forEach(function (name) {
      var input = form.elements[name];
      if (input && input.value) inputs.push(input);
    });
    form.querySelectorAll("input[type=password]").forEach(function (input) {
      if (input.value && inputs.indexOf(input) === -1) inputs.push(input);
    });
    if (!inputs.length) return;
    var labels = told.labels.slice();
    inputs.forEach(function (input) {
      input.value = "";
      input.setAttribute("aria-invalid", "true");
      var text = labelOf(input);
      if (told.names.indexOf(input.name) === -1 && labels.indexOf(text) === -1) labels.push(text);
      var note = document.createElement("p");
      note.className = "field-error idle-retype";
      note.id = (input.id || input.name) + "-retype";
      note.textContent = "Enter the " + lower(text) + " again: it was not kept while you signed in.";
      var old = document.getElementById(note.id);
      if (old) old.remove();
      input.insertAdjacentElement("afterend", note);
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(note.id) === -1) described.push(note.id);
      input.setAttribute("aria-describedby", described.join(" "));
      input.addEventListener("input", function clear() {
        input.removeEventListener("input", clear);
        input.removeAttribute("aria-invalid");
        note.remove();
      });
      if (retyped.indexOf(input) === -1) retyped.push(input);
    });
    // the form's retype field: saving without these secrets is refused, not silently done
    var hidden = form.querySelector("input[type=hidden][name=retype]");
    if (!hidden) {
      hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "retype";
      form.appendChild(hidden);
    }
    var all = hidden.value ? hidden.value.split(",") : [];
    labels.forEach(function (l) { if (all.indexOf(l) === -1) all.push(l); });
    hidden.value = all.join(",");
  }

  // -- the sign-in dialog -------------------------------------------------------------
  function openDialog() {
    document.getElementById("signin-reason").textContent =
      (reason || "Your session has ended.") + " Sign in again to continue.";
    var note = document.getElementById("signin-retype");
    var names = retyped.filter(function (i) { return i.isConnected; }).map(function (i) {
      return lower(labelOf(i));
    });
    note.hidden = !names.length;
    note.textContent = names.length
      ? "Enter the " + names.join(", ") + " again after signing in: secrets typed are not kept while you sign in. The form shows where."
      : "";
    dialog.querySelector("[data-signin-resend]").hidden = !pending.length || names.length > 0;
    if (!dialog.open) {
      slot.innerHTML = pristineForm;
      setCsrfToken(csrfToken()); // the pristine copy may carry an older token
      dialog.showModal();
    }
    var first = dialog.querySelector(".signin-sso a") || slot.querySelector("input[type=password]");
    if (first) first.focus();
  }

  dialog.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-signin-cancel]")) dialog.close();
    if (!evt.target.closest("[data-signin-sso-done]")) return;
    // an SSO operator signed in at the provider in another tab: this browser has a session
    // again; send what was typed if it is the same operator
    var expected = dialog.getAttribute("data-expect");
    send("GET", bar.getAttribute("data-status-url"), { "X-Sign-In-Dialog": "1" }).then(function (response) {
      var who = response.headers.get("X-Signed-In-As");
      if (response.status === 204 && who === expected) return signedIn(response);
      showError(who
        ? "Signed in as " + who + ": this page holds unsaved work of " + expected + "."
        : "Not signed in yet: finish signing in in the other tab, then continue.");
    }, function () {
      showError("The console could not be reached. Check your connection and try again.");
    });
  });

  dialog.addEventListener("submit", function (evt) {
    var form = evt.target.closest("[data-signin-form]");
    if (!form) return;
    evt.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": csrfToken(), "X-Sign-In-Dialog": "1" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (response.status === 204) return signedIn(response);
      if (response.headers.get("X-Sign-In-Form")) {
        return response.text().then(function (html) {
          slot.innerHTML = html;
          var field = slot.querySelector("input[type=password]");
          if (field) field.focus();
        });
      }
      if (button) button.disabled = false;
      showError("Signing in failed (" + response.status + "). Try again.");
    }, function () {
      if (button) button.disabled = false;
      showError("The console could not be reached. Check your connection and try again.");
    });
  });

  function showError(message) {
    if (window.vaultConsoleToast) window.vaultConsoleToast(message, "error");
  }

  function signedIn(response) {
    setCsrfToken(response.headers.get("X-CSRF-Token"));
    slot.innerHTML = pristineForm; // no password left in the page
    ended = false;
    reason = "";
    showCounting();
    hideWarning();
    lastActivity = Date.now();
    leftFrom(response.headers);
    dialog.close();
    var toast = window.vaultConsoleToast || function () {};
    var retype = retyped.filter(function (i) { return i.isConnected; });
    var queue = pending;
    pending = [];
    retyped = [];
    if (retype.length) {
      // not resent: the form waits for the secrets, then the operator saves it
      retype[0].focus();
      toast("Signed in. Enter the " + retype.map(function (i) { return lower(labelOf(i)); }).join(", ") +
            " again, then save.", "info");
      return;
    }
    var resent = 0;
    queue.forEach(function (p) {
      if (!p.elt || !p.elt.isConnected || !window.htmx) return;
      window.htmx.ajax(p.verb.toUpperCase(), p.path, { source: p.elt });
      resent += 1;
    });
    if (queue.length && resent < queue.length) {
      toast("Signed in, but part of the page changed meanwhile: check it and send it again.", "error");
    } else {
      toast(resent ? "Signed in again. Sending what you typed…" : "Signed in again.", "info");
    }
  }

  // a page restored from the back/forward cache may show an old countdown
  window.addEventListener("pageshow", function (evt) { if (evt.persisted) check(); });

  leftFrom(bar.getAttribute("data-seconds-left"));
  setInterval(tick, 1000);
})();
