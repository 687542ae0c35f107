"""Announcements from the browser, its API on SQLite: the author is the staff.yml member whose web_username names
the account; villages within their rights; the count and the preview per language before sending; the approval
step; cancel; a team member, an unlinked account and a POST without the CSRF token are refused."""

from __future__ import annotations

from typing import Any

from bot.broadcast import queue
from tests.bot.staff.conftest import login, write_staff
from tests.fakes.broadcast import add_residents

TEXT = {"text_vi": "Điểm dịch vụ công lưu động ở thôn Đại Cường sáng thứ Bảy", "text_en": "Mobile service point"}


async def _csrf(client: Any, username: str) -> dict[str, str]:
    await login(client, username)
    me = await (await client.get("/staff/api/me")).json()
    return {"X-CSRF-Token": me["csrf"]}


async def test_a_team_member_gets_403_and_a_post_needs_the_csrf_token(announce: Any) -> None:
    assert (await announce.get("/staff/api/announce")).status == 401
    h = await _csrf(announce, "lan")
    assert (await announce.get("/staff/api/announce")).status == 403
    r = await announce.post("/staff/api/announce", json={**TEXT, "villages": ["dai-cuong"]}, headers=h)
    assert r.status == 403
    await announce.post("/staff/logout", headers=h)
    h = await _csrf(announce, "minh")
    assert (await announce.post("/staff/api/announce", json={**TEXT, "villages": []})).status == 403
    assert await queue.recent(announce.store) == []


async def test_preview_counts_the_village_and_shows_each_language_then_send_and_cancel(announce: Any) -> None:
    h = await _csrf(announce, "minh")
    form = await (await announce.get("/staff/api/announce")).json()
    assert form["member"] == {"id": "ubnd-xa", "name": "Văn phòng UBND xã", "approver": True, "whole_commune": True}
    assert {"dai-cuong", "dong-lo"} <= {v["code"] for v in form["villages"]}
    r = await announce.post("/staff/api/announce/preview", json={**TEXT, "villages": ["dai-cuong"]}, headers=h)
    p = await r.json()
    assert r.status == 200 and p["recipients"] == 3 and p["by_channel"] == {"telegram": 3, "zalo": 0}
    texts = {pv["language"]: pv for pv in p["previews"]}
    assert texts["vi"]["text"].startswith("📢 Thông báo của xã") and TEXT["text_vi"] in texts["vi"]["text"]
    assert texts["en"]["text"].startswith("📢 Announcement from the commune") and "Mobile service point" in texts["en"][
        "text"]
    assert texts["en"]["buttons"] == ["Stop announcements"]
    everyone = await (await announce.post("/staff/api/announce/preview", json={**TEXT, "villages": []},
                                          headers=h)).json()
    assert everyone["recipients"] == 6
    assert await queue.recent(announce.store) == []  # a preview records nothing

    r = await announce.post("/staff/api/announce", json={**TEXT, "villages": ["dai-cuong"], "topic": "schedule"},
                            headers=h)
    b = await r.json()
    assert r.status == 200 and (b["status"], b["author"], b["villages"]) == ("scheduled", "ubnd-xa", ["dai-cuong"])
    started = await queue.start_due(announce.store, ["telegram"])
    assert started == [b["id"]]
    s = await (await announce.get(f"/staff/api/announce/{b['id']}")).json()
    assert (s["status"], s["recipients"], s["pending"], s["percent"], s["finished"]) == ("sending", 3, 3, 0, False)
    c = await (await announce.post(f"/staff/api/announce/{b['id']}/cancel", headers=h)).json()
    assert (c["status"], c["skipped"], c["pending"], c["finished"]) == ("cancelled", 3, 0, True)
    assert f"#{b['id']}" in c["report"]
    assert (await announce.get("/staff/api/announce/999")).status == 404


