// What every commune staff page (/staff/dashboard, /staff/community, /staff/announce) shares: its strings in the
// chosen language (?lang=en), $, el, notice, the JSON API with the CSRF token, and signing in (who is there,
// with which role). Loaded before the page's own script; text from the server is only ever set as textContent.
"use strict";

window.staff = (function () {
  var ALL = JSON.parse(document.getElementById("strings").textContent);
  var lang = new URLSearchParams(location.search).get("lang") === "en" && ALL.en ? "en" : "vi";
  var S = ALL[lang];
  var csrf = "";

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
  // A JSON request in the page's language; rejects with an Error whose `shown` is true when the server said why.
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang, opts).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) { var e = new Error(b.error || S.failed); e.shown = Boolean(b.error); throw e; }
        return b;
      });
    });
  }
  // The page's title and every [data-s] element's text.
  function label(title) {
    document.documentElement.lang = lang;
    document.title = title;
    $("title").textContent = title;
    document.querySelectorAll("[data-s]").forEach(function (node) { node.textContent = S[node.dataset.s]; });
  }
  // Who is there: resolves with /staff/api/me for staff and admin accounts; otherwise says why and resolves null.
  function signIn() {
    return fetch("/staff/api/me", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { notice(S.login_first, true); return null; }
      if (!r.ok) throw new Error("failed");
      return r.json();
    }).then(function (me) {
      if (!me) return null;
      csrf = me.csrf;
      $("who").textContent = me.username;
      if (me.role !== "staff" && me.role !== "admin") { notice(S.forbidden); return null; }
      return me;
    }).catch(function () { notice(S.failed); return null; });
  }

  return { ALL: ALL, lang: lang, S: S, $: $, el: el, notice: notice, api: api, label: label, signIn: signIn,
           csrf: function () { return csrf; } };
})();
