// Logs page live tail: rows written by the gateway arrive over the WebSocket
// and are put on top of the table. Built with textContent only (no HTML from the wire).
(function () {
  "use strict";
  var MAX_ROWS = 200;

  function usd(units) {
    var dollars = units / 10000;
    return "$" + (Math.abs(dollars) >= 1 || dollars === 0 ? dollars.toFixed(2) : dollars.toFixed(4));
  }
  function compact(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + "k";
    return String(n);
  }
  function cell(label, text, cls) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    return td;
  }
  function badge(text, cls) {
    var span = document.createElement("span");
    span.className = "badge " + (cls || "");
    span.textContent = text;
    return span;
  }
  function rowFor(r, detailBase) {
    var tr = document.createElement("tr");
    tr.className = "is-new";
    var when = r.created_at ? r.created_at.replace("T", " ").slice(0, 19) : "";
    var request = document.createElement("div");
    var a = document.createElement("a");
    a.href = detailBase + encodeURIComponent(r.request_id) + "/";
    a.className = "nowrap";
    a.textContent = when;
    var rid = document.createElement("code");
    rid.className = "rid";
    rid.textContent = r.request_id;
    request.appendChild(a);
    request.appendChild(document.createElement("br"));
    request.appendChild(rid);
    tr.appendChild(cell("Request", request));
    var status = document.createElement("div");
    var code = r.status_code;
    status.appendChild(badge(String(code), code < 400 ? "badge-ok" : (code === 429 || code === 402) ? "badge-warn" : "badge-danger"));
    if (r.error_type) { status.appendChild(document.createElement("br")); var e = document.createElement("span"); e.className = "muted small"; e.textContent = r.error_type; status.appendChild(e); }
    tr.appendChild(cell("Status", status));
    var model = document.createElement("div");
    var name = document.createElement("span");
    name.className = "nowrap";
    name.textContent = r.model || "—";
    model.appendChild(name);
    if (r.stream) { model.appendChild(document.createTextNode(" ")); model.appendChild(badge("stream")); }
    model.appendChild(document.createElement("br"));
    var provider = document.createElement("span");
    provider.className = "muted small";
    provider.textContent = r.provider || "no provider";
    model.appendChild(provider);
    tr.appendChild(cell("Model", model));
    tr.appendChild(cell("Key", "—"));
    tr.appendChild(cell("Tokens", compact(r.input_tokens) + " / " + compact(r.output_tokens), "num nowrap"));
    tr.appendChild(cell("Cost", usd(r.charged_units), "num"));
    tr.appendChild(cell("Latency", r.latency_ms + " ms", "num nowrap"));
    return tr;
  }

  function start(status) {
    var tbody = document.getElementById("log-rows");
    var detailBase = status.getAttribute("data-detail-url");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + status.getAttribute("data-tail-url");
    var delay = 1000;
    function connect() {
      var socket = new WebSocket(url);
      socket.onopen = function () { delay = 1000; };
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "subscribed") {
          status.textContent = "Live tail: on";
          status.className = "tail-status is-live";
        } else if (message.type === "rows") {
          var empty = document.getElementById("logs-empty");
          if (empty) empty.remove();
          message.rows.forEach(function (r) { tbody.insertBefore(rowFor(r, detailBase), tbody.firstChild); });
          while (tbody.children.length > MAX_ROWS) tbody.removeChild(tbody.lastChild);
        }
      };
      socket.onclose = function (event) {
        status.className = "tail-status is-down";
        if (event.code === 4401 || event.code === 4403) {
          status.textContent = "Live tail: not allowed (sign in again)";
          return;
        }
        status.textContent = "Live tail: reconnecting…";
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("tail-status");
    if (status && window.WebSocket) start(status);
  });
})();