async def test_rights_from_staff_yml_and_the_approval_step(announce: Any) -> None:
    h = await _csrf(announce, "thu")
    form = await (await announce.get("/staff/api/announce")).json()
    assert [v["code"] for v in form["villages"]] == ["dai-cuong"] and not form["member"]["whole_commune"]
    for villages in (["dong-lo"], [], ["dai-cuong", "dong-lo"]):
        r = await announce.post("/staff/api/announce", json={**TEXT, "villages": villages}, headers=h)
        assert r.status == 400 and "dai-cuong" in (await r.json())["error"]
    r = await announce.post("/staff/api/announce", json={"text_vi": " ", "villages": ["dai-cuong"]}, headers=h)
    assert r.status == 400

    write_staff(announce.directory, approval=True)
    b = await (await announce.post("/staff/api/announce", json={**TEXT, "villages": ["dai-cuong"]},
                                   headers=h)).json()
    assert b["status"] == "awaiting_approval"
    r = await announce.post(f"/staff/api/announce/{b['id']}/approve", headers=h)
    assert r.status == 400  # not an approver
    assert await queue.start_due(announce.store, ["telegram"]) == []
    assert (await (await announce.get("/staff/api/announce")).json())["awaiting"] == []  # not for its author
    await announce.post("/staff/logout", headers=h)
    h = await _csrf(announce, "minh")
    waiting = (await (await announce.get("/staff/api/announce")).json())["awaiting"]
    assert [(w["id"], w["author"], w["text_vi"]) for w in waiting] == [(b["id"], "doan-thanh-nien", TEXT["text_vi"])]
    a = await (await announce.post(f"/staff/api/announce/{b['id']}/approve", headers=h)).json()
    assert (a["status"], a["approved_by"]) == ("scheduled", "ubnd-xa")
    assert (await (await announce.get("/staff/api/announce")).json())["awaiting"] == []


async def test_an_account_no_member_names_may_not_announce(announce: Any) -> None:
    h = await _csrf(announce, "hoa")
    form = await (await announce.get("/staff/api/announce")).json()
    assert form["member"] is None and form["villages"] == []
    r = await announce.post("/staff/api/announce/preview", json={**TEXT, "villages": []}, headers=h)
    assert r.status == 403 and "web_username" in (await r.json())["error"]
    assert (await announce.post("/staff/api/announce", json={**TEXT, "villages": []}, headers=h)).status == 403


async def test_channels_chosen_for_an_announcement_are_the_only_ones_it_reaches(announce: Any) -> None:
    await add_residents(announce.store, 2, channel="zalo", villages=("dai-cuong",), start=10)
    h = await _csrf(announce, "minh")
    one = {**TEXT, "villages": ["dai-cuong"], "channels": ["zalo"]}
    p = await (await announce.post("/staff/api/announce/preview", json=one, headers=h)).json()
    assert (p["recipients"], p["by_channel"]) == (2, {"zalo": 2})
    both = await (await announce.post("/staff/api/announce/preview", json={**one, "channels": None},
                                      headers=h)).json()
    assert both["by_channel"] == {"telegram": 3, "zalo": 2}
    for bad in ([], ["sms"], "zalo"):
        r = await announce.post("/staff/api/announce/preview", json={**one, "channels": bad}, headers=h)
        assert r.status == 400 and "telegram" in (await r.json())["error"]
    b = await (await announce.post("/staff/api/announce", json=one, headers=h)).json()
    assert b["channels"] == ["zalo"]
    await queue.start_due(announce.store, ["telegram", "zalo"])
    s = await (await announce.get(f"/staff/api/announce/{b['id']}")).json()
    assert s["recipients"] == 2  # the Telegram residents of dai-cuong were left out


async def test_scheduled_for_later_waits_and_refusals_come_in_the_page_language(announce: Any) -> None:
    h = await _csrf(announce, "thu")
    later = {**TEXT, "villages": ["dai-cuong"], "at": "2099-01-02T08:30"}
    b = await (await announce.post("/staff/api/announce", json=later, headers=h)).json()
    assert b["status"] == "scheduled" and b["due_at"] == 4071000600.0  # 08:30 in Hà Nội
    assert await queue.start_due(announce.store, ["telegram"]) == []  # not due yet
    r = await announce.post("/staff/api/announce?lang=en", json={**later, "at": "mai"}, headers=h)
    assert r.status == 400 and (await r.json())["error"] == "Send time mai: expected YYYY-MM-DD HH:MM."
    r = await announce.post("/staff/api/announce?lang=en", json={**later, "villages": ["dong-lo"]}, headers=h)
    assert (await r.json())["error"] == "doan-thanh-nien may announce only to: dai-cuong."
    r = await announce.post("/staff/api/announce", json={**later, "villages": ["dong-lo"]}, headers=h)
    assert (await r.json())["error"] == "doan-thanh-nien chỉ được gửi thông báo tới: dai-cuong."
