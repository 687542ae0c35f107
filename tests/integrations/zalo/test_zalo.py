"""The Zalo channel end to end: signed webhook events from a fake Zalo on loopback, the real pipeline and
database (SQLite and PostgreSQL), replies sent back to the fake's CS message API."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select

from bot.app import Services, zalo_channel
from bot.storage.db import AnalyticsEvent, Conversation, Message, Resident
from bot.storage.zalo import ZaloChoice
from integrations.zalo.channel import ZaloChannel, ZaloSender
from integrations.zalo.format import PAYLOAD_MARK
from kernel.messages import ResidentKey
from kernel.settings import ZaloSettings
from tests.fakes.zalo import WEBHOOK, Harness, bot_settings, number_of, oa_settings
from tests.fakes.zalo_api import FakeZalo


async def _count(services: Services, model: type) -> int:
    async with services.store.session() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_resident_follows_completes_a_guide_with_buttons_and_asks_for_a_person(
        harness: Harness, services: Services) -> None:
    fake, user = harness.fake, "8123456789"
    assert await harness.event(fake.oa_event("follow", user)) == 200
    greeting = fake.to(user)[-1]
    assert "Xin chào" in greeting.text
    # The menu has more choices than Zalo shows as buttons: they come as a numbered list.
    assert greeting.buttons == [] and "Trả lời bằng số" in greeting.text

    topics = await harness.say(user, number_of(greeting.text, "Ứng dụng VNeID"))
    texts = await harness.say(user, number_of(topics[-1], "Cài ứng dụng VNeID chính thức"))
    assert any("VNeID" in t for t in texts) and texts[-1].startswith("Bước 1/4")
    step = fake.to(user)[-1]
    assert {b["type"] for b in step.buttons} == {"oa.query.hide"}  # four choices: real Zalo buttons
    assert all(b["payload"].startswith(PAYLOAD_MARK) for b in step.buttons)
    for n in (2, 3, 4):
        assert (await harness.press(user, "done"))[-1].startswith(f"Bước {n}/4")
    finished = await harness.press(user, "done")
    assert any("cài đúng ứng dụng VNeID" in t for t in finished)

    # Asking for a person: the village list comes as numbers too.
    asked = await harness.say(user, "tôi muốn gặp người hỗ trợ")
    village_list = fake.to(user)[-1]
    assert village_list.buttons == [] and "Trả lời bằng số" in village_list.text
    answer = await harness.say(user, number_of(village_list.text, "Đông Lỗ"))
    assert any("Đông Lỗ" in t for t in answer), (asked, answer)
    resident = await services.store.find(ResidentKey("zalo", user))
    assert resident is not None and resident.village == "dong-lo"
    async with services.store.session() as s:
        query = select(AnalyticsEvent.kind).where(AnalyticsEvent.resident_id == resident.id)
        kinds = (await s.execute(query)).scalars()
        assert {"flow_start", "complete", "handoff"} <= set(kinds)


async def test_a_redelivered_event_is_answered_once(harness: Harness) -> None:
    fake, user = harness.fake, "8100000001"
    event = fake.text_event(user, "xin chào", msg_id="mid-1")
    assert await harness.event(event) == 200
    assert await harness.event(event) == 200  # Zalo retries when it did not see our 200 in time
    assert len(fake.to(user)) == 1


@pytest.mark.parametrize("why", ["wrong secret", "forged body", "no signature", "old timestamp", "future timestamp"])
async def test_a_badly_signed_or_stale_event_is_refused_and_stores_nothing(
        harness: Harness, services: Services, why: str) -> None:
    fake, user = harness.fake, "8100000002"
    now_ms = int(time.time() * 1000)
    kw: dict[str, str | None] = {}
    body = fake.text_event(user, "xin chào")
    if why == "wrong secret":
        kw["secret"] = "not-the-oa-secret"
    elif why == "forged body":
        raw_signed = fake.sign("{}", body["timestamp"])  # a signature for another body
        kw["signature"] = raw_signed
    elif why == "no signature":
        kw["signature"] = "mac="
    elif why == "old timestamp":
        body = fake.text_event(user, "xin chào", timestamp_ms=now_ms - 10 * 60 * 1000)
    else:
        body = fake.text_event(user, "xin chào", timestamp_ms=now_ms + 10 * 60 * 1000)
    assert await harness.event(body, **kw) == 401
    assert fake.sent == []
    for model in (Resident, Conversation, Message, AnalyticsEvent):
        assert await _count(services, model) == 0


async def test_a_body_that_is_not_json_is_refused(harness: Harness, services: Services) -> None:
    r = await harness.client.post(WEBHOOK, data=b"{not json", headers={"X-ZEvent-Signature": "mac=00"})
    assert r.status == 400
    assert await _count(services, Resident) == 0


async def test_unfollow_unsubscribes(harness: Harness, services: Services) -> None:
    fake, user = harness.fake, "8100000010"
    await harness.say(user, "xin chào")
    async with services.store.writing() as s:
        row = (await s.execute(select(Resident).where(Resident.platform_id == user))).scalar_one()
        row.subscribed, row.village = True, "dong-lo"
    sent_before = len(fake.sent)
    assert await harness.event(fake.oa_event("unfollow", user)) == 200
    resident = await services.store.find(ResidentKey("zalo", user))
    assert resident is not None and resident.subscribed is False and resident.village == "dong-lo"
    assert len(fake.sent) == sent_before  # nothing is sent to someone who just left


async def test_a_sticker_gets_a_polite_answer_and_is_not_stored(harness: Harness, services: Services) -> None:
    fake, user = harness.fake, "8100000011"  # (images and audio: test_zalo_media.py)
    body = fake.oa_event("user_send_sticker", user, message={"msg_id": "st-1", "attachments": [
        {"type": "sticker", "payload": {"id": "abc", "url": "https://example.invalid/s.png"}}]})
    assert await harness.event(body) == 200
    assert "chỉ đọc được tin nhắn chữ" in fake.to(user)[-1].text
    assert await _count(services, Message) == 0


async def test_the_bot_api_mode(services: Services, fake: FakeZalo, aiohttp_client: AiohttpClient) -> None:
    settings = bot_settings(fake)
    app = web.Application()
    channel = zalo_channel(services, settings)
    await channel.start(app)
    client = await aiohttp_client(app)
    url = str(client.make_url(WEBHOOK))
    try:
        assert fake.webhook == {"url": "https://assistant.example/zalo/webhook", "secret_token": fake.bot_secret}
        status, _ = await fake.deliver_bot(client.session, url, fake.bot_update("chat-1", "xin chào"), secret="wrong")
        assert status == 401 and fake.sent == [] and await _count(services, Resident) == 0
        old = int(time.time() * 1000) - 3600 * 1000
        status, _ = await fake.deliver_bot(client.session, url, fake.bot_update("chat-1", "xin chào", date_ms=old))
        assert status == 401 and await _count(services, Resident) == 0

        status, _ = await fake.deliver_bot(client.session, url, fake.bot_update("chat-1", "cài vneid"))
        await channel.drain()
        assert status == 200
        step = fake.to("chat-1")[-1].text
        assert step.startswith("Bước 1/4") and "1. Xong rồi" in step  # no buttons on the Bot API: numbers
        number = next(line.split(".")[0] for line in step.splitlines() if line.endswith("Xong rồi"))
        await fake.deliver_bot(client.session, url, fake.bot_update("chat-1", number))
        await channel.drain()
        assert fake.to("chat-1")[-1].text.startswith("Bước 2/4")
    finally:
        await channel.stop()



async def test_an_event_that_cannot_be_stored_is_not_acknowledged_and_its_retry_is_answered(
        harness: Harness, services: Services) -> None:
    fake, user = harness.fake, "8100000012"
    event = fake.text_event(user, "xin chào", msg_id="mid-db-down")
    async with services.engine.begin() as conn:  # the database loses a table under the running assistant
        await conn.exec_driver_sql("ALTER TABLE messages RENAME TO messages_away")
    try:
        assert await harness.event(event) == 503  # Zalo keeps the event and delivers it again
    finally:
        async with services.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE messages_away RENAME TO messages")
    assert fake.sent == [] and await _count(services, Resident) == 0
    assert await harness.event(event) == 200
    assert len(fake.to(user)) == 1 and "Xin chào" in fake.to(user)[0].text


async def test_forgetting_leaves_nothing_behind(harness: Harness, services: Services) -> None:
    user = "8100000013"
    await harness.say(user, "tôi muốn gặp người hỗ trợ")  # offers the villages as numbers
    async with services.store.session() as s:
        assert await s.get(ZaloChoice, user) is not None
    await harness.say(user, PAYLOAD_MARK + "forget")
    await harness.press(user, "forget:yes")
    assert await services.store.find(ResidentKey("zalo", user)) is None
    async with services.store.session() as s:
        assert await s.get(ZaloChoice, user) is None
    assert await _count(services, Message) == 0


async def test_the_channel_is_enabled_from_the_environment(services: Services, fake: FakeZalo) -> None:
    from bot.app import channel_senders, configured_channels

    assert configured_channels(services) == []
    services.settings = replace(services.settings, zalo=oa_settings(fake))
    channels = configured_channels(services)
    assert [type(c) for c in channels] == [ZaloChannel]
    senders = channel_senders(channels)
    assert list(senders) == ["zalo"] and isinstance(senders["zalo"], ZaloSender)


async def test_a_hand_typed_payload_with_a_phone_number_is_redacted(harness: Harness, services: Services) -> None:
    user = "8100000014"
    await harness.say(user, PAYLOAD_MARK + "village:0912345678")
    async with services.store.session() as s:
        rows = (await s.execute(select(Message.text, Message.payload).where(Message.direction == "in"))).all()
    assert rows and all("0912345678" not in f"{t} {p}" for t, p in rows)


async def test_the_bot_api_by_long_polling(services: Services, fake: FakeZalo,
                                          aiohttp_client: AiohttpClient) -> None:
    import asyncio

    fake.webhook = {"url": "https://old.example/hook"}  # left over from an earlier setup
    settings = ZaloSettings(mode="bot", bot_token=fake.bot_token, api_url=fake.url)  # type: ignore[attr-defined]
    app = web.Application()
    channel = zalo_channel(services, settings)
    await channel.start(app)
    client = await aiohttp_client(app)
    try:
        assert fake.webhook is None  # deleted, or getUpdates would be refused
        r = await client.post(WEBHOOK, json=fake.bot_update("chat-2", "xin chào"))
        assert r.status == 404  # without a webhook secret nothing is accepted over HTTP
        fake.push_update(fake.bot_update("chat-2", "cài vneid"))
        for _ in range(200):
            await channel.drain()
            if fake.to("chat-2"):
                break
            await asyncio.sleep(0.02)
        assert fake.to("chat-2")[-1].text.startswith("Bước 1/4") and fake.polls >= 1
    finally:
        await channel.stop()


async def test_numbers_offered_long_ago_are_read_as_text(harness: Harness, services: Services) -> None:
    user = "8100000015"
    await harness.say(user, "tôi muốn gặp người hỗ trợ")  # the villages, as numbers
    async with services.store.writing() as s:
        row = await s.get(ZaloChoice, user)
        assert row is not None
        row.updated_at = row.updated_at - timedelta(days=2)
        # The conversation is as old as the list (the assistant reads typed numbers for a day, on every channel).
        resident = await services.store.find(ResidentKey("zalo", user))
        assert resident is not None
        conversation = await s.get(Conversation, resident.id)
        assert conversation is not None
        conversation.updated_at = conversation.updated_at - timedelta(days=2)
    await harness.say(user, "3")
    resident = await services.store.find(ResidentKey("zalo", user))
    assert resident is not None and resident.village is None  # "3" alone names no village


async def test_numbers_survive_a_restart(services: Services, fake: FakeZalo, aiohttp_client: AiohttpClient) -> None:
    app = web.Application()
    first = zalo_channel(services, oa_settings(fake))
    await first.start(app)
    client = await aiohttp_client(app)
    harness = Harness(fake, first, client)
    await harness.say("8100000016", "tôi muốn gặp người hỗ trợ")
    await first.stop()
    app2 = web.Application()
    second = zalo_channel(services, oa_settings(fake))
    await second.start(app2)
    harness2 = Harness(fake, second, await aiohttp_client(app2))
    try:
        await harness2.say("8100000016", number_of(fake.to("8100000016")[-1].text, "Đông Lỗ"))
        resident = await services.store.find(ResidentKey("zalo", "8100000016"))
        assert resident is not None and resident.village == "dong-lo"
        await harness2.say("8100000016", "cảm ơn")  # a reply without numbers clears the stored list
        async with services.store.session() as s:
            assert await s.get(ZaloChoice, "8100000016") is None
    finally:
        await second.stop()
