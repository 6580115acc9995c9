// Routing rules and Firewall pages: per-type fields, repeatable rows, the preview drawer.
(function () {
  "use strict";

  function fieldMap() {
    var node = document.getElementById("rule-field-map");
    return node ? JSON.parse(node.textContent) : null;
  }

  // Show only the inputs the chosen type takes (all stay in the form without JS).
  function bindType(row, map) {
    var select = row.querySelector("select[name$='-type'], select[name='type'], select[name$='-matcher']");
    if (!select) return;
    var kind = row.getAttribute("data-kind");
    var update = function () {
      var wanted = (map[kind] || {})[select.value] || [];
      row.querySelectorAll("[data-field]").forEach(function (box) {
        box.hidden = wanted.indexOf(box.getAttribute("data-field")) === -1;
      });
    };
    select.addEventListener("change", update);
    update();
  }

  function init() {
    var map = fieldMap();
    if (map) {
      document.querySelectorAll("[data-kind]").forEach(function (row) { bindType(row, map); });
    }
    var add = document.querySelector("[data-add-condition]");
    if (add) {
      add.addEventListener("click", function () {
        var total = document.querySelector("input[name$='-TOTAL_FORMS']");
        var index = parseInt(total.value, 10);
        var html = document.getElementById("condition-template").innerHTML.replace(/__prefix__/g, String(index));
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var row = holder.firstElementChild;
        document.getElementById("condition-rows").appendChild(row);
        total.value = String(index + 1);
        if (map) bindType(row, map);
        var first = row.querySelector("select");
        if (first) first.focus();
      });
    }
    var drawer = document.getElementById("preview-drawer");
    if (drawer && drawer.hasAttribute("data-open") && drawer.showModal) drawer.showModal();
  }

  document.addEventListener("DOMContentLoaded", init);
  // A preview or test result replaced by htmx is brought into view (the drawer scrolls on its own).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && (target.id === "preview-result" || target.id === "test-result")) {
      target.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  });
})();
