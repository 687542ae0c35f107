// The web chat page. Who is talking is the server's HttpOnly cookie `chat_session` (the page never sees
// the token). Requests go one at a time, each with the latest `ack`, so a team's message that a poll
// and a POST would both bring is shown once; every message carries an id, so a retry applies once.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var input = document.getElementById("text");
  var langButton = document.getElementById("lang");
  localStorage.removeItem("trolyso-user");  // the old page's client-chosen id: no longer an identity
  var language = localStorage.getItem("trolyso-lang") || "vi";
  var ui = {
    vi: { placeholder: "Nhập câu hỏi…", send: "Gửi", other: "EN", wait: "Mạng chậm, bạn thử lại nhé." },
    en: { placeholder: "Type your question…", send: "Send", other: "VI", wait: "Connection problem, please try again." }
  };
  function applyLanguage() {
    document.documentElement.lang = language;
    input.placeholder = ui[language].placeholder;
    document.getElementById("send").textContent = ui[language].send;
    langButton.textContent = ui[language].other;
  }
  function add(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }
  function addButtons(buttons) {
    if (!buttons || !buttons.length) return;
    var row = document.createElement("div");
    row.className = "buttons";
    buttons.forEach(function (b) {
      var el = document.createElement("button");
      el.type = "button";
      el.textContent = b.label;
      el.addEventListener("click", function () { add(b.label, "me"); send({ payload: b.payload }); });
      row.appendChild(el);
    });
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }
  function showError(text) {
    var e = document.createElement("div");
    e.className = "error";
    e.textContent = text;
    log.appendChild(e);
  }
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
  // One request at a time, in order: each starts when the previous one has answered.
  var queue = Promise.resolve();
  function enqueue(job) {
    queue = queue.then(job, job);
    return queue;
  }
  function request(body) {
    body.ack = ack;
    return fetch("/api/chat", { method: "POST", credentials: "same-origin",
                                headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); });
  }
  function send(body) {
    body.id = messageId();
    return enqueue(function () {
      // One retry with the same id after a network failure: the server applies the message once.
      return request(body).catch(function () { return request(body); })
        .then(function (res) {
          if (!res.ok) { showError(res.data.error || ui[language].wait); return; }
          if (res.data.state && res.data.state.language && res.data.state.language !== language) {
            language = res.data.state.language; localStorage.setItem("trolyso-lang", language); applyLanguage();
          }
          res.data.replies.forEach(function (r) { add(r.text, "bot"); addButtons(r.buttons); });
          acknowledge(res.data);
        })
        .catch(function () { showError(ui[language].wait); });
    });
  }
  document.getElementById("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    add(text, "me");
    input.value = "";
    send({ text: text });
  });
  langButton.addEventListener("click", function () {
    language = language === "vi" ? "en" : "vi";
    localStorage.setItem("trolyso-lang", language);
    applyLanguage();
    send({ payload: "lang:" + language, lang: language });
  });
  // A person of the village team may answer at any time: collect their messages every few seconds.
  function poll() {
    enqueue(function () {
      return fetch("/api/chat/poll?ack=" + encodeURIComponent(ack), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { replies: [] }; })
        .then(function (data) {
          data.replies.forEach(function (r) { add(r.text, "bot"); addButtons(r.buttons); });
          acknowledge(data);
        })
        .catch(function () {});
    }).then(function () { setTimeout(poll, 4000); });
  }
  applyLanguage();
  if (!log.children.length) send({ payload: "menu", lang: language });
  setTimeout(poll, 4000);
})();
