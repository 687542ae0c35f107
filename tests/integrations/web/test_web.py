"""The web chat API of INTERFACES.md, through a real aiohttp server and the real pipeline."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.storage.db import Message, Resident
from bot.storage.residents import Residents
from integrations.web.chat import COOKIE, FloodLimiter, WebLimits, make_web_app, resident_of
from integrations.web.page import page_strings
from tests.fakes.web_client import WebChat


@pytest.fixture
async def client(aiohttp_client, services):  # type: ignore[no-untyped-def]
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(5, 60)), services.mailboxes)
    return await aiohttp_client(app)


@pytest.fixture
def web(client) -> WebChat:  # type: ignore[no-untyped-def]
    return WebChat(client)


async def _count(services, model) -> int:  # type: ignore[no-untyped-def]
    async with services.store.session() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_task_question_starts_its_guide_with_buttons(web: WebChat) -> None:
    body = await web.chat("u1", text="làm sao để cài ứng dụng VNeID")
    assert body["state"] == {"intent": "vneid_install", "flow": "vneid_install", "step": 1,
                             "steps": body["state"]["steps"], "language": "vi"}
    assert body["state"]["steps"] >= 3
    step = body["replies"][-1]
    assert step["text"].startswith(f"Bước 1/{body['state']['steps']}")
    payloads = [b["payload"] for b in step["buttons"]]
    assert "done" in payloads and "stuck" in payloads and "human" in payloads and "cancel" in payloads

    body = await web.chat("u1", payload="done")
    assert body["state"]["step"] == 2 and body["state"]["intent"] is None
    assert body["replies"][-1]["text"].startswith("Bước 2/")


async def test_english_on_request(web: WebChat) -> None:
    body = await web.chat("u2", text="hello", lang="en")
    assert body["state"]["language"] == "en"
    assert "Xin chào" not in body["replies"][0]["text"]
    # The choice is remembered without repeating `lang`.
    assert (await web.chat("u2", payload="menu"))["state"]["language"] == "en"


async def test_the_server_issues_the_session_and_a_label_selects_no_one(client, services) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", json={"user": "bac-tam", "text": "làm sao cài VNeID"})
    first = await r.json()
    token = first["session"]
    assert r.status == 200 and len(token) == 43 and first["state"]["step"] == 1
    cookie = r.cookies[COOKIE]
    assert cookie.value == token and cookie["httponly"] and cookie["samesite"] == "Strict"
    # Knowing the label gives nothing: the same label without the token is a new resident.
    client.session.cookie_jar.clear()
    r = await client.post("/api/chat", json={"user": "bac-tam", "payload": "done"})
    other = await r.json()
    assert other["session"] != token and other["state"]["step"] is None
    # The token continues the guide, in the body or as the cookie alone.
    r = await client.post("/api/chat", json={"session": token, "payload": "done"})
    assert (await r.json())["state"]["step"] == 2
    client.session.cookie_jar.update_cookies({COOKIE: token})
    r = await client.post("/api/chat", json={"payload": "done"})
    assert (await r.json())["state"]["step"] == 3
    # A token the server never issued starts a new resident with a new token.
    r = await client.post("/api/chat", json={"session": "x" * 43, "payload": "done"})
    assert (await r.json())["session"] not in (token, "x" * 43)
    # Only a hash of the token is stored.
    async with services.store.session() as s:
        ids = set((await s.execute(select(Resident.platform_id))).scalars())
    assert resident_of(token) in ids and token not in ids and "bac-tam" not in ids


async def test_a_retried_message_applies_once_and_gets_the_same_answer(web: WebChat, services) -> None:  # type: ignore[no-untyped-def]
    await web.chat("r", text="làm sao cài VNeID")
    first = await web.chat("r", payload="done", id="m-2")
    again = await web.chat("r", payload="done", id="m-2")
    assert first == again and first["state"]["step"] == 2
    assert (await web.chat("r", payload="done", id="m-3"))["state"]["step"] == 3
    async with services.store.session() as s:
        done = (await s.execute(select(func.count()).select_from(Message)
                                .where(Message.direction == "in", Message.payload == "done"))).scalar_one()
    assert done == 2


@pytest.mark.parametrize("raw, why", [
    (b"{not json", "JSON"),
    (b"[1, 2]", "object"),
    (json.dumps({"user": 5, "text": "hi"}).encode(), "user"),
    (json.dumps({"user": "u", "text": "hi", "payload": "done"}).encode(), "exactly one"),
    (json.dumps({"user": "u"}).encode(), "exactly one"),
    (json.dumps({"user": "u", "text": "a" * 4097}).encode(), "too long"),
    (json.dumps({"user": "u", "text": 5}).encode(), "string"),
    (json.dumps({"user": "u", "text": "hi", "lang": "fr"}).encode(), "lang"),
    (json.dumps({"text": "hi", "session": 7}).encode(), "session"),
    (json.dumps({"payload": "case:end:²"}).encode(), "payload"),
    (json.dumps({"payload": "done\u0000"}).encode(), "payload"),
    (json.dumps({"text": "hi", "ack": "handoff=²"}).encode(), "ack"),
    (json.dumps({"text": "hi", "id": "a b"}).encode(), "id"),
    (b"[" * 2000 + b"]" * 2000, "nested"),
    (b'{"text": ' * 40 + b'"x"' + b"}" * 40, "nested"),
])
async def test_bad_requests_get_400_and_store_nothing(client, services, raw: bytes, why: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    body = await r.json()
    assert why in body["error"]
    assert await _count(services, Resident) == 0
    assert await _count(services, Message) == 0


async def test_an_unknown_charset_is_a_400(client, services) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", data=b'{"text": "hi"}',
                          headers={"Content-Type": "application/json; charset=x-nope"})
    assert r.status == 400 and "charset" in (await r.json())["error"]
    r = await client.post("/api/chat", data='{"text": "chào"}'.encode("utf-16"),
                          headers={"Content-Type": "application/json; charset=utf-16"})
    assert r.status == 200
    assert await _count(services, Resident) == 1


async def test_nul_surrogates_and_controls_are_cleaned_not_refused(web: WebChat, services) -> None:  # type: ignore[no-untyped-def]
    body = await web.chat("n", text="xin\u0000 chào\ud800 bạn\u0007")
    assert body["replies"]
    async with services.store.session() as s:
        stored = (await s.execute(select(Message.text).where(Message.direction == "in"))).scalar_one()
    assert stored == "xin chào\ufffd bạn"


async def test_an_ack_in_unicode_digits_is_refused_before_the_turn(web: WebChat, services) -> None:  # type: ignore[no-untyped-def]
    await web.chat("a", text="xin chào")
    status, body = await web.post("a", text="vâng", ack="handoff=²")
    assert status == 400 and "ack" in body["error"]
    status, body = await web.poll("a", ack="handoff=²")
    assert status == 400
    assert await _count(services, Message) == 2  # the first turn only: question and answer


async def test_exactly_4096_characters_is_accepted(web: WebChat) -> None:
    await web.chat("long", text="a" * 4096)


async def test_a_flood_gets_429_and_the_rejected_message_is_not_stored(web: WebChat, services) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        await web.chat("flood", text=f"xin chào {i}")
    status, body = await web.post("flood", text="thêm nữa")
    assert status == 429 and "error" in body
    async with services.store.session() as s:
        texts = (await s.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
    assert "thêm nữa" not in texts and len(texts) == 5
    # Another resident is not affected.
    await web.chat("calm", text="xin chào")


async def test_healthz_and_the_chat_page(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/healthz")
    assert r.status == 200 and await r.json() == {"status": "ok"}
    r = await client.get("/")
    assert r.status == 200
    page = await r.text()
    assert "/static/chat.js" in page and 'name="viewport"' in page
    r = await client.get("/static/chat.js")
    assert r.status == 200 and "/api/chat" in await r.text()


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/chat.js", "/api/chat/poll", "/nowhere"])
async def test_security_headers_on_every_response(client, path: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.get(path)
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Server"] == "tro-ly-so"


def test_the_language_switch_names_each_language_in_that_language(services) -> None:  # type: ignore[no-untyped-def]
    strings = page_strings(services.catalogs)  # from each catalog (no CLDR data loaded for two words)
    assert {lang: s["name"] for lang, s in strings.items()} == {"vi": "Tiếng Việt", "en": "English"}
    assert page_strings(None)["vi"]["name"] == "Tiếng Việt"
