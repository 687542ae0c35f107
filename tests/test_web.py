"""The web chat API of INTERFACES.md, through a real aiohttp server and the real pipeline."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.storage.db import Message, Resident
from integrations.web.chat import FloodLimiter, make_web_app


@pytest.fixture
async def client(aiohttp_client, services):  # type: ignore[no-untyped-def]
    app = make_web_app(services.pipeline, services.store, FloodLimiter(5, 60))
    return await aiohttp_client(app)


async def _count(services, model) -> int:  # type: ignore[no-untyped-def]
    async with services.store.session() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_task_question_starts_its_guide_with_buttons(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", json={"user": "u1", "text": "làm sao để cài ứng dụng VNeID"})
    assert r.status == 200
    body = await r.json()
    assert body["state"] == {"intent": "vneid_install", "flow": "vneid_install", "step": 1,
                             "steps": body["state"]["steps"], "language": "vi"}
    assert body["state"]["steps"] >= 3
    step = body["replies"][-1]
    assert step["text"].startswith(f"Bước 1/{body['state']['steps']}")
    payloads = [b["payload"] for b in step["buttons"]]
    assert "done" in payloads and "stuck" in payloads and "human" in payloads and "cancel" in payloads

    r = await client.post("/api/chat", json={"user": "u1", "payload": "done"})
    body = await r.json()
    assert body["state"]["step"] == 2 and body["state"]["intent"] is None
    assert body["replies"][-1]["text"].startswith("Bước 2/")


async def test_english_on_request(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", json={"user": "u2", "text": "hello", "lang": "en"})
    body = await r.json()
    assert body["state"]["language"] == "en"
    assert "Xin chào" not in body["replies"][0]["text"]
    # The choice is remembered without repeating `lang`.
    r = await client.post("/api/chat", json={"user": "u2", "payload": "menu"})
    assert (await r.json())["state"]["language"] == "en"


@pytest.mark.parametrize("raw, why", [
    (b"{not json", "JSON"),
    (b"[1, 2]", "object"),
    (json.dumps({"text": "hi"}).encode(), "user"),
    (json.dumps({"user": "", "text": "hi"}).encode(), "user"),
    (json.dumps({"user": "u", "text": "hi", "payload": "done"}).encode(), "exactly one"),
    (json.dumps({"user": "u"}).encode(), "exactly one"),
    (json.dumps({"user": "u", "text": "a" * 4097}).encode(), "too long"),
    (json.dumps({"user": "u", "text": 5}).encode(), "string"),
    (json.dumps({"user": "u", "text": "hi", "lang": "fr"}).encode(), "lang"),
])
async def test_bad_requests_get_400_and_store_nothing(client, services, raw: bytes, why: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    body = await r.json()
    assert why in body["error"]
    assert await _count(services, Resident) == 0
    assert await _count(services, Message) == 0


async def test_exactly_4096_characters_is_accepted(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/chat", json={"user": "long", "text": "a" * 4096})
    assert r.status == 200


async def test_a_flood_gets_429_and_the_rejected_message_is_not_stored(client, services) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        r = await client.post("/api/chat", json={"user": "flood", "text": f"xin chào {i}"})
        assert r.status == 200
    r = await client.post("/api/chat", json={"user": "flood", "text": "thêm nữa"})
    assert r.status == 429
    assert "error" in await r.json()
    assert await _count(services, Message) > 0
    async with services.store.session() as s:
        texts = (await s.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
    assert "thêm nữa" not in texts and len(texts) == 5
    # Another resident is not affected.
    r = await client.post("/api/chat", json={"user": "calm", "text": "xin chào"})
    assert r.status == 200


async def test_healthz_and_the_chat_page(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/healthz")
    assert r.status == 200 and await r.json() == {"status": "ok"}
    r = await client.get("/")
    assert r.status == 200
    page = await r.text()
    assert "/api/chat" in page and 'name="viewport"' in page


def test_flood_limiter_window_slides() -> None:
    limiter = FloodLimiter(2, 10)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=1)
    assert not limiter.allow("a", now=5)
    assert limiter.allow("a", now=10.5)
