// The commune's schedule, classes and teams' contacts (/staff/community): each entry a row of fields, saved as a
// whole list with PUT /staff/api/community/<list>. The server checks every entry as the assistant reads it and
// refuses the whole list with a message naming the entry; the saved file stays as it was.
"use strict";

(function () {
  var ALL = staff.ALL, lang = staff.lang, S = staff.S, $ = staff.$, el = staff.el, notice = staff.notice;
  var FIELDS = {
    schedule: [["date", "date"], ["start", "start"], ["end", "end"], ["place", "place_vi"], ["place_en", "place_en"],
               ["villages", "villages_for"]],
    classes: [["date", "date"], ["start", "start"], ["end", "end"], ["place", "place_vi"], ["place_en", "place_en"],
              ["topic", "topic"], ["topic_en", "topic_en"], ["villages", "villages_for"]]
  };

  function today() { var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 10); }

  staff.label(S.community);

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

  // The village teams' contacts: one fieldset per team (its id in data-team), hours as day boxes and two times.
  var TEAM_FIELDS = [["contact", "contact"], ["contact_en", "contact_en"], ["phone", "phone"], ["place", "team_place"],
                     ["place_en", "team_place_en"]];
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

  function teamBox(team) {
    var box = el("fieldset", null, "entry team");
    box.dataset.team = team.id;
    box.appendChild(el("legend", team.name));
    TEAM_FIELDS.forEach(function (f) {
      var label = el("label");
      label.appendChild(el("span", S[f[1]]));
      var input = el("input");
      input.name = f[0];
      input.value = team[f[0]] || "";
      if (f[0] === "phone") input.type = "tel";
      label.appendChild(input);
      box.appendChild(label);
    });
    var hours = el("div", null, "hours");
    hours.appendChild(el("span", S.hours));
    var days = (team.hours && team.hours.days) || [];
    DAYS.forEach(function (d) {
      var label = el("label", null, "day");
      var box_ = el("input");
      box_.type = "checkbox";
      box_.name = "day";
      box_.value = d;
      box_.checked = days.indexOf(d) >= 0;
      label.appendChild(box_);
      label.appendChild(el("span", S["day_" + d]));
      hours.appendChild(label);
    });
    [["hours_start", "start"], ["hours_end", "end"]].forEach(function (f) {
      var label = el("label");
      label.appendChild(el("span", S[f[1]]));
      var input = el("input");
      input.name = f[0];
      input.value = team.hours ? team.hours[f[1]] : "";
      label.appendChild(input);
      hours.appendChild(label);
    });
    box.appendChild(hours);
    return box;
  }

  function showTeams(teams) {
    var holder = document.querySelector("#teams .entries");
    holder.replaceChildren();
    teams.forEach(function (t) { holder.appendChild(teamBox(t)); });
  }

  function collectTeams() {
    return Array.from(document.querySelectorAll("#teams .team")).map(function (box) {
      var entry = { id: box.dataset.team };
      TEAM_FIELDS.forEach(function (f) { entry[f[0]] = box.querySelector("input[name=" + f[0] + "]").value; });
      var days = Array.from(box.querySelectorAll("input[name=day]:checked")).map(function (c) { return c.value; });
      var start = box.querySelector("input[name=hours_start]").value.trim();
      var end = box.querySelector("input[name=hours_end]").value.trim();
      entry.hours = days.length || start || end ? { days: days, start: start, end: end } : null;
      return entry;
    });
  }

  function save(list, entries, result, done) {
    result.textContent = S.loading;
    result.className = "result";
    staff.api("PUT", "/staff/api/community/" + list, { entries: entries }).then(function (body) {
      done(body[list]);
      history(body.history);
      result.textContent = list === "teams" ? S.saved_teams : S.saved;
      document.body.dataset.saved = String(Date.now());
    }).catch(function (e) {
      result.textContent = e.shown ? (list === "teams" ? S.refused_teams : S.refused) + " " + e.message : S.failed;
      result.className = "result error";
    });
  }

  $("teams").querySelector(".save").addEventListener("click", function () {
    save("teams", collectTeams(), $("teams").querySelector(".result"), showTeams);
  });

  document.querySelectorAll("section.list").forEach(function (section) {
    var list = section.dataset.list;
    section.querySelector(".add").addEventListener("click", function () {
      section.querySelector(".entries").appendChild(row(list, {}));
    });
    section.querySelector(".save").addEventListener("click", function () {
      save(list, collect(list), section.querySelector(".result"), function (saved) { show(list, saved); });
    });
  });

  staff.signIn().then(function (me) {
    if (!me) return null;
    return staff.api("GET", "/staff/api/community").then(function (body) {
      show("schedule", body.schedule);
      show("classes", body.classes);
      showTeams(body.teams);
      history(body.history);
      $("board").hidden = false;
      document.body.dataset.loaded = String(Date.now());
    });
  }).catch(function () { notice(S.failed); });
})();
