// The team desk: log in, then work cases through /staff/api/ (the same API scripts use).
// The inbox and the open case are fetched again every few seconds, so new cases and answers from the
// resident (or from the team's Telegram group) appear without reloading.
(function () {
  "use strict";
  var STRINGS = JSON.parse(document.getElementById("strings").textContent);
  var POLL_MS = 3000;
  var TABS = ["open", "claimed", "waiting", "resolved"];
  var state = { me: null, options: null, active: [], resolved: [], tab: "open", caseId: null, detail: null,
                seen: null, skew: 0, busy: false, timer: null };
  window.desk = state;  // for tests and the curious: what the page knows

  function $(id) { return document.getElementById(id); }
  function show(id, on) { $(id).hidden = !on; }

  var lang = localStorage.getItem("desk.lang") ||
             ((navigator.language || "vi").slice(0, 2) === "en" && STRINGS.en ? "en" : "vi");
  if (!STRINGS[lang]) lang = "vi";
  function t(key, params) {
    var text = (STRINGS[lang] || STRINGS.vi)[key] || STRINGS.vi[key] || key;
    Object.keys(params || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(params[k])); });
    return text;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // --- static strings and the language switch ---------------------------------------------
  function label() {
    document.documentElement.lang = lang;
    var fixed = { "l-user": "username", "l-pass": "password", "login-button": "login", "logout-button": "logout",
                  "l-lang": "language", "inbox-title": "inbox", "l-village": "filter_village", "l-team": "filter_team",
                  "back": "back", "claim": "claim", "resolve": "resolve", "handback": "handback",
                  "reassign": "reassign", "l-reassign": "reassign_to", "l-messages": "messages", "l-reply": "reply",
                  "reply-hint": "reply_hint", "reply-send": "send", "l-quick": "quick", "empty": "empty",
                  "offline": "offline" };
    Object.keys(fixed).forEach(function (id) { $(id).textContent = t(fixed[id]); });
    var select = $("lang");
    select.textContent = "";
    Object.keys(STRINGS).forEach(function (code) {
      var o = el("option", null, STRINGS[code].name); o.value = code; o.selected = code === lang; select.appendChild(o);
    });
  }
  $("lang").addEventListener("change", function () {
    lang = $("lang").value; localStorage.setItem("desk.lang", lang); label(); fillOptions(); render();
  });

  // --- time -------------------------------------------------------------------------------
  function now() { return Date.now() + state.skew; }
  function span(ms) {
    var m = Math.max(0, Math.floor(ms / 60000));
    if (m < 1) return t("now");
    if (m < 60) return t("minutes", { n: m });
    if (m < 24 * 60) return t("hours", { h: Math.floor(m / 60), m: m % 60 });
    return t("days", { n: Math.floor(m / (24 * 60)) });
  }
  function clock(iso) {
    return new Date(iso).toLocaleString(lang === "vi" ? "vi-VN" : lang, { hour: "2-digit", minute: "2-digit",
                                                                         day: "2-digit", month: "2-digit" });
  }

  // --- the API ----------------------------------------------------------------------------
  function api(path, body) {
    var init = { credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = state.me ? state.me.csrf : "";
      init.body = JSON.stringify(body);
    }
    // The server says its errors in the page's language.
    path += (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(lang);
    return fetch(path, init).then(function (r) {
      var date = r.headers.get("Date");
      if (date) state.skew = new Date(date).getTime() - Date.now();
      show("offline", false);
      if (r.status === 401) { loggedOut(); throw { status: 401 }; }
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw { status: r.status, message: data.error };
        return data;
      });
    }, function (err) { show("offline", true); throw { status: 0, message: String(err) }; });
  }

  // --- logging in and out -----------------------------------------------------------------
  function loggedIn(me) {
    state.me = me;
    $("who").textContent = me.username + " (" + me.role + ")";
    $("csrf").value = me.csrf;
    show("login", false); show("logout", true); show("desk", true);
    api("/staff/api/desk").then(function (options) { state.options = options; fillOptions(); route(); poll(); });
    document.dispatchEvent(new CustomEvent("desk:ready", { detail: me }));
  }

  function loggedOut() {
    state.me = null; state.seen = null;
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    $("who").textContent = "";
    show("login", true); show("logout", false); show("desk", false);
  }

  function loadMe() {
    return fetch("/staff/api/me", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 200) return r.json().then(loggedIn);
      loggedOut();
    }).catch(loggedOut);
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var error = $("login-error");
    error.textContent = "";
    var body = new URLSearchParams(new FormData(ev.target));
    fetch("/staff/login", { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.ok) { $("password").value = ""; return loadMe(); }
      error.textContent = r.status === 429 ? t("many") : r.status === 401 ? t("wrong") : t("failed");
    }).catch(function () { error.textContent = t("failed"); });
  });

  // --- filters ----------------------------------------------------------------------------
  function fillSelect(select, first, items, keep) {
    var value = keep ? select.value : "";
    select.textContent = "";
    if (first !== null) { var o = el("option", null, first); o.value = ""; select.appendChild(o); }
    items.forEach(function (item) {
      var opt = el("option", null, item.label); opt.value = item.value; select.appendChild(opt);
    });
    select.value = value;
  }
  function fillOptions() {
    if (!state.options) return;
    var teams = state.options.teams.map(function (x) { return { value: x.id, label: x.name }; });
    fillSelect($("f-village"), t("all_villages"), state.options.villages.map(function (v) {
      return { value: v.code, label: v.label }; }), true);
    fillSelect($("f-team"), t("all_teams"), teams, true);
    fillSelect($("reassign-team"), null, teams, true);
  }
  ["f-village", "f-team"].forEach(function (id) {
    $(id).addEventListener("change", function () { state.seen = null; poll(); });
  });
  TABS.forEach(function (tab) {
    $("tab-" + tab).addEventListener("click", function () {
      state.tab = tab; render(); if (tab === "resolved") poll();
    });
  });

  // --- polling ----------------------------------------------------------------------------
  function query(st) {
    var q = "?state=" + st;
    if ($("f-village").value) q += "&village=" + encodeURIComponent($("f-village").value);
    if ($("f-team").value) q += "&team=" + encodeURIComponent($("f-team").value);
    return "/staff/api/cases" + q;
  }
  function poll() {
    if (!state.me) return;
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    if (state.busy) { state.timer = setTimeout(poll, 200); return; }
    state.busy = true;
    var jobs = [api(query("active")).then(function (d) { arrived(d.cases); state.active = d.cases; })];
    if (state.tab === "resolved") jobs.push(api(query("resolved")).then(function (d) { state.resolved = d.cases; }));
    if (state.caseId !== null) jobs.push(loadCase(state.caseId));
    Promise.all(jobs).catch(function () {}).then(function () {
      state.busy = false; render();
      if (state.me) state.timer = setTimeout(poll, POLL_MS);
    });
  }
  function arrived(cases) {
    var ids = cases.map(function (c) { return c.id; });
    if (state.seen !== null) {
      var fresh = ids.filter(function (id) { return state.seen.indexOf(id) < 0; });
      state.fresh = (state.fresh || []).concat(fresh);
    } else state.fresh = [];
    state.seen = ids;
  }

  // --- the inbox --------------------------------------------------------------------------
  function tabOf(c) {
    if (c.state === "open") return "open";
    if (c.state === "claimed") return c.waiting === "resident" ? "waiting" : "claimed";
    return "resolved";
  }
  function teamName(id) {
    var team = (state.options ? state.options.teams : []).filter(function (x) { return x.id === id; })[0];
    return team ? team.name : id;
  }
  function timers(c) {
    var out = [];
    if (c.state === "open" || c.state === "claimed") out.push(t("waited", { time: span(now() - Date.parse(c.last_at)) }));
    if (c.state === "open") {
      var due = Date.parse(c.due_at);
      if (due > now()) out.push(t("answer_from", { time: clock(c.due_at) }));
      if (c.remind_at) out.push(t("remind_in", { time: span(Date.parse(c.remind_at) - now()) }));
      else out.push(t("reminded"));
      if (c.escalate_at) {
        out.push(t("escalate_in", { team: teamName(state.options && state.options.fallback || ""),
                                    time: span(Date.parse(c.escalate_at) - now()) }));
      }
    }
    if (c.escalated_team) out.push(t("escalated", { team: teamName(c.escalated_team) }));
    return out.join(" · ");
  }
  function renderInbox() {
    var lists = { open: [], claimed: [], waiting: [], resolved: state.resolved };
    state.active.forEach(function (c) { lists[tabOf(c)].push(c); });
    TABS.forEach(function (tab) {
      var b = $("tab-" + tab);
      b.textContent = t("tab_" + tab) + (tab === "resolved" ? "" : " (" + lists[tab].length + ")");
      b.setAttribute("aria-selected", String(tab === state.tab));
    });
    var waiting = lists.open.length;
    document.title = (waiting ? "(" + waiting + ") " : "") + t("title");
    var ul = $("cases");
    ul.textContent = "";
    lists[state.tab].forEach(function (c) {
      var li = el("li", "case-row" + ((state.fresh || []).indexOf(c.id) >= 0 ? " new" : "") +
                  (c.id === state.caseId ? " current" : ""));
      li.dataset.id = c.id;
      var a = el("a"); a.href = "#case/" + c.id;
      var head = el("span", "head", t("case", { id: c.id }) + " · " + (c.village_label || "?") + " · " + c.team_name);
      a.appendChild(head);
      a.appendChild(el("span", "who", c.claimed_by ? t("claimed_by", { name: c.claimed_by }) : t("unclaimed")));
      a.appendChild(el("span", "timers", timers(c)));
      a.appendChild(el("span", "preview", c.preview));
      li.appendChild(a);
      ul.appendChild(li);
    });
    show("empty", lists[state.tab].length === 0);
  }

  // --- one case ---------------------------------------------------------------------------
  function loadCase(id) {
    return api("/staff/api/cases/" + id).then(function (d) { if (state.caseId === d.id) state.detail = d; },
      function (err) {
        if (err.status === 403 || err.status === 404) {
          state.detail = null; $("case-error").textContent = t(err.status === 403 ? "forbidden" : "not_found");
        }
        throw err;
      });
  }
  function fact(dl, name, value) {
    if (!value) return;
    dl.appendChild(el("dt", null, t(name)));
    dl.appendChild(el("dd", null, value));
  }
  function renderCase() {
    var d = state.detail;
    show("case", state.caseId !== null);
    document.body.classList.toggle("reading", state.caseId !== null);
    if (state.caseId === null) return;
    $("case-title").textContent = t("case", { id: state.caseId });
    var actions = document.querySelectorAll("#case .actions button, #reply-form button, #reply-text, #reassign-team");
    if (!d || d.id !== state.caseId) {
      $("case-state").textContent = ""; $("case-facts").textContent = ""; $("thread").textContent = ""; $("thread").dataset.key = "";
      Array.prototype.forEach.call(actions, function (b) { b.disabled = true; });
      return;
    }
    $("case-state").textContent = t("state_" + d.state) + (d.claimed_by && d.state !== "open" ?
      " · " + t("claimed_by", { name: d.claimed_by }) : "") + (timers(d) ? " · " + timers(d) : "");
    var dl = $("case-facts"); dl.textContent = "";
    fact(dl, "village", d.village_label);
    fact(dl, "team", d.team_name + (d.escalated_team ? " → " + teamName(d.escalated_team) : ""));
    fact(dl, "channel", d.channel);
    fact(dl, "lang", d.language);
    fact(dl, "reason", t("reason_" + d.reason));
    if (d.flow_title) fact(dl, "doing", d.flow_title + (d.step ? " — " + t("step", { n: d.step, total: d.steps }) : ""));
    if (d.tried.length) { dl.appendChild(el("dt", null, "")); dl.appendChild(el("dd", null, t("tried", { steps: d.tried.join(", ") }))); }
    var ol = $("thread"), key = d.id + ":" + d.messages.length + ":" + lang;
    if (ol.dataset.key !== key) {  // rebuilt only when a message came (photos are not fetched again)
      ol.dataset.key = key; ol.textContent = "";
      d.messages.forEach(function (m) {
        var li = el("li", "from-" + m.from);
        var who = m.from === "staff" ? (m.author || "") : t("from_" + m.from);
        li.appendChild(el("span", "meta", who + " · " + clock(m.at)));
        li.appendChild(el("span", "text", m.file ? t(m.kind === "image" ? "photo" : "voice") : m.text));
        if (m.file && m.kind === "image") {
          var a = el("a"); a.href = m.file; a.target = "_blank"; a.rel = "noopener";
          var img = el("img", "photo"); img.src = m.file; img.alt = t("photo"); a.appendChild(img); li.appendChild(a);
        } else if (m.file) {
          var audio = el("audio"); audio.controls = true; audio.src = m.file; audio.preload = "none";
          li.appendChild(audio);
        }
        ol.appendChild(li);
      });
    }
    Array.prototype.forEach.call(actions, function (b) { b.disabled = !d.may_act; });
    show("claim", d.state === "open");
    $("reply-hint").textContent = d.may_act ? t("reply_hint") : t("ended");
    var quick = $("quick");
    Array.prototype.slice.call(quick.querySelectorAll("button")).forEach(function (b) { quick.removeChild(b); });
    (state.options ? state.options.replies : []).forEach(function (q) {
      var b = el("button", "quick", q.label[lang] || q.label.vi);
      b.type = "button"; b.disabled = !d.may_act; b.dataset.id = q.id;
      b.addEventListener("click", function () {
        var text = q.text[d.language] || q.text.vi, box = $("reply-text");
        box.value = box.value ? box.value.replace(/\s*$/, "") + "\n" + text : text;
        box.focus();
      });
      quick.appendChild(b);
    });
  }
  function render() { if (state.me) { renderInbox(); renderCase(); } }

  function act(path, body) {
    var id = state.caseId;
    $("case-error").textContent = "";
    return api("/staff/api/cases/" + id + "/" + path, body || {}).then(function (d) {
      state.detail = d; render(); poll(); return d;
    }, function (err) {
      if (err.status !== 401) {
        $("case-error").textContent = err.status === 403 ? t("forbidden") : (err.message || t("failed"));
      }
      throw err;
    });
  }
  $("claim").addEventListener("click", function () { act("claim").catch(function () {}); });
  $("resolve").addEventListener("click", function () { act("resolve").catch(function () {}); });
  $("handback").addEventListener("click", function () { act("handback").catch(function () {}); });
  $("reassign").addEventListener("click", function () {
    act("reassign", { team: $("reassign-team").value }).catch(function () {});
  });
  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = $("reply-text"), text = box.value.trim();
    if (!text) return;
    $("reply-send").disabled = true;
    act("reply", { text: text }).then(function () { box.value = ""; }, function () {}).then(function () {
      $("reply-send").disabled = !(state.detail && state.detail.may_act);
    });
  });
  $("back").addEventListener("click", function () { location.hash = ""; });

  // --- routing: #case/N opens a case; the inbox stays beside it on a wide screen -------------
  function route() {
    var m = /^#case\/(\d+)$/.exec(location.hash);
    var id = m ? parseInt(m[1], 10) : null;
    if (id !== state.caseId) {
      state.caseId = id; state.detail = null; $("case-error").textContent = ""; $("reply-text").value = "";
      state.fresh = (state.fresh || []).filter(function (x) { return x !== id; });
      render();
      if (id !== null && state.me) loadCase(id).then(render, function () { render(); });
    }
  }
  window.addEventListener("hashchange", route);

  label();
  loadMe();
})();
