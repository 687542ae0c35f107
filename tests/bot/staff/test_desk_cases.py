"""The team desk's case API over HTTP on the real hand-off (SQLite and PostgreSQL): who sees which case,
claim/reply/resolve/hand back/reassign, and what reaches the resident and the team's Telegram group."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from bot.app import Services
from bot.handoff import Staff
from bot.handoff.models import CaseMessage, Outbox
from bot.history import ChatHistory
from bot.staff.desk import attach_desk
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_escalation import SESSION, open_case, say, start
from tests.fakes.commune import MEMBER, Clock, write_commune

PASSWORD = "mật-khẩu-của-tổ-42"


@pytest_asyncio.fixture
async def desk(aiohttp_client: Any, settings: Settings, database_url: str, interpreter: EmbeddedInterpreter,
               tmp_path: Path) -> AsyncIterator[tuple[Any, Services, Clock]]:
    clock = Clock()
    services = await start(settings, database_url, interpreter, write_commune(tmp_path / "commune"), clock)
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(100, 10)), services.mailboxes, ChatHistory(services.pipeline),
                       services.catalogs)
    accounts = attach_desk(app, services)
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "member", ["commune"], PASSWORD)
    await accounts.add("hoa", "staff", ["commune"], PASSWORD)
    client = await aiohttp_client(app)
    yield client, services, clock
    await services.close()


async def login(client: Any, username: str) -> str:
    """Log in (the client's cookie jar keeps one session at a time) and return the CSRF token."""
    client.session.cookie_jar.clear()
    r = await client.post("/staff/login", data={"username": username, "password": PASSWORD}, allow_redirects=False)
    assert r.status == 303
    return str((await (await client.get("/staff/api/me")).json())["csrf"])


async def post(client: Any, path: str, csrf: str, body: dict[str, Any] | None = None) -> Any:
    return await client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf})


async def cases(client: Any, query: str = "") -> list[dict[str, Any]]:
    r = await client.get(f"/staff/api/cases{query}")
    assert r.status == 200
    return list((await r.json())["cases"])


