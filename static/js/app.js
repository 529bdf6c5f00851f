/*
 * Vault Console — the only script besides htmx. No inline handlers anywhere (strict CSP):
 * behaviour hangs off data-* attributes and htmx events.
 *   - toasts raised by the server through `HX-Trigger: {"toast": {...}}`
 *   - a generic toast when an htmx request fails without one
 *   - a styled confirmation dialog for `hx-confirm`
 *   - copy-to-clipboard buttons (`data-copy-target` / `data-copy-text`)
 *   - "/" focuses the search box
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

  // "/" focuses the search box unless the operator is typing somewhere.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "/" || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || document.activeElement.isContentEditable) return;
    var search = document.querySelector("[data-search-box]");
    if (search) {
      evt.preventDefault();
      search.focus();
      search.select();
    }
  });
})();
