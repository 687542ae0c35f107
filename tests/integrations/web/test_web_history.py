"""The chat page's server side: history after a reload, presses that answer an earlier position ignored
(web and Telegram), the phone's language until the resident chooses one."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web as aioweb
from sqlalchemy import func, select

from bot.app import Services, telegram_channel
from bot.history import ChatHistory
from bot.storage.db import Message
from bot.storage.residents import Residents
from integrations.telegram.sender import pressed, with_position
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.web_client import WebChat
from tests.integrations.telegram.test_telegram import press, say, tg_settings


@pytest.fixture
async def client(aiohttp_client, services):  # type: ignore[no-untyped-def]
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(50, 60)), services.mailboxes,
                       history=ChatHistory(services.pipeline), catalogs=services.catalogs)
    return await aiohttp_client(app)


@pytest.fixture
def web(client) -> WebChat:  # type: ignore[no-untyped-def]
    return WebChat(client)


async def _history(client, session: str, locale: str = "") -> dict:  # type: ignore[no-untyped-def]
    r = await client.get("/api/chat/history", params={"session": session, "locale": locale})
    assert r.status == 200
    return await r.json()


async def test_history_restores_the_conversation_redacted_and_the_open_guide(client, web: WebChat) -> None:  # type: ignore[no-untyped-def]
    await web.chat("lan", text="số điện thoại của tôi là 0912345678")
    await web.chat("lan", text="làm sao cài VNeID")
    await web.chat("lan", payload="done")
    past = await _history(client, web.sessions["lan"])
    texts = [m["text"] for m in past["messages"]]
    assert past["messages"][0]["from"] == "resident" and "số điện thoại của tôi là" in texts[0]
    assert {"from": "resident", "text": "làm sao cài VNeID"} in past["messages"]
    assert {"from": "resident", "text": "Xong rồi"} in past["messages"]  # the pressed button's label
    assert any(t.startswith("Bước 2/") for t in texts)
    assert not any("0912345678" in t for t in texts)  # redacted as stored
    assert past["state"]["flow"] == "vneid_install" and past["state"]["step"] == 2
    steps = past["state"]["steps"]
    assert past["resume"]["text"].startswith("Bạn đang làm dở: ") and past["resume"]["text"].endswith(", bước 2")
    assert [b["payload"] for b in past["resume"]["buttons"]] == ["resume", "cancel"]
    # The continue button shows the step again, with buttons that act.
    again = await web.chat("lan", payload="resume", at=past["at"])
    assert again["replies"][-1]["text"].startswith(f"Bước 2/{steps}")
    assert (await web.chat("lan", payload="done", at=again["at"]))["state"]["step"] == 3
    # Someone else's session sees none of it; an unknown one sees nothing.
    await web.chat("other", text="xin chào")
    assert "làm sao cài VNeID" not in str(await _history(client, web.sessions["other"]))
    assert await _history(client, "x" * 43) == {"messages": [], "state": None, "at": None, "resume": None,
                                               "answered": []}


async def test_history_is_in_the_residents_language(client, web: WebChat) -> None:  # type: ignore[no-untyped-def]
    await web.chat("en", text="how do I install VNeID", lang="en")
    past = await _history(client, web.sessions["en"], locale="vi-VN")
    assert past["state"]["language"] == "en" and past["resume"]["text"].startswith("You are in the middle of: ")


async def test_a_double_tap_advances_one_step_and_an_old_button_does_nothing(web: WebChat, services) -> None:  # type: ignore[no-untyped-def]
    start = await web.chat("tam", text="làm sao cài VNeID")
    assert start["state"]["step"] == 1 and len(start["at"]) == 8
    # Two taps on step 1's "Xong rồi" at once (two requests, two ids): one step.
    both = await asyncio.gather(web.chat("tam", payload="done", at=start["at"], id="t1"),
                                web.chat("tam", payload="done", at=start["at"], id="t2"))
    assert sorted(bool(b.get("stale")) for b in both) == [False, True]
    step2 = next(b for b in both if not b.get("stale"))
    assert step2["state"]["step"] == 2
    assert next(b for b in both if b.get("stale"))["replies"] == []
    # Step 1's button pressed later, at step 3: ignored, nothing stored.
    step3 = await web.chat("tam", payload="done", at=step2["at"])
    assert step3["state"]["step"] == 3
    old = await web.chat("tam", payload="done", at=start["at"])
    assert old["stale"] is True and old["replies"] == [] and old["state"]["step"] == 3 and old["at"] == step3["at"]
    async with services.store.session() as s:
        presses = (await s.execute(select(func.count()).select_from(Message)
                                   .where(Message.direction == "in", Message.payload == "done"))).scalar_one()
    assert presses == 2
    # A press without a position (an old client, a typed command) still acts.
    assert (await web.chat("tam", payload="done"))["state"]["step"] == 4


async def test_the_greeting_follows_the_phones_language_until_the_resident_chooses(web: WebChat) -> None:
    hello = await web.chat("phone-en", payload="intent:greet", locale="en-US")
    text = hello["replies"][0]["text"]
    assert hello["state"]["language"] == "en" and "not a person" in text and "OTP" in text
    assert "Talk to a person" in [b["label"] for b in hello["replies"][0]["buttons"]]
    vi = await web.chat("phone-vi", payload="intent:greet", locale="vi-VN")
    assert "không phải người thật" in vi["replies"][0]["text"]
    # Chosen Vietnamese on an English phone: kept.
    await web.chat("phone-en", payload="lang:vi", lang="vi", locale="en-US")
    assert (await web.chat("phone-en", payload="menu", locale="en-US"))["state"]["language"] == "vi"


async def test_the_page_the_manifest_and_the_service_worker(client) -> None:  # type: ignore[no-untyped-def]
    page = await (await client.get("/")).text()
    assert '"read": "Read aloud"' in page and '"read": "Đọc to"' in page  # every language, from the catalogs
    assert "<script>" not in page and 'rel="manifest"' in page
    r = await client.get("/manifest.webmanifest")
    manifest = await r.json(content_type=None)
    assert r.content_type == "application/manifest+json" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        png = await client.get(icon["src"])
        body = await png.read()
        assert png.status == 200 and body[:4] == b"\x89PNG" and len(body) < 4000
    sw = await client.get("/sw.js")
    assert sw.status == 200 and "javascript" in sw.content_type and "caches" in await sw.text()


def test_telegram_callback_data_carries_the_position() -> None:
    assert with_position("done", "0a1b2c3d") == "done|0a1b2c3d"
    assert pressed("done|0a1b2c3d") == ("done", "0a1b2c3d")
    assert pressed("done") == ("done", None)
    assert with_position("go:" + "x" * 60, "0a1b2c3d") == "go:" + "x" * 60  # over 64 bytes: the payload alone


async def test_telegram_double_tap_and_old_buttons(services: Services, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    channel = telegram_channel(services, tg_settings(fake))
    await channel.start(aioweb.Application())
    try:
        fake.add_user(2002, "Hoa", language_code="vi")
        await say(fake, 2002, "cài vneid", expect=2)
        step1 = fake.sent_to(2002)[-1].message_id
        (step2,) = await press(fake, 2002, "Xong rồi")
        assert step2.startswith("Bước 2/")
        # Step 1's "Xong rồi" pressed again (a double tap reaching the server late): nothing happens.
        before = len(fake.sent_to(2002))
        fake.press_button(2002, "Xong rồi", message_id=step1)
        (step3,) = await press(fake, 2002, "Xong rồi")
        assert step3.startswith("Bước 3/") and len(fake.sent_to(2002)) == before + 1
        assert len(fake.callback_answers) == 3  # every press answered: no spinner left
    finally:
        await channel.stop()