async def test_a_member_sees_their_teams_case_and_another_team_gets_403(desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    await say(services, text="Tôi không đăng nhập được VNeID", message_id="m1")

    await login(client, "lan")
    (row,) = await cases(client)
    assert {k: row[k] for k in ("id", "state", "village", "team", "language", "channel", "claimed_by", "waiting")} \
        == {"id": case_id, "state": "open", "village": "dai-cuong", "team": "dai-cuong", "language": "vi",
            "channel": "web", "claimed_by": None, "waiting": "team"}
    assert row["preview"] == "Tôi không đăng nhập được VNeID" and row["village_label"] == "xã cũ Đại Cường"
    assert row["remind_at"] > row["due_at"] and row["escalate_at"] > row["remind_at"]
    detail = await (await client.get(f"/staff/api/cases/{case_id}")).json()
    assert [m["from"] for m in detail["messages"]][-1] == "resident" and detail["may_act"] is True
    assert await cases(client, "?state=resolved") == [] and len(await cases(client, "?state=all")) == 1
    assert await cases(client, "?village=dai-hung") == [] and len(await cases(client, "?team=dai-cuong")) == 1

    csrf = await login(client, "minh")  # the fallback team's member: not raised to them (yet)
    assert await cases(client) == []
    assert (await client.get(f"/staff/api/cases/{case_id}")).status == 403
    assert (await post(client, f"/staff/api/cases/{case_id}/claim", csrf)).status == 403
    assert (await post(client, f"/staff/api/cases/{case_id}/reply", csrf, {"text": "xin chào"})).status == 403
    assert (await client.get("/staff/api/cases/99999")).status == 404

    await login(client, "hoa")  # commune staff see every case
    assert [c["id"] for c in await cases(client)] == [case_id]


async def test_claim_and_reply_reach_the_resident_once_and_the_telegram_group_sees_them(
        desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    csrf = await login(client, "lan")
    assert (await client.post(f"/staff/api/cases/{case_id}/claim")).status == 403  # no CSRF header
    claimed = await (await post(client, f"/staff/api/cases/{case_id}/claim", csrf)).json()
    assert claimed["state"] == "claimed" and claimed["claimed_by"] == "lan"
    assert (await post(client, f"/staff/api/cases/{case_id}/claim", csrf)).status == 409  # already claimed
    r = await post(client, f"/staff/api/cases/{case_id}/reply", csrf,
                   {"text": "Bác mở Cài đặt giúp cháu, số 0912345678"})
    replied = await r.json()
    assert r.status == 200 and replied["messages"][-1]["from"] == "staff" and replied["messages"][-1]["author"] == "lan"
    assert "0912345678" not in replied["messages"][-1]["text"]  # a member's text is redacted like a resident's
    assert [c["id"] for c in await cases(client, "?state=waiting")] == [case_id]

    page = await (await client.get("/api/chat/poll", params={"session": SESSION})).json()
    texts = [reply["text"] for reply in page["replies"]]
    assert len(texts) == 2 and "lan" in texts[0] and texts[1].startswith("💬 lan") and "Cài đặt" in texts[1]
    again = await (await client.get("/api/chat/poll", params={"session": SESSION})).json()
    assert again["replies"] == []  # each once
    async with services.store.session() as s:
        group = list((await s.execute(select(Outbox.text).where(Outbox.audience == "team", Outbox.kind == "notice")
                                      .order_by(Outbox.id))).scalars())
    assert any("lan" in t and str(case_id) in t for t in group)  # the Telegram group is told who claimed it

    await say(services, text="Cháu ơi vẫn không được", message_id="m2")  # the resident answers: the team's turn
    (row,) = await cases(client)
    assert row["waiting"] == "team" and row["preview"] == "Cháu ơi vẫn không được"
    # A member answering from Telegram shows on the web desk too.
    assert (await services.escalation.reply(case_id, Staff(MEMBER, "Tuấn"), "Bác gửi ảnh màn hình nhé")).ok
    detail = await (await client.get(f"/staff/api/cases/{case_id}")).json()
    assert [(m["from"], m["author"]) for m in detail["messages"][-2:]] == [("resident", None), ("staff", "Tuấn")]


async def test_resolve_hand_back_and_reassign(desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    csrf = await login(client, "lan")
    moved = await (await post(client, f"/staff/api/cases/{case_id}/reassign", csrf, {"team": "commune"})).json()
    assert moved["team"] == "commune" and moved["state"] == "open"
    assert (await client.get(f"/staff/api/cases/{case_id}")).status == 403  # no longer lan's team
    assert (await post(client, f"/staff/api/cases/{case_id}/reassign", csrf, {"team": "x y"})).status == 400

    csrf = await login(client, "minh")
    assert [c["id"] for c in await cases(client)] == [case_id]
    resolved = await (await post(client, f"/staff/api/cases/{case_id}/resolve", csrf)).json()
    assert resolved["state"] == "resolved" and resolved["may_act"] is False and resolved["waiting"] is None
    assert (await post(client, f"/staff/api/cases/{case_id}/reply", csrf, {"text": "còn đó không?"})).status == 409
    assert await cases(client) == [] and [c["id"] for c in await cases(client, "?state=resolved")] == [case_id]


async def test_a_case_raised_to_the_fallback_team_shows_to_its_members(desk: tuple[Any, Services, Clock]) -> None:
    client, services, clock = desk
    case_id = await open_case(services)
    await login(client, "minh")
    assert await cases(client) == []
    clock.advance(minutes=46)
    assert await services.escalation.tick() == 2  # reminded in the team's group, then raised to the commune's
    (row,) = await cases(client)
    assert row["id"] == case_id and row["escalated_team"] == "commune" and row["escalate_at"] is None
    assert row["remind_at"] is None
    csrf = await login(client, "lan")  # the case's own team still has it
    r = await post(client, f"/staff/api/cases/{case_id}/handback", csrf)
    assert r.status == 200 and (await r.json())["state"] == "returned"
    async with services.store.session() as s:
        (back,) = (await s.execute(select(Outbox.text).where(Outbox.audience == "resident",
                                                               Outbox.case_id.is_not(None)))).scalars()
    assert "trợ lý" in back


async def test_bad_requests_are_400_and_quick_replies_come_in_both_languages(desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    csrf = await login(client, "lan")
    assert (await client.get("/staff/api/cases?state=everything")).status == 400
    assert (await client.get("/staff/api/cases/1x")).status == 400
    assert (await post(client, f"/staff/api/cases/{case_id}/reply", csrf, {"text": "   "})).status == 400
    assert (await post(client, f"/staff/api/cases/{case_id}/reply", csrf, {"text": "x" * 4001})).status == 400
    r = await client.post(f"/staff/api/cases/{case_id}/reply", data=b"[1, 2", headers={"X-CSRF-Token": csrf})
    assert r.status == 400
    options = await (await client.get("/staff/api/desk")).json()
    assert {t["id"] for t in options["teams"]} == {"commune", "dai-cuong"} and options["fallback"] == "commune"
    greet = next(q for q in options["replies"] if q["id"] == "greet")
    assert greet["text"]["vi"].startswith("Chào bạn") and greet["text"]["en"].startswith("Hello")
    assert set(greet["label"]) == {"vi", "en"}


async def test_answers_from_telegram_and_the_desk_at_once_reach_the_resident_once_each_in_order(
        desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    csrf = await login(client, "lan")
    await post(client, f"/staff/api/cases/{case_id}/claim", csrf)
    await client.get("/api/chat/poll", params={"session": SESSION})  # the claim notice, read
    for n in range(3):
        web, telegram = await asyncio.gather(
            post(client, f"/staff/api/cases/{case_id}/reply", csrf, {"text": f"Trang web {n}"}),
            services.escalation.reply(case_id, Staff(MEMBER, "Tuấn"), f"Telegram {n}", f"tg:-1002:{n}"))
        assert web.status == 200 and telegram.ok
    async with services.store.session() as s:
        stored = list((await s.execute(select(CaseMessage.text).where(CaseMessage.case_id == case_id)
                                       .order_by(CaseMessage.id))).scalars())
        group = list((await s.execute(select(Outbox.text).where(Outbox.audience == "team", Outbox.kind == "notice")
                                      .order_by(Outbox.id))).scalars())
    assert sorted(stored) == sorted([f"Trang web {n}" for n in range(3)] + [f"Telegram {n}" for n in range(3)])
    polled = await (await client.get("/api/chat/poll", params={"session": SESSION})).json()
    got = [r["text"] for r in polled["replies"]]
    # Both answers, each once, in the order the case recorded them.
    assert [t.split(": ", 1)[1] for t in got] == stored
    assert (await (await client.get("/api/chat/poll", params={"session": SESSION})).json())["replies"] == []
    # The Telegram group sees what was answered at the web desk (its own members' answers it has already).
    assert [t for t in group if "trang web của tổ" in t] == [f"💬 lan (trang web của tổ): Trang web {n}"
                                                             for n in range(3)]


async def test_the_desk_says_its_errors_in_the_pages_language(desk: tuple[Any, Services, Clock]) -> None:
    client, services, _ = desk
    case_id = await open_case(services)
    csrf = await login(client, "lan")

    async def error(lang: str, method: str, path: str, body: Any = None, status: int = 400) -> str:
        headers = {"X-CSRF-Token": csrf}
        r = await client.request(method, f"/staff/api/{path}", params={"lang": lang}, json=body, headers=headers)
        assert r.status == status, (path, await r.text())
        return str((await r.json())["error"])

    assert await error("vi", "GET", "cases/1x") == "Số yêu cầu phải viết bằng chữ số."
    assert await error("en", "GET", "cases/1x") == "A case number is written in digits."
    assert "4000" in await error("en", "POST", f"cases/{case_id}/reply", {"text": "x" * 4001})
    assert await error("en", "GET", "cases/99999", status=404) == "There is no request 99999."
    await post(client, f"/staff/api/cases/{case_id}/claim", csrf)
    # The hand-off's refusal (the same operation a Telegram group uses) in the page's language too.
    assert await error("en", "POST", f"cases/{case_id}/claim", status=409) == \
        f"Request {case_id} is already claimed (lan) or closed."
    assert (await error("vi", "POST", f"cases/{case_id}/claim", status=409)).startswith(f"Yêu cầu {case_id} đã")
    assert (await client.post("/staff/api/cases/1/claim", params={"lang": "en"})).status == 403  # no CSRF
    detail = await (await client.get(f"/staff/api/cases/{case_id}", params={"lang": "en"})).json()
    assert detail["state"] == "claimed"  # no guide in this case; a guide's title follows the language too
