// The commune's schedule and classes (/staff/community): each entry a row of fields, saved as a whole list with
// PUT /staff/api/community/<list>. The server checks every entry as the assistant reads it and refuses the
// whole list with a message naming the entry; the saved file stays as it was.
"use strict";

(function () {
  var ALL = JSON.parse(document.getElementById("strings").textContent);
  var lang = new URLSearchParams(location.search).get("lang") === "en" && ALL.en ? "en" : "vi";
  var S = ALL[lang];
  var csrf = "";
  var FIELDS = {
    schedule: [["date", "date"], ["start", "start"], ["end", "end"], ["place", "place_vi"], ["place_en", "place_en"],
               ["villages", "villages_for"]],
    classes: [["date", "date"], ["start", "start"], ["end", "end"], ["place", "place_vi"], ["place_en", "place_en"],
              ["topic", "topic"], ["topic_en", "topic_en"], ["villages", "villages_for"]]
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function notice(text, link) {
    var box = $("notice");
    box.textContent = text + " ";
    if (link) { var a = el("a", S.login_link); a.href = "/staff/"; box.appendChild(a); }
    box.hidden = false;
  }
  function today() { var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 10); }

  document.documentElement.lang = lang;
  document.title = S.community;
  $("title").textContent = S.community;
  document.querySelectorAll("[data-s]").forEach(function (node) { node.textContent = S[node.dataset.s]; });

  function row(list, entry) {
    var box = el("fieldset", null, "entry");
    FIELDS[list].forEach(function (f) {
      var label = el("label");
      label.appendChild(el("span", S[f[1]]));
      var input = el("input");
      input.name = f[0];
      var value = entry[f[0]];
      input.value = Array.isArray(value) ? value.join(", ") : (value || "");
      label.appendChild(input);
      box.appendChild(label);
    });
    if (entry.date && entry.date < today()) box.appendChild(el("span", S.past, "hint"));
    var remove = el("button", S.remove, "small");
    remove.type = "button";
    remove.addEventListener("click", function () { box.remove(); });
    box.appendChild(remove);
    return box;
  }

  function show(list, entries) {
    var holder = document.querySelector("[data-list=" + list + "] .entries");
    holder.replaceChildren();
    entries.forEach(function (e) { holder.appendChild(row(list, e)); });
  }

  function history(rows) {
    var t = $("t-history");
    t.replaceChildren();
    rows.forEach(function (h) {
      var tr = el("tr");
      tr.appendChild(el("td", new Date(h.at).toLocaleString(lang === "en" ? "en-GB" : "vi-VN")));
      tr.appendChild(el("td", h.who));
      tr.appendChild(el("td", h.file));
      tr.appendChild(el("td", h.entries, "n"));
      t.appendChild(tr);
    });
  }

  function collect(list) {
    return Array.from(document.querySelectorAll("[data-list=" + list + "] .entry")).map(function (box) {
      var entry = {};
      box.querySelectorAll("input").forEach(function (input) {
        if (input.name === "villages") {
          entry.villages = input.value.split(",").map(function (c) { return c.trim(); }).filter(Boolean);
        } else {
          entry[input.name] = input.value;
        }
      });
      return entry;
    });
  }

  document.querySelectorAll("section.list").forEach(function (section) {
    var list = section.dataset.list;
    section.querySelector(".add").addEventListener("click", function () {
      section.querySelector(".entries").appendChild(row(list, {}));
    });
    section.querySelector(".save").addEventListener("click", function () {
      var result = section.querySelector(".result");
      result.textContent = S.loading;
      result.className = "result";
      fetch("/staff/api/community/" + list, {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ entries: collect(list) })
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          result.textContent = S.refused + " " + (answer.body.error || "");
          result.className = "result error";
          return;
        }
        show(list, answer.body[list]);
        history(answer.body.history);
        result.textContent = S.saved;
        document.body.dataset.saved = String(Date.now());
      }).catch(function () { result.textContent = S.failed; result.className = "result error"; });
    });
  });

  fetch("/staff/api/me", { credentials: "same-origin" }).then(function (r) {
    if (r.status === 401) { notice(S.login_first, true); return null; }
    if (!r.ok) throw new Error("failed");
    return r.json();
  }).then(function (me) {
    if (!me) return null;
    csrf = me.csrf;
    $("who").textContent = me.username;
    if (me.role !== "staff" && me.role !== "admin") { notice(S.forbidden); return null; }
    return fetch("/staff/api/community", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("failed");
      return r.json();
    }).then(function (body) {
      show("schedule", body.schedule);
      show("classes", body.classes);
      history(body.history);
      $("board").hidden = false;
      document.body.dataset.loaded = String(Date.now());
    });
  }).catch(function () { notice(S.failed); });
})();
