/*
 * Vault Console — the only script besides htmx. No inline handlers anywhere (strict CSP):
 * behaviour hangs off data-* attributes and htmx events.
 *   - toasts raised by the server through `HX-Trigger: {"toast": {...}}`
 *   - a generic toast when an htmx request fails without one
 *   - a styled confirmation dialog for `hx-confirm`
 *   - copy-to-clipboard buttons (`data-copy-target` / `data-copy-text`)
 *   - focus that follows htmx swaps (section editors, the entries list's sort and page links)
 *   - keyboard shortcuts: "/" search, "?" help dialog (templates/shared/_shortcuts.html)
 */
(function () {
  "use strict";

  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
    var ttl = level === "error" ? 8000 : 4000;
    setTimeout(function () {
      el.classList.add("leaving");
      setTimeout(function () { el.remove(); }, 400);
    }, ttl);
  }
  window.vaultConsoleToast = showToast;

  document.addEventListener("toast", function (evt) {
    var d = evt.detail || {};
    showToast(d.message, d.level);
  });

  function hasServerToast(xhr) {
    var header = xhr && xhr.getResponseHeader("HX-Trigger");
    return !!(header && header.indexOf('"toast"') !== -1);
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    if (hasServerToast(xhr)) return;
    showToast("The request failed (" + xhr.status + "). Try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("The console could not be reached. Check your connection and try again.", "error");
  });
  document.addEventListener("htmx:timeout", function () {
    showToast("The console took too long to answer. Try again.", "error");
  });

  // Styled confirmation for hx-confirm (htmx:confirm + issueRequest, see htmx.org/docs/#confirming).
  document.addEventListener("htmx:confirm", function (evt) {
    var question = evt.detail.question;
    if (!question) return;
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // native confirm() fallback
    evt.preventDefault();
    document.getElementById("confirm-message").textContent = question;
    var okLabel = evt.detail.elt.getAttribute("data-confirm-label");
    document.getElementById("confirm-ok").textContent = okLabel || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") evt.detail.issueRequest(true);
    });
    dialog.showModal();
  });

  // Copy buttons: data-copy-target="#id" copies that element's text; data-copy-text copies itself.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-copy-target], [data-copy-text]");
    if (!btn) return;
    evt.preventDefault();
    var text = btn.getAttribute("data-copy-text");
    if (text === null) {
      var target = document.querySelector(btn.getAttribute("data-copy-target"));
      text = target ? target.textContent.trim() : "";
    }
    if (!text) return;
    var done = function () {
      showToast(btn.getAttribute("data-copy-label") || "Copied to clipboard", "success");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        showToast("Copy failed: your browser blocked clipboard access.", "error");
      });
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* ignore */ }
      area.remove();
    }
  });

  // Countdowns: elements with data-countdown="N" count down once a second (display only;
  // the server decides when codes refresh and secrets re-mask).
  setInterval(function () {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-countdown"), 10) - 1;
      if (isNaN(left) || left < 0) return;
      el.setAttribute("data-countdown", String(left));
      el.textContent = String(left);
    });
  }, 1000);

  // A header checkbox data-check-all="NAME" ticks every visible checkbox named NAME.
  document.addEventListener("change", function (evt) {
    var all = evt.target.closest && evt.target.closest("[data-check-all]");
    if (!all) return;
    var name = all.getAttribute("data-check-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // Escape inside a click-to-edit form cancels it (its Cancel link swaps the view back).
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var form = evt.target.closest && evt.target.closest("[data-edit-form]");
    if (!form && (evt.target === document.body || evt.target === document.documentElement)) {
      var open = document.querySelectorAll("[data-edit-form]");
      form = open.length === 1 ? open[0] : null; // focus is nowhere: the one open form
    }
    if (!form || (document.querySelector("dialog[open]"))) return;
    var cancel = form.querySelector("[data-cancel]");
    if (cancel) {
      evt.preventDefault();
      cancel.click();
    }
  });

  // -- focus that follows htmx swaps ------------------------------------------------------
  // A swap replaces the element that had focus, which then falls to <body>. Before the swap
  // we note where focus was (inside the target? on an element with data-focus-key?); after
  // it settles (htmx's own [autofocus] handling has run by then) we put focus where the
  // operator expects it. Focus is moved only if it was inside the swapped region, or lost
  // during a request the operator made (hx-disabled-elt disables a focused Save button,
  // which drops focus to <body>; a History load or a timed re-mask never takes focus), and
  // is not somewhere else by the time the new content has settled.
  var FIELDS = "input:not([type=hidden]), select, textarea";
  var CONTROLS = "a[href], button, " + FIELDS + ", [tabindex]:not([tabindex='-1'])";
  var notes = new WeakMap(); // xhr → where focus was when its response swapped in

  function visible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  function focusLost() {
    var el = document.activeElement;
    return !el || el === document.body || el === document.documentElement || !el.isConnected;
  }

  // Focus an element; a non-interactive one (panel, banner, region) gets tabindex=-1 first.
  function focusOn(el) {
    if (!el) return false;
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus({ preventScroll: true });
    if (document.activeElement !== el) return false;
    if (el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
    return true;
  }

  // The first field of a freshly opened editor: [autofocus] if set, else the first visible,
  // enabled field; for a radio group, its checked option (where arrows move the choice).
  function firstField(form) {
    var auto = form.querySelector("[autofocus]");
    if (auto && visible(auto) && !auto.disabled) return auto;
    var fields = form.querySelectorAll(FIELDS);
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.disabled || !visible(field)) continue;
      if (field.type === "radio" && !field.checked && field.name) {
        var checked = form.querySelector('input[type=radio][name="' + field.name + '"]:checked');
        if (checked && visible(checked)) return checked;
      }
      return field;
    }
    return null;
  }

  // A detail-page section (#section-<name>) after its swap: the editor's conflict panel,
  // first invalid field, error banner or first field; in view mode, the section's Edit link.
  function focusSection(section) {
    var name = section.id.replace(/^section-/, "");
    var form = section.querySelector("[data-edit-form]");
    if (form) {
      return focusOn(form.querySelector(".conflict")) ||
        focusOn(form.querySelector('[aria-invalid="true"]')) ||
        focusOn(form.querySelector(".banner-error, [role=alert]")) ||
        focusOn(firstField(form));
    }
    return focusOn(section.querySelector('.card-head a[aria-label="Edit ' + name + '"]')) ||
      focusOn(section.querySelector("[role=alert]")) ||
      focusOn(section.querySelector("h2"));
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || !target.id || !evt.detail.shouldSwap) return;
    var active = document.activeElement;
    var inside = !focusLost() && target.contains(active);
    var keyed = inside && active.closest("[data-focus-key]");
    var cause = evt.detail.requestConfig && evt.detail.requestConfig.triggeringEvent;
    // kept on the request itself: other requests (e.g. History reloading on the save's
    // HX-Trigger) may swap between this one's swap and its settle
    notes.set(evt.detail.xhr, {
      id: target.id,
      claim: inside || (focusLost() && !!(cause && cause.isTrusted)),
      key: keyed ? keyed.getAttribute("data-focus-key") : null,
    });
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var note = evt.detail.xhr && notes.get(evt.detail.xhr);
    if (!note) return;
    notes.delete(evt.detail.xhr); // once per request (afterSettle fires per swapped element)
    var region = document.getElementById(note.id);
    if (!region || !note.claim) return;
    if (!focusLost() && !region.contains(document.activeElement)) return; // moved on: leave it
    if (/^section-/.test(note.id)) {
      focusSection(region);
    } else if (note.key) {
      // the same control in the new content (the sort link of the same column, the same
      // page link), else the region itself (e.g. the page link clicked is now the current page)
      var same = region.querySelector('[data-focus-key="' + note.key + '"]');
      if (!focusOn(same && visible(same) ? same : null)) focusOn(region);
    } else if (focusLost()) {
      // anything else that swapped the control in use (a secret's Reveal/Hide, Sync now):
      // the region's first control, else the region
      var controls = region.querySelectorAll(CONTROLS);
      for (var i = 0; i < controls.length; i++) {
        if (visible(controls[i]) && !controls[i].disabled && focusOn(controls[i])) return;
      }
      focusOn(region);
    }
  });

  // -- keyboard shortcuts ----------------------------------------------------------------
  // "/" focuses the page's search box, or the global one; "?" opens the shortcuts help.
  // Neither fires while the operator types in a field, with Ctrl/Alt/Meta, or over a dialog.
  function typing(el) {
    if (!el) return false;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || el.isContentEditable;
  }

  function searchBox() {
    var boxes = document.querySelectorAll("[data-search-box]");
    for (var i = 0; i < boxes.length; i++) {
      if (visible(boxes[i]) && !boxes[i].disabled) return boxes[i];
    }
    var global = document.getElementById("topbar-q");
    return global && visible(global) ? global : null;
  }

  var helpReturn = null;

  function openHelp() {
    var dialog = document.getElementById("shortcuts-dialog");
    if (!dialog || typeof dialog.showModal !== "function" || dialog.open) return false;
    helpReturn = document.activeElement;
    dialog.showModal();
    return true;
  }

  document.addEventListener("close", function (evt) {
    if (!evt.target || evt.target.id !== "shortcuts-dialog") return;
    var back = helpReturn;
    helpReturn = null;
    if (back && back.isConnected && back !== document.body) back.focus({ preventScroll: true });
  }, true); // "close" does not bubble

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "/" && evt.key !== "?") return;
    if (evt.ctrlKey || evt.metaKey || evt.altKey || evt.isComposing || evt.defaultPrevented) return;
    if (typing(document.activeElement) || document.querySelector("dialog[open]")) return;
    if (evt.key === "?") {
      if (openHelp()) evt.preventDefault();
      return;
    }
    var search = searchBox();
    if (search) {
      evt.preventDefault();
      search.focus();
      if (search.select) search.select();
    }
  });
})();
