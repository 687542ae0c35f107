"""The Telegram channel end to end: real python-telegram-bot, the real pipeline, the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from bot.app import Services, configured_channels, telegram_channel
from bot.server import serve
from integrations.telegram.channel import TelegramChannel
from kernel.messages import ResidentKey
from kernel.settings import Settings, TelegramSettings, replace
from tests.fakes.net import free_port
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram

GUIDE = "Cài ứng dụng VNeID chính thức"
TOPIC = "Ứng dụng VNeID"


def tg_settings(fake: FakeTelegram, **changes: Any) -> TelegramSettings:
    return replace(TELEGRAM, token=fake.token, api_url=fake.base_url, poll_timeout=1, **changes)


@pytest_asyncio.fixture
async def db_services(settings: Settings, database_url: str, interpreter: Any) -> AsyncIterator[Services]:
    """The real services on SQLite and on PostgreSQL."""
    built = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    yield built
    await built.close()


@pytest_asyncio.fixture
async def polling(db_services: Services, fake_telegram: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = telegram_channel(db_services, tg_settings(fake_telegram))
    await channel.start(web.Application())
    yield channel
    await channel.stop()


async def press(fake: FakeTelegram, chat_id: int, button: str, expect: int = 1) -> list[str]:
    """Press a button and return the texts of the `expect` messages it brings."""
    before = len(fake.sent_to(chat_id))
    fake.press_button(chat_id, button)
    return [m.text for m in (await fake.wait_for(chat_id, before + expect))[before:]]


async def say(fake: FakeTelegram, chat_id: int, text: str, expect: int = 1) -> list[str]:
    before = len(fake.sent_to(chat_id))
    fake.inject_message(chat_id, text)
    return [m.text for m in (await fake.wait_for(chat_id, before + expect))[before:]]


async def complete_guide(fake: FakeTelegram, chat_id: int) -> None:
    """/start, pick the topic and the guide by buttons, press "Xong rồi" through every step."""
    greeting = await say(fake, chat_id, "/start")
    assert "Trợ lý số" in greeting[0] and TOPIC in fake.sent_to(chat_id)[-1].labels
    await press(fake, chat_id, TOPIC)
    intro, step1 = await press(fake, chat_id, GUIDE, expect=2)
    assert intro.startswith(GUIDE) and step1.startswith("Bước 1/4")
    assert fake.sent_to(chat_id)[-1].labels == ["Xong rồi", "Không được", "Gặp người hỗ trợ", "Thôi"]
    for n in (2, 3, 4):
        (step,) = await press(fake, chat_id, "Xong rồi")
        assert step.startswith(f"Bước {n}/4")
    (done,) = await press(fake, chat_id, "Xong rồi")
    assert done.startswith("✅")


async def test_resident_completes_a_guide_switches_language_and_cancels(
        polling: TelegramChannel, fake_telegram: FakeTelegram, db_services: Services) -> None:
    fake = fake_telegram
    fake.add_user(1001, "Lan", language_code="vi")
    await complete_guide(fake, 1001)
    # Every button press was answered, so no spinner is left on the resident's phone.
    assert len(fake.callback_answers) == 6
    who = ResidentKey("telegram", "1001")
    assert json.loads(await db_services.store.state_of(who) or "{}").get("flow") is None

    (menu,) = await say(fake, 1001, "/lang")
    assert menu == "Chọn ngôn ngữ / Choose a language:"
    (switched,) = await press(fake, 1001, "English")
    en = db_services.catalogs.get("en")
    assert switched == en("Đã chuyển sang tiếng Việt.")
    assert (await db_services.store.find(who)).language == "en"  # type: ignore[union-attr]

    intro, step1 = await say(fake, 1001, "cài vneid", expect=2)
    assert step1.startswith(en("Bước {n}/{total}", n=1, total=4))
    (stopped,) = await say(fake, 1001, "/stop")
    assert stopped == en("Đã dừng hướng dẫn. Khi cần, bạn chọn lại chủ đề nhé.")
    assert json.loads(await db_services.store.state_of(who) or "{}").get("flow") is None
    assert not [r for r in fake.rejections if r[0] != "getUpdates"]


async def test_platform_language_and_deep_link(polling: TelegramChannel, fake_telegram: FakeTelegram,
                                               db_services: Services) -> None:
    fake_telegram.add_user(1002, "Anna", language_code="en-GB")
    noted, greeting = await say(fake_telegram, 1002, "/start dai-cuong", expect=2)
    en = db_services.catalogs.get("en")
    assert noted == en("Đã ghi nhận: {place}.", place=en("xã cũ {unit}", unit="Đại Cường"))
    assert noted == "Noted: Đại Cường (former commune)."
    assert greeting.startswith(en("Xin chào! Tôi là Trợ lý số của xã {commune}. Tôi hướng dẫn từng bước về VNeID, "
                                  "dịch vụ công, thanh toán điện tử và cách tránh lừa đảo. Bạn cần giúp việc gì?",
                                  commune=db_services.commune.current().name)[:20])
    resident = await db_services.store.find(ResidentKey("telegram", "1002"))
    assert resident is not None and resident.village == "dai-cuong"
    assert resident.language is None  # the platform's code is a hint, not a saved choice


async def test_contact_and_location_are_declined_and_never_stored(
        polling: TelegramChannel, fake_telegram: FakeTelegram, db_services: Services) -> None:
    fake_telegram.add_user(1003)
    fake_telegram.inject_contact(1003, "+84912345678")
    fake_telegram.inject_location(1003)
    declined = await fake_telegram.wait_for(1003, 2)
    assert all("không lưu" in m.text for m in declined)
    assert await db_services.store.find(ResidentKey("telegram", "1003")) is None


async def test_duplicate_update_after_restart_gets_no_second_reply(
        db_services: Services, fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1004)
    channel = telegram_channel(db_services, tg_settings(fake_telegram))
    await channel.start(web.Application())
    uid = fake_telegram.inject_message(1004, "/start")
    await fake_telegram.wait_for(1004, 1)
    await channel.stop()
    # Telegram never got the confirmation (the process died): after the restart it sends the update again.
    fake_telegram.inject_message(1004, "/start", update_id=uid)
    later = fake_telegram.inject_message(1004, "/help")
    again = telegram_channel(db_services, tg_settings(fake_telegram))
    await again.start(web.Application())
    try:
        await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0
                                       and len(fake_telegram.sent_to(1004)) >= 2)
        await fake_telegram.wait_idle()
    finally:
        await again.stop()
    assert len(fake_telegram.sent_to(1004)) == 2  # the greeting once, then the answer to /help
    assert later > uid



async def test_webhook_mode_through_the_server(db_services: Services, fake_telegram: FakeTelegram) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    db_services.settings = replace(
        db_services.settings, web=replace(db_services.settings.web, port=port),
        telegram=tg_settings(fake_telegram, mode="webhook", webhook_url=url, webhook_secret="s3cret_token-1"))
    assert [type(c) for c in configured_channels(db_services)] == [TelegramChannel]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(db_services, stop))
    try:
        await fake_telegram.wait_until(lambda: fake_telegram.webhook.url == url)
        assert fake_telegram.webhook.secret_token == "s3cret_token-1"
        fake_telegram.add_user(2001)
        await complete_guide(fake_telegram, 2001)

        # A forged request (no secret, or a wrong one) is refused and changes nothing.
        forged = {"update_id": 999999, "message": {
            "message_id": 1, "date": int(time.time()), "text": "/start",
            "chat": {"id": 2002, "type": "private", "first_name": "X"},
            "from": {"id": 2002, "is_bot": False, "first_name": "X"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with http.post(url, json=forged, headers=headers) as resp:
                    assert resp.status == 403
            async with http.post(url, data=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token":
                                                                 "s3cret_token-1"}) as resp:
                assert resp.status == 400
        assert fake_telegram.sent_to(2002) == []
        assert await db_services.store.find(ResidentKey("telegram", "2002")) is None

        # Telegram delivers an update again (e.g. it missed our answer): no second reply.
        sent = len(fake_telegram.sent_to(2001))
        uid = fake_telegram.inject_message(2001, "/help")
        await fake_telegram.wait_for(2001, sent + 1)
        fake_telegram.inject_message(2001, "/help", update_id=uid)
        await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
        await fake_telegram.wait_idle()
        assert len(fake_telegram.sent_to(2001)) == sent + 1
        assert [s for u, s in fake_telegram.webhook_deliveries if u == uid] == [200, 200]
    finally:
        stop.set()
        await server
    assert fake_telegram.webhook.url == url  # left set: Telegram keeps delivering to the next start


@pytest.mark.slow
async def test_burst_of_200_residents_within_telegram_limits(services: Services) -> None:
    """Telegram's published limits enforced by the fake: 30 messages/s overall, 1/s a chat, 20/min a group."""
    fake = FakeTelegram(global_per_second=30, per_chat_per_second=1, group_per_minute=20)
    await fake.start()
    # The real pace: this is the test of the limits themselves.
    real = TelegramSettings()
    channel = telegram_channel(services, tg_settings(fake, chat_interval_seconds=real.chat_interval_seconds,
                                                     group_per_minute=real.group_per_minute))
    await channel.start(web.Application())
    residents = range(5000, 5200)
    try:
        for uid in residents:
            fake.add_user(uid, f"R{uid}")
        started = time.monotonic()
        for uid in residents:
            fake.inject_message(uid, "/start")
        await fake.wait_until(lambda: all(len(fake.sent_to(u)) >= 1 for u in residents), timeout=180)
        first_round = time.monotonic() - started
        for uid in residents:
            fake.press_button(uid, TOPIC)
        await fake.wait_until(lambda: all(len(fake.sent_to(u)) >= 2 for u in residents), timeout=180)
        total = time.monotonic() - started
        await fake.wait_idle()
    finally:
        await channel.stop()
        await fake.close()
    too_many = [r for r in fake.rejections if r[1] == 429]
    print(f"\n200 residents x 2 turns: 400 messages in {total:.1f}s ({400 / total:.1f} msg/s), "
          f"first round {first_round:.1f}s, 429 answers: {len(too_many)}")
    assert too_many == []  # the limiter keeps under the limits from the first message on
    for uid in residents:
        texts = fake.texts(uid)
        assert len(texts) == 2 and "Trợ lý số" in texts[0] and texts[1].startswith(TOPIC)
    assert len(fake.callback_answers) == 200


async def test_webhook_mode_without_a_url_is_refused_clearly(services: Services) -> None:
    from kernel.settings import ConfigError

    services.settings = replace(services.settings, telegram=replace(TELEGRAM, token="1:x", mode="webhook"))
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL"):
        configured_channels(services)


async def test_an_old_button_press_still_counts_when_telegram_refuses_its_answer(
        polling: TelegramChannel, fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1005)
    await say(fake_telegram, 1005, "/start")
    fake_telegram.press_button(1005, TOPIC)
    fake_telegram._open_callbacks.clear()  # too old to answer, as after a restart
    (topic,) = [m.text for m in (await fake_telegram.wait_for(1005, 2))[1:]]
    assert topic.startswith(TOPIC)
    assert ("answerCallbackQuery", 400) in [r[:2] for r in fake_telegram.rejections]
