// Times: relative in the page, exact on hover, in UTC or the browser's local time (a
// switch remembered per browser). Elements: <time datetime="ISO" data-exact>.
(function () {
  "use strict";
  var KEY = "vault-console.time-zone";

  function zone() {
    try { return localStorage.getItem(KEY) === "local" ? "local" : "utc"; } catch (e) { return "utc"; }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function exact(iso, where) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) { return null; }
    if (where === "utc") {
      return moment.getUTCFullYear() + "-" + pad(moment.getUTCMonth() + 1) + "-" + pad(moment.getUTCDate()) +
        " " + pad(moment.getUTCHours()) + ":" + pad(moment.getUTCMinutes()) + ":" + pad(moment.getUTCSeconds()) + " UTC";
    }
    var offset = -moment.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      " " + pad(moment.getHours()) + ":" + pad(moment.getMinutes()) + ":" + pad(moment.getSeconds()) +
      " (UTC" + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60) + ")";
  }

  function apply(root) {
    var where = zone();
    (root || document).querySelectorAll("time[data-exact]").forEach(function (el) {
      var text = exact(el.getAttribute("datetime"), where);
      if (text) {
        el.setAttribute("title", text);
        if (el.hasAttribute("data-show-exact")) { el.textContent = text; }
      }
    });
    document.querySelectorAll("select[data-time-zone-switch]").forEach(function (select) {
      select.value = where;
    });
  }

  document.addEventListener("change", function (event) {
    var select = event.target.closest ? event.target.closest("select[data-time-zone-switch]") : null;
    if (!select) { return; }
    try { localStorage.setItem(KEY, select.value === "local" ? "local" : "utc"); } catch (e) { /* private mode */ }
    apply(document);
  });
  document.addEventListener("DOMContentLoaded", function () { apply(document); });
  document.addEventListener("htmx:afterSettle", function (event) { apply(event.target); });
}());
