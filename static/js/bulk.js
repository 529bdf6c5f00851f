/*
 * Vault Console — the bulk selection of the entries list (loaded by templates/entries/list.html).
 *
 * The ticked rows are kept in this tab's sessionStorage, so a selection survives a search,
 * a filter, another page or a reload (htmx swaps the results into #entry-results; the rows
 * are ticked again from the stored ids). The form #bulk-form carries every selected id as a
 * hidden input, so rows not on this page are changed too. "N selected · clear" counts them;
 * the "Bulk change…" button stays disabled while nothing is selected. Applying a change
 * empties the selection. Without JavaScript the checkboxes are submitted as they are.
 */
(function () {
  "use strict";

  var form = document.getElementById("bulk-form");
  if (!form) return;
  var KEY = "vault-console.bulk-selection." + (form.getAttribute("data-bulk-owner") || "");
  var ROW = 'input[type=checkbox][name="ids"][form="bulk-form"]';
  var selected = load();

  function load() {
    try {
      var ids = JSON.parse(window.sessionStorage.getItem(KEY) || "[]");
      return Array.isArray(ids) ? ids.filter(function (id) { return typeof id === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function store() {
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify(selected));
    } catch (e) { /* storage full or blocked: the selection lasts as long as the page */ }
  }

  function toggle(id, on) {
    var at = selected.indexOf(id);
    if (on && at === -1) selected.push(id);
    if (!on && at !== -1) selected.splice(at, 1);
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(ROW));
  }

  // Tick the rows on this page from the selection, and bring the bar up to date.
  function show() {
    var visible = rows();
    var ticked = 0;
    visible.forEach(function (box) {
      box.checked = selected.indexOf(box.value) !== -1;
      if (box.checked) ticked += 1;
    });
    var all = document.querySelector('[data-check-all="ids"]');
    if (all) {
      all.checked = visible.length > 0 && ticked === visible.length;
      all.indeterminate = ticked > 0 && ticked < visible.length;
    }
    var holder = form.querySelector("[data-bulk-ids]");
    if (holder) {
      holder.textContent = "";
      selected.forEach(function (id) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "ids";
        input.value = id;
        holder.appendChild(input);
      });
    }
    form.classList.add("bulk-js");
    form.classList.toggle("has-selection", selected.length > 0);
    var count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = String(selected.length);
    var clear = form.querySelector("[data-bulk-clear-wrap]");
    if (clear) clear.hidden = selected.length === 0;
    var matching = form.querySelector('input[name="all_matching"]');
    var submit = form.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = selected.length === 0 && !(matching && matching.checked);
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (!target || !target.matches) return;
    if (target.matches(ROW)) {
      toggle(target.value, target.checked);
    } else if (target.matches('[data-check-all="ids"]')) {
      rows().forEach(function (box) { toggle(box.value, target.checked); });
    } else if (target.form !== form) {
      return;
    }
    store();
    show();
  });

  form.addEventListener("click", function (evt) {
    if (!evt.target.closest || !evt.target.closest("[data-bulk-clear]")) return;
    selected = [];
    store();
    show();
    var next = form.querySelector('input[name="all_matching"]'); // the clear button is hidden now
    if (next) next.focus();
  });

  // The last step of the wizard (swapped into this page) applies the change: start afresh.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.id === "bulk-apply-form") {
      selected = [];
      store();
    }
  });

  // New rows after a search, a filter, a sort or another page; a page restored from history.
  document.addEventListener("htmx:afterSettle", show);
  window.addEventListener("pageshow", function () {
    selected = load();
    show();
  });
  show();
})();
