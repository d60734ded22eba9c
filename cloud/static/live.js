// Live alerts over server-sent events: the SOS banner on every page, new rows in the console.
(function () {
  "use strict";
  var en = window.SQJZ_LANG === "en";
  var banner = document.getElementById("sos-banner");
  var rows = document.getElementById("alert-rows");
  var dot = document.getElementById("live-state");
  function text(tag, value) { var el = document.createElement(tag); el.textContent = value; return el; }
  function when(ts) { return new Date(ts * 1000).toLocaleString(en ? "en-GB" : "zh-CN"); }
  function showRow(a) {
    if (!rows) return;
    var old = rows.querySelector('tr[data-id="' + a.id + '"]');
    var tr = document.createElement("tr");
    tr.className = "alert-row kind-" + a.kind + " st-" + a.status;
    tr.dataset.id = a.id;
    tr.appendChild(text("td", en ? a.label_en : a.label_zh));
    var who = a.person_name || ("band " + (a.band_id || ""));
    if (a.kind === "hub_offline" && a.detail) {
      who = (en ? "Hub #" : "基站 #") + a.detail.hub_id + " " + (a.detail.name || "");
    }
    tr.appendChild(text("td", who));
    tr.appendChild(text("td", when(a.raised_at)));
    tr.appendChild(text("td", a.count));
    tr.appendChild(text("td", a.status));
    tr.appendChild(document.createElement("td"));
    if (old) { rows.replaceChild(tr, old); } else { rows.insertBefore(tr, rows.firstChild); }
  }
  var source = new EventSource("/api/v1/events");
  source.onopen = function () { if (dot) dot.classList.add("on"); document.body.dataset.live = "on"; };
  source.onerror = function () { if (dot) dot.classList.remove("on"); };
  source.addEventListener("alert", function (ev) {
    var msg = JSON.parse(ev.data);
    var a = msg.alert;
    showRow(a);
    if (a.kind === "sos" && a.status !== "resolved") {
      banner.hidden = false;
      banner.textContent = (en ? "SOS: " : "紧急求助：") + (a.person_name || ("band " + a.band_id)) +
        " · " + when(a.last_at) + (a.count > 1 ? " ×" + a.count : "");
      banner.dataset.alertId = a.id;
    }
  });
})();
