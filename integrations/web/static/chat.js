// The web chat page. Who is talking is the server's HttpOnly cookie `chat_session` (the page never sees
// the token). Every message gets an id and waits in an outbox kept in localStorage until the server has
// answered it, so a message typed offline (or in a tab closed too early) is sent later, in order, once.
// Requests go one at a time, each with the latest `ack`, so a team's message that a poll and a POST
// would both bring is shown once. A button press carries the position (`at`) its reply was shown at:
// the server ignores it when the conversation has moved on (a double tap or an old button acts once).
(function () {
  "use strict";
  var strings = JSON.parse(document.getElementById("strings").textContent);
  var log = document.getElementById("log");
  var input = document.getElementById("text");
  var langButton = document.getElementById("lang");
  var smaller = document.getElementById("smaller");
  var larger = document.getElementById("larger");
  var banner = document.getElementById("offline");
  var typing = document.getElementById("typing");
  var SPEECH = { vi: "vi-VN", en: "en-US" };
  var SIZES = [100, 112.5, 125, 150, 175, 200];  // percent of the phone's own font size
  localStorage.removeItem("trolyso-user");  // the old page's client-chosen id: no longer an identity

  function pick(code) {
    code = (code || "").slice(0, 2).toLowerCase();
    return strings[code] ? code : (strings.vi ? "vi" : Object.keys(strings)[0]);
  }
  // The phone's language until the resident chooses one (the choice is kept here and on the server).
  var language = pick(localStorage.getItem("trolyso-lang") || navigator.language);
  var ui = strings[language];

  function applyLanguage() {
    ui = strings[language];
    document.documentElement.lang = language;
    document.title = ui.title;
    document.getElementById("title").textContent = ui.title;
    input.placeholder = ui.placeholder;
    input.setAttribute("aria-label", ui.message);
    document.getElementById("send").textContent = ui.send;
    document.getElementById("attach").setAttribute("aria-label", ui.attach);
    document.getElementById("attach").title = ui.attach;
    log.setAttribute("aria-label", ui.conversation);
    var other = Object.keys(strings).filter(function (c) { return c !== language; })[0];
    langButton.hidden = !other;
    if (other) {
      langButton.textContent = strings[other].name;
      langButton.lang = other;
      langButton.setAttribute("aria-label", ui.language + ": " + strings[other].name);
    }
    smaller.setAttribute("aria-label", ui.smaller);
    larger.setAttribute("aria-label", ui.larger);
    banner.textContent = ui.offline;
    typing.textContent = ui.typing;
    Array.prototype.forEach.call(log.querySelectorAll(".read"), function (b) { b.textContent = ui.read; });
    Array.prototype.forEach.call(log.querySelectorAll(".note"), function (n) { n.textContent = ui.queued; });
  }

  // A-/A+: the root font size, kept across visits; everything is sized in rem.
  var size = parseFloat(localStorage.getItem("trolyso-size"));
  if (SIZES.indexOf(size) < 0) size = 112.5;
  function applySize() {
    document.documentElement.style.fontSize = size + "%";
    smaller.disabled = size === SIZES[0];
    larger.disabled = size === SIZES[SIZES.length - 1];
  }
  function resize(step) {
    size = SIZES[Math.max(0, Math.min(SIZES.length - 1, SIZES.indexOf(size) + step))];
    localStorage.setItem("trolyso-size", String(size));
    applySize();
  }
  smaller.addEventListener("click", function () { resize(-1); });
  larger.addEventListener("click", function () { resize(1); });

  function scroll() { log.scrollTop = log.scrollHeight; }
  function speak(text, lang) {
    window.speechSynthesis.cancel();
    var u = new SpeechSynthesisUtterance(text);
    u.lang = SPEECH[lang] || lang;
    window.speechSynthesis.speak(u);
  }
  function bubble(text, who, lang) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    var span = document.createElement("span");
    span.textContent = text;
    div.appendChild(span);
    if (who === "bot" && "speechSynthesis" in window) {
      var read = document.createElement("button");
      read.type = "button";
      read.className = "read";
      read.textContent = ui.read;
      read.addEventListener("click", function () { speak(text, lang); });
      div.appendChild(read);
    }
    log.appendChild(div);
    scroll();
    return div;
  }
  // Only the newest reply's buttons act: the others are shown disabled.
  function retire() {
    Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) { b.disabled = true; });
  }
  function addButtons(buttons, at) {
    if (!buttons || !buttons.length) return;
    var row = document.createElement("div");
    row.className = "buttons";
    row.setAttribute("role", "group");
    buttons.forEach(function (b) {
      var el = document.createElement("button");
      el.type = "button";
      el.textContent = b.label;
      el.addEventListener("click", function () {
        if (el.disabled) return;
        retire();
        var body = { payload: b.payload };
        if (at) body.at = at;
        submit(body, b.label);
      });
      row.appendChild(el);
    });
    log.appendChild(row);
    scroll();
  }
  function showReplies(replies, at, lang) {
    if (replies.length) retire();
    replies.forEach(function (r) { bubble(r.text, "bot", lang); addButtons(r.buttons, at); });
  }
  function showError(text) {
    var e = document.createElement("div");
    e.className = "error";
    e.setAttribute("role", "alert");
    e.textContent = text;
    log.appendChild(e);
    scroll();
  }
  function setOnline(online) { banner.hidden = online; }

  // Where the page is in the messages a person sent it (acknowledged with every request, so one
  // lost on the way comes again).
  var ack = localStorage.getItem("trolyso-ack") || "";
  function acknowledge(data) {
    if (typeof data.ack === "string") { ack = data.ack; localStorage.setItem("trolyso-ack", ack); }
  }
  function messageId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var outbox = [];
  try { outbox = JSON.parse(localStorage.getItem("trolyso-outbox") || "[]"); } catch (e) { outbox = []; }
  var shown = {};  // message id -> its bubble, marked "waiting" until the server has it
  function saveOutbox() { localStorage.setItem("trolyso-outbox", JSON.stringify(outbox)); }
  function showMine(item) {
    if (!item.label) return;
    var div = bubble(item.label, "me");
    shown[item.id] = div;
    if (banner.hidden) return;
    queued(div);
  }
  function queued(div) {
    if (div.querySelector(".note")) return;
    div.classList.add("queued");
    var note = document.createElement("span");
    note.className = "note";
    note.textContent = ui.queued;
    div.appendChild(note);
  }
  function delivered(id) {
    var div = shown[id];
    if (!div) return;
    div.classList.remove("queued");
    var note = div.querySelector(".note");
    if (note) div.removeChild(note);
    delete shown[id];
  }
  function submit(body, label) {
    body.id = messageId();
    var item = { id: body.id, body: body, label: label };
    outbox.push(item);
    saveOutbox();
    showMine(item);
    flush();
  }

  var busy = false;  // one request at a time: the outbox's head, or a poll
  var retryTimer = null;
  function retryLater(ms) {
    if (retryTimer === null) retryTimer = setTimeout(function () { retryTimer = null; flush(); }, ms);
  }
  function flush() {
    if (busy || !outbox.length) return;
    busy = true;
    var item = outbox[0];
    var body = JSON.parse(JSON.stringify(item.body));
    body.ack = ack;
    body.locale = navigator.language || "";
    var timer = setTimeout(function () { typing.hidden = false; }, 300);
    var retry = 0;
    fetch("/api/chat", { method: "POST", credentials: "same-origin",
                         headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        setOnline(true);
        if (r.status === 429 || r.status === 503) { retry = 5000; return null; }
        return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, data: data }; });
      })
      .then(function (res) {
        if (!res) return;
        // An answer cut off on the way: the message goes again with its id, and the server answers it again.
        if (res.ok && !Array.isArray(res.data.replies)) { retry = 3000; return; }
        outbox.shift();
        saveOutbox();
        delivered(item.id);
        if (!res.ok) { showError(res.data.error || ui.wait); return; }
        var data = res.data;
        if (data.state && data.state.language && strings[data.state.language] && data.state.language !== language) {
          language = data.state.language;
          applyLanguage();
        }
        if (data.stale && !data.replies.length) showError(ui.old);
        showReplies(data.replies, data.at, language);
        acknowledge(data);
      }, function () {
        // No network: the message stays in the outbox and goes with the same id when it is back.
        setOnline(false);
        Object.keys(shown).forEach(function (id) { queued(shown[id]); });
        retry = 3000;
      })
      .then(function () {
        clearTimeout(timer);
        typing.hidden = true;
        busy = false;
        if (retry) retryLater(retry); else flush();
      });
  }
  window.addEventListener("offline", function () { setOnline(false); });
  window.addEventListener("online", function () { flush(); });

  // A person of the village team may answer at any time: collect their messages every few seconds.
  function poll() {
    if (busy || outbox.length) { setTimeout(poll, 4000); return; }
    busy = true;
    fetch("/api/chat/poll?ack=" + encodeURIComponent(ack), { credentials: "same-origin" })
      .then(function (r) { setOnline(true); return r.ok ? r.json() : { replies: [] }; })
      .then(function (data) { showReplies(data.replies, null, language); acknowledge(data); },
            function () { setOnline(false); })
      .then(function () { busy = false; flush(); setTimeout(poll, 4000); });
  }

  // A photo or a voice note for the team (kept only with a case open; the server says what to do otherwise).
  var fileInput = document.getElementById("file");
  var MAX_FILE = 10 * 1024 * 1024;
  document.getElementById("attach").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > MAX_FILE) { showError(ui.tooBig); return; }  // the server refuses it too (413)
    var body = new FormData();
    body.append("file", file);
    bubble("📎", "me", language);
    fetch("/api/chat/upload", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 413) return { tooBig: true };
        return r.json().catch(function () { return {}; });
      })
      .then(function (data) {
        if (data.tooBig) showError(ui.tooBig);
        else if (data.replies && data.replies.length) showReplies(data.replies, null, language);
        else showError(ui.wait);
      }, function () { showError(ui.wait); });
  });

  document.getElementById("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    retire();
    submit({ text: text }, text);
  });
  langButton.addEventListener("click", function () {
    language = langButton.lang;
    localStorage.setItem("trolyso-lang", language);
    applyLanguage();
    retire();
    submit({ payload: "lang:" + language, lang: language }, null);
  });

  // The conversation so far comes from the server (the resident's own messages, redacted as stored);
  // a first visit gets the assistant's greeting in the phone's language.
  function restore(data) {
    // Messages the server answered before the page closed: their answers are in the history already.
    var answered = (data && data.answered) || [];
    outbox = outbox.filter(function (item) { return answered.indexOf(item.id) < 0; });
    saveOutbox();
    if (data && data.messages.length) {
      if (data.state && strings[data.state.language] && data.state.language !== language) {
        language = data.state.language;
        applyLanguage();
      }
      data.messages.forEach(function (m) { bubble(m.text, m.from === "resident" ? "me" : "bot", language); });
      if (data.resume) { bubble(data.resume.text, "bot", language); addButtons(data.resume.buttons, data.at); }
    } else if (data && !outbox.length) {
      submit({ payload: "intent:greet" }, null);
    }
    outbox.forEach(showMine);
    flush();
    setTimeout(poll, 4000);
  }
  applyLanguage();
  applySize();
  if (!navigator.onLine) setOnline(false);
  busy = true;  // the outbox waits for the history, so restored messages come before new ones
  fetch("/api/chat/history?locale=" + encodeURIComponent(navigator.language || ""), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
    .then(function (data) { busy = false; setOnline(true); restore(data); },
          function () { busy = false; setOnline(false); restore(null); });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(function () {});
})();
