// Announcements from the browser (/staff/announce): compose, preview (recipient count and the message per
// language), send through the broadcast queue, then poll the counts for the progress bar until it is finished.
// Every change to the text or the villages asks for a new preview before sending.
"use strict";

(function () {
  var ALL = staff.ALL, lang = staff.lang, S = staff.S, $ = staff.$, el = staff.el, notice = staff.notice;
  var me = null;
  var current = null;  // the announcement followed in the progress box
  var timer = null;

  var api = staff.api;

  staff.label(S.announce);

  function composed() {
    var villages = Array.from(document.querySelectorAll("#villages input:checked"))
      .map(function (c) { return c.value; }).filter(Boolean);
    var chosen = Array.from(document.querySelectorAll("#channels input:checked")).map(function (c) { return c.value; });
    return { text_vi: $("text-vi").value, text_en: $("text-en").value, topic: $("topic").value,
             villages: villages, channels: chosen, at: $("at").value };
  }
  function stale() {
    $("preview-box").hidden = true;
    if ($("text-vi").value.trim()) { $("compose-result").textContent = S.changed; }
  }
  function villages(form) {
    var box = $("villages");
    Array.from(box.querySelectorAll("label")).forEach(function (l) { l.remove(); });
    var options = (form.member.whole_commune ? [{ code: "", name: S.whole_commune }] : []).concat(form.villages);
    options.forEach(function (v) {
      var label = el("label", null, "check");
      var input = el("input");
      input.type = "checkbox";
      input.value = v.code;
      input.name = "village";
      input.addEventListener("change", function () {
        if (v.code === "" && input.checked) {  // the whole commune: no village ticked
          box.querySelectorAll("input").forEach(function (o) { if (o !== input) o.checked = false; });
        } else if (input.checked) {
          var all = box.querySelector("input[value='']");
          if (all) all.checked = false;
        }
        stale();
      });
      label.appendChild(input);
      label.appendChild(el("span", v.name + (v.code ? " (" + v.code + ")" : "")));
      box.appendChild(label);
    });
  }

  function channels(form) {
    var box = $("channels");
    form.channels.forEach(function (ch) {
      var label = el("label", null, "check");
      var input = el("input");
      input.type = "checkbox";
      input.value = ch;
      input.name = "channel";
      input.checked = true;
      input.addEventListener("change", stale);
      label.appendChild(input);
      label.appendChild(el("span", ch));
      box.appendChild(label);
    });
  }

  function statusText(b) { return "#" + b.id + " · " + (S["st_" + b.status] || b.status); }
  function follow(b) {
    current = b;
    $("progress-box").hidden = false;
    $("state").textContent = statusText(b);
    $("bar").value = b.percent;
    $("percent").textContent = b.percent + "%";
    $("counts").textContent = S.recipients + ": " + b.recipients + " · " + S.sent + ": " + b.sent + " · " +
      S.not_delivered + ": " + b.failed + " · " + S.waiting + ": " + b.pending + " · " + S.skipped + ": " + b.skipped;
    $("approve").hidden = !(b.status === "awaiting_approval" && me.member.approver && b.author !== me.member.id);
    $("cancel").hidden = b.finished;
    $("report").textContent = b.report || "";
    document.body.dataset.status = b.status;
    document.body.dataset.percent = String(b.percent);
    clearTimeout(timer);
    if (!b.finished) {
      timer = setTimeout(function () {
        api("GET", "/staff/api/announce/" + b.id).then(follow).catch(function (e) { $("report").textContent = e.shown ? e.message : S.failed; });
      }, 700);
    } else {
      recent();
    }
  }

  // Announcements that wait for this approver (someone else's, with approval_required): open or approve here.
  function awaiting(list) {
    var t = $("t-awaiting");
    t.replaceChildren();
    (list || []).forEach(function (b) {
      var tr = el("tr");
      tr.dataset.id = String(b.id);
      tr.appendChild(el("td", "#" + b.id));
      tr.appendChild(el("td", b.author));
      tr.appendChild(el("td", b.villages.length ? b.villages.join(", ") : S.whole_commune));
      tr.appendChild(el("td", (b.text_vi || "").slice(0, 120)));
      var td = el("td");
      var open = el("button", S.open, "small");
      open.type = "button";
      open.addEventListener("click", function () { follow(b); });
      var approve = el("button", S.approve, "small approve");
      approve.type = "button";
      approve.addEventListener("click", function () {
        approve.disabled = true;
        api("POST", "/staff/api/announce/" + b.id + "/approve").then(follow)
          .catch(function (e) { approve.disabled = false; $("report").textContent = e.shown ? e.message : S.failed; });
      });
      td.appendChild(open);
      td.appendChild(approve);
      tr.appendChild(td);
      t.appendChild(tr);
    });
    $("awaiting-box").hidden = !(list && list.length);
  }

  function recent() {
    return api("GET", "/staff/api/announce").then(function (form) {
      awaiting(form.awaiting);
      var t = $("t-recent");
      t.replaceChildren();
      form.recent.forEach(function (b) {
        var tr = el("tr");
        tr.appendChild(el("td", statusText(b)));
        tr.appendChild(el("td", b.author));
        tr.appendChild(el("td", b.villages.length ? b.villages.join(", ") : S.whole_commune));
        tr.appendChild(el("td", (b.text_vi || "").slice(0, 80)));
        tr.appendChild(el("td", b.sent + "/" + b.recipients, "n"));
        var open = el("button", S.open, "small");
        open.type = "button";
        open.addEventListener("click", function () { follow(b); });
        var td = el("td"); td.appendChild(open); tr.appendChild(td);
        t.appendChild(tr);
      });
      return form;
    });
  }

  ["text-vi", "text-en", "topic", "at"].forEach(function (id) { $(id).addEventListener("input", stale); });

  $("preview").addEventListener("click", function () {
    $("compose-result").textContent = S.loading;
    $("compose-result").className = "result";
    api("POST", "/staff/api/announce/preview", composed()).then(function (p) {
      $("compose-result").textContent = "";
      var parts = Object.keys(p.by_channel).map(function (ch) { return ch + ": " + p.by_channel[ch]; });
      $("recipients").textContent = S.will_reach.replace("{n}", p.recipients) + " (" + parts.join(", ") + ")";
      $("recipients").dataset.n = String(p.recipients);
      var box = $("previews");
      box.replaceChildren();
      p.previews.forEach(function (pv) {
        var card = el("div", null, "preview");
        card.dataset.language = pv.language;
        card.appendChild(el("p", S.preview_lang.replace("{lang}", (ALL[pv.language] || {}).name || pv.language), "hint"));
        card.appendChild(el("pre", pv.text));
        card.appendChild(el("p", pv.buttons.map(function (b) { return "[" + b + "]"; }).join(" "), "hint"));
        box.appendChild(card);
      });
      $("preview-box").hidden = false;
    }).catch(function (e) { $("compose-result").textContent = e.shown ? e.message : S.failed; $("compose-result").className = "result error"; });
  });

  $("send").addEventListener("click", function () {
    $("send").disabled = true;
    api("POST", "/staff/api/announce", composed()).then(function (b) {
      $("preview-box").hidden = true;
      $("compose-result").textContent = statusText(b);
      follow(b);
    }).catch(function (e) { $("compose-result").textContent = e.shown ? e.message : S.failed; $("compose-result").className = "result error"; })
      .then(function () { $("send").disabled = false; });
  });
  $("cancel").addEventListener("click", function () {
    if (current) api("POST", "/staff/api/announce/" + current.id + "/cancel").then(follow)
      .catch(function (e) { $("report").textContent = e.shown ? e.message : S.failed; });
  });
  $("approve").addEventListener("click", function () {
    if (current) api("POST", "/staff/api/announce/" + current.id + "/approve").then(follow)
      .catch(function (e) { $("report").textContent = e.shown ? e.message : S.failed; });
  });

  staff.signIn().then(function (who) {
    if (!who) return null;
    return recent().then(function (form) {
      me = form;
      if (!form.member) { notice(S.not_linked); return; }
      $("author").textContent = form.member.name + " (" + form.member.id + ")";
      villages(form);
      channels(form);
      $("board").hidden = false;
      document.body.dataset.loaded = String(Date.now());
      if (form.member.approver) setInterval(recent, 15000);  // new ones to approve show up by themselves
    });
  }).catch(function () { notice(S.failed); });
})();
