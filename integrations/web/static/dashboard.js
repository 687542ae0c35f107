// The commune dashboard (/staff/dashboard): figures from /staff/api/dashboard for a period and a place,
// the chosen guide's funnel as a chart (Chart.js, served by our own server), CSV export of each table, and
// the unanswered questions with a "handled" button. Text from the server is only ever set as textContent.
"use strict";

(function () {
  var ALL = staff.ALL, lang = staff.lang, S = staff.S, $ = staff.$, el = staff.el, notice = staff.notice;
  var data = null;
  var chart = null;


  staff.label(S.title);
  $("to-desk").textContent = S.desk;

  // columns: [key, header, numeric]
  function table(id, columns, rows, extra) {
    var t = $(id);
    t.replaceChildren();
    if (!rows.length) { var p = el("caption", S.none, "empty"); t.appendChild(p); return; }
    var head = el("tr");
    columns.forEach(function (c) { var th = el("th", S[c[1]] || c[1], c[2] ? "n" : ""); th.scope = "col"; head.appendChild(th); });
    if (extra) head.appendChild(el("th", ""));
    var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr");
      columns.forEach(function (c) {
        var v = typeof c[0] === "function" ? c[0](row) : row[c[0]];
        tr.appendChild(el("td", v === null || v === undefined ? "–" : v, c[2] ? "n" : ""));
      });
      if (extra) { var td = el("td"); td.appendChild(extra(row)); tr.appendChild(td); }
      body.appendChild(tr);
    });
    t.appendChild(body);
  }

  function query() {
    var q = new URLSearchParams({ from: $("f-from").value, to: $("f-to").value, lang: lang });
    if ($("f-village").value) q.set("village", $("f-village").value);
    return q;
  }

  function place(row) { return row.village ? row.place : S.unknown_place; }

  // The chosen guide's funnel comes from /staff/api/funnel (the figures the contract names), its step names
  // from the overview.
  function drawGuide() {
    var guide = (data.funnels || []).filter(function (g) { return g.flow === $("f-guide").value; })[0];
    if (!guide) { table("t-steps", [], []); if (chart) { chart.destroy(); chart = null; } return Promise.resolve(); }
    var q = query();
    q.set("flow", guide.flow);
    q.delete("lang");
    return fetch("/staff/api/funnel?" + q.toString(), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("failed");
      return r.json();
    }).then(function (funnel) {
      var steps = funnel.steps.map(function (s, i) {
        return { label: guide.steps[i] ? guide.steps[i].label : String(s.step), reached: s.reached, stuck: s.stuck };
      });
      table("t-steps", [["label", "step"], ["reached", "reached", true], ["stuck", "stuck", true]], steps);
      var config = {
        type: "bar",
        data: {
          labels: steps.map(function (s) { return s.label; }),
          datasets: [
            { label: S.reached, data: steps.map(function (s) { return s.reached; }), backgroundColor: "#0a7d45" },
            { label: S.stuck, data: steps.map(function (s) { return s.stuck; }), backgroundColor: "#cf222e" }
          ]
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      };
      if (typeof Chart === "undefined") return;
      if (chart) chart.destroy();
      chart = new Chart($("funnel-chart"), config);
    });
  }

  function render() {
    var guides = data.funnels || [];
    var select = $("f-guide");
    var chosen = select.value;
    select.replaceChildren();
    guides.forEach(function (g) { var o = el("option", g.title + " (" + g.started + ")"); o.value = g.flow; select.appendChild(o); });
    if (guides.some(function (g) { return g.flow === chosen; })) select.value = chosen;
    table("t-funnels", [["title", "guide"], ["started", "started", true], ["completed", "completed", true],
                        ["handoff", "handoff", true], ["cancelled", "cancelled", true]], guides);
    table("t-stuck", [["title", "guide"], ["label", "step"], ["stuck", "stuck", true]], data.stuck);
    table("t-reach", [[place, "place"], ["channel", "channel"], ["residents", "residents", true], ["new", "new", true],
                      ["active", "active", true], ["subscribed", "subscribed", true]], data.reach);
    table("t-languages", [[function (r) { return r.language || S.lang_default; }, "language"],
                          ["residents", "residents", true]], data.languages);
    table("t-handoff", [[place, "place"], ["team", "team"], ["opened", "opened", true], ["claimed", "claimed", true],
                        ["resolved", "resolved", true], ["solved", "solved", true], ["not_solved", "not_solved", true],
                        ["minutes_to_claim", "minutes_to_claim", true]], data.handoff);
    table("t-broadcasts", [[function (r) { return new Date(r.created).toLocaleString(lang === "en" ? "en-GB" : "vi-VN"); }, "created"],
                           ["author", "author"],
                           [function (r) { return r.villages.length ? r.villages.join(", ") : S.all_places; }, "audience"],
                           ["status", "status"], ["recipients", "recipients", true], ["sent", "sent", true],
                           ["failed", "not_delivered", true], ["waiting", "waiting", true], ["skipped", "skipped", true],
                           ["unsubscribed", "unsubscribed", true]], data.broadcasts);
    table("t-unanswered", [["text", "message"], ["count", "times", true],
                           [function (r) { return r.kinds.map(function (k) { return S["kind_" + k] || k; }).join(", "); }, "kind"]],
          data.unanswered, function (row) {
            var b = el("button", S.mark_handled, "small");
            b.type = "button";
            b.addEventListener("click", function () { handled(row, b); });
            return b;
          });
    var q = query();
    document.querySelectorAll("a.csv").forEach(function (a) {
      q.set("table", a.dataset.table);
      a.href = "/staff/api/dashboard.csv?" + q.toString();
    });
  }

  function load(first) {
    $("status").textContent = S.loading;
    var url = "/staff/api/dashboard?" + (first ? "lang=" + lang : query().toString());
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 403) { notice(S.forbidden); $("board").hidden = true; throw new Error("forbidden"); }
      if (!r.ok) throw new Error("failed");
      return r.json();
    }).then(function (body) {
      data = body;
      if (first) {
        $("f-from").value = body.from;
        $("f-to").value = body.to;
        var v = $("f-village");
        v.replaceChildren(el("option", S.all_places));
        v.firstChild.value = "";
        body.villages.forEach(function (p) { var o = el("option", p.name); o.value = p.code; v.appendChild(o); });
        var pv = $("p-village");
        pv.replaceChildren(el("option", S.all_villages));
        pv.firstChild.value = "";
        body.villages.forEach(function (p) { var o = el("option", p.name); o.value = p.code; pv.appendChild(o); });
      }
      render();
      return drawGuide();
    }).then(function () {
      $("status").textContent = "";
      document.body.dataset.loaded = String(Date.now());
    }).catch(function (e) { if (e.message !== "forbidden") $("status").textContent = S.failed; });
  }

  function handled(row, button) {
    button.disabled = true;
    staff.api("POST", "/staff/api/unanswered/handled", { key: row.key, last: row.last })
      .then(function () { return load(false); })
      .catch(function () { button.disabled = false; $("status").textContent = S.failed; });
  }

  // Posters: the channels are remembered on this computer; the web chat's address defaults to this server's.
  var posterForm = $("poster-form");
  var remembered = {};
  try { remembered = JSON.parse(localStorage.getItem("posters") || "{}"); } catch (e) { remembered = {}; }
  ["telegram_bot", "zalo_oa", "web_url"].forEach(function (name) {
    posterForm.elements[name].value = remembered[name] || (name === "web_url" ? location.origin + "/" : "");
  });
  posterForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var result = $("poster-result");
    var fields = {};
    ["telegram_bot", "zalo_oa", "web_url"].forEach(function (name) { fields[name] = posterForm.elements[name].value.trim(); });
    try { localStorage.setItem("posters", JSON.stringify(fields)); } catch (err) { /* private mode: not kept */ }
    var q = new URLSearchParams(fields);
    q.set("village", posterForm.elements.village.value);
    q.set("lang", lang);
    result.textContent = S.loading;
    result.className = "result";
    fetch("/staff/api/posters.pdf?" + q.toString(), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return r.json().then(function (body) { throw { shown: body.error }; });
      return r.blob().then(function (blob) {
        var a = el("a");
        a.href = URL.createObjectURL(blob);
        a.download = "poster-" + (posterForm.elements.village.value || "all") + ".pdf";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
        result.textContent = S.posters_ready;
        document.body.dataset.posters = String(Date.now());
      });
    }).catch(function (err) {
      result.textContent = (err && err.shown) || S.failed;
      result.className = "result error";
      document.body.dataset.posters = String(Date.now());
    });
  });

  $("filters").addEventListener("submit", function (e) { e.preventDefault(); load(false); });
  $("f-guide").addEventListener("change", function () {
    drawGuide().then(function () { document.body.dataset.loaded = String(Date.now()); });
  });

  staff.signIn().then(function (me) {
    if (!me) return;
    $("board").hidden = false;
    load(true);
  });
})();
