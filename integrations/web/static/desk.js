// The team desk: log in, then work cases through /staff/api/ (the same API scripts use).
(function () {
  "use strict";
  var ui = {
    vi: { wrong: "Sai tên đăng nhập hoặc mật khẩu.", many: "Thử quá nhiều lần. Hãy đợi một phút.",
          failed: "Không kết nối được. Hãy thử lại." },
    en: { wrong: "Wrong name or password.", many: "Too many attempts. Wait a minute.",
          failed: "Could not connect. Please try again." }
  };
  var lang = (navigator.language || "vi").slice(0, 2) === "en" ? "en" : "vi";
  var t = ui[lang];
  var state = { me: null };
  window.desk = state;

  function show(id, on) { document.getElementById(id).hidden = !on; }

  function loggedIn(me) {
    state.me = me;
    document.getElementById("who").textContent = me.username + " (" + me.role + ")";
    document.getElementById("csrf").value = me.csrf;
    show("login", false); show("logout", true); show("desk", true);
    document.dispatchEvent(new CustomEvent("desk:ready", { detail: me }));
  }

  function loggedOut() {
    state.me = null;
    document.getElementById("who").textContent = "";
    show("login", true); show("logout", false); show("desk", false);
  }

  function loadMe() {
    return fetch("/staff/api/me", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 200) return r.json().then(loggedIn);
      loggedOut();
    }).catch(loggedOut);
  }

  document.getElementById("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var error = document.getElementById("login-error");
    error.textContent = "";
    var body = new URLSearchParams(new FormData(ev.target));
    fetch("/staff/login", { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (r.ok) { document.getElementById("password").value = ""; return loadMe(); }
      error.textContent = r.status === 429 ? t.many : r.status === 401 ? t.wrong : t.failed;
    }).catch(function () { error.textContent = t.failed; });
  });

  loadMe();
})();
