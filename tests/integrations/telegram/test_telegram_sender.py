"""Sending to Telegram: splitting, keyboards, rate limits kept, and every Bot API error mapped to DeliveryError."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.ext import ExtBot

from bot.app import Services
from bot.storage.residents import Residents
from integrations.telegram.limiter import TelegramRateLimiter
from integrations.telegram.sender import TelegramSender, callback_data
from kernel.messages import Button, Incoming, Reply, ResidentKey
from kernel.ports import DeliveryError
from tests.fakes.telegram_api import FakeTelegram


def test_callback_data_is_cut_to_64_bytes_at_a_character_boundary() -> None:
    assert callback_data("go:install") == "go:install"
    cut = callback_data("flow:" + "đ" * 40)
    assert len(cut.encode()) <= 64 and cut.startswith("flow:đ")


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[ExtBot[Any]]:
    b: ExtBot[Any] = ExtBot(fake_telegram.token, base_url=fake_telegram.base_url, rate_limiter=TelegramRateLimiter())
    async with b:
        yield b


async def test_long_reply_is_split_with_buttons_on_the_last_piece(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001)
    sender = TelegramSender(bot)
    text = ("Một dòng hướng dẫn khá dài để thử.\n" * 300).strip()  # ~10,000 characters
    await sender.send("1001", [Reply(text, ((Button("Xong rồi", "done"), Button("Thôi", "cancel")),))])
    sent = fake_telegram.sent_to(1001)
    assert len(sent) == 3 and all(len(m.text) <= 4096 for m in sent)
    assert [m.labels for m in sent] == [[], [], ["Xong rồi", "Thôi"]]
    assert sent[-1].data == ["done", "cancel"]


async def test_blocked_resident_is_marked_and_not_retried(services: Services, bot: Bot,
                                                          fake_telegram: FakeTelegram) -> None:
    who = ResidentKey("telegram", "1001")
    await services.pipeline.handle(Incoming(who, payload="menu"))
    fake_telegram.add_user(1001)
    fake_telegram.block(1001)
    sender = TelegramSender(bot, Residents(services.store))
    with pytest.raises(DeliveryError) as err:
        await sender.send("1001", [Reply("Thông báo"), Reply("Thông báo 2")])
    assert err.value.permanent
    assert len(fake_telegram.calls("sendMessage")) == 1  # stopped at the first refusal
    async with services.store.session() as s:
        from sqlalchemy import select

        from bot.storage.db import Resident
        assert (await s.execute(select(Resident.blocked).where(Resident.platform_id == "1001"))).scalar_one()


async def test_unknown_chat_is_permanent(bot: Bot) -> None:
    with pytest.raises(DeliveryError) as err:
        await TelegramSender(bot).send("424242", [Reply("xin chào")])
    assert err.value.permanent and "chat not found" in str(err.value).lower()


@pytest.mark.slow  # platform pace: real retry back-off
async def test_network_errors_are_retried(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001)
    fake_telegram.fail_next("sendMessage", times=2, status=502)
    await TelegramSender(bot, backoff=0.01).send("1001", [Reply("vẫn tới nơi")])
    assert fake_telegram.texts(1001) == ["vẫn tới nơi"]
    fake_telegram.fail_next("sendMessage", times=5, status=502)
    with pytest.raises(DeliveryError) as err:
        await TelegramSender(bot, backoff=0.01, network_attempts=3).send("1001", [Reply("không tới")])
    assert not err.value.permanent


async def test_flood_limit_is_waited_out_then_reported(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001)
    fake_telegram.per_chat_per_second = 1
    # A limiter that does not pace private chats meets Telegram's 429: it waits retry_after and retries.
    limiter = TelegramRateLimiter(private_chat_interval=0, max_retries=1)
    async with ExtBot(fake_telegram.token, base_url=fake_telegram.base_url, rate_limiter=limiter) as bot:
        started = time.monotonic()
        sender = TelegramSender(bot)
        await sender.send("1001", [Reply("một"), Reply("hai")])
        assert time.monotonic() - started >= 1.0 and fake_telegram.texts(1001) == ["một", "hai"]
        assert limiter.retries == 1
        assert (sender.deliveries.delivered, sender.deliveries.failed, sender.deliveries.rate_limited) == (2, 0, 1)
    no_retry = TelegramRateLimiter(private_chat_interval=0, max_retries=0)
    async with ExtBot(fake_telegram.token, base_url=fake_telegram.base_url, rate_limiter=no_retry) as bot:
        sender = TelegramSender(bot)
        with pytest.raises(DeliveryError) as err:
            await sender.send("1001", [Reply("ba")])
        assert not err.value.permanent and err.value.retry_after and err.value.retry_after >= 1
        assert (sender.deliveries.delivered, sender.deliveries.failed, sender.deliveries.rate_limited) == (0, 1, 1)


async def test_the_limiter_keeps_to_the_per_chat_pace(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001)
    fake_telegram.per_chat_per_second = 1
    fake_telegram.global_per_second = 30
    await TelegramSender(bot).send("1001", [Reply("một"), Reply("hai"), Reply("ba")])
    assert fake_telegram.texts(1001) == ["một", "hai", "ba"]
    assert not [r for r in fake_telegram.rejections if r[1] == 429]


async def test_a_user_id_that_is_not_a_chat_id_is_permanent(bot: Bot) -> None:
    with pytest.raises(DeliveryError) as err:
        await TelegramSender(bot).send("web-user-7", [Reply("xin chào")])
    assert err.value.permanent


@pytest.mark.slow  # platform pace
async def test_overall_limit_holds_where_telegram_counts_even_when_requests_are_delayed() -> None:
    import asyncio
    import random

    limiter = TelegramRateLimiter(overall_per_second=5, private_chat_interval=0)
    arrivals: list[float] = []
    rnd = random.Random(7)

    async def request() -> bool:
        await asyncio.sleep(rnd.uniform(0, 0.4))  # on its way (a busy loop, a slow network)
        arrivals.append(time.monotonic())  # when Telegram counts it
        await asyncio.sleep(rnd.uniform(0, 0.4))  # the answer on its way back
        return True

    await asyncio.gather(*(limiter.process_request(request, (), {}, "sendMessage", {"chat_id": 1000 + i}, None)
                           for i in range(30)))
    arrivals.sort()
    busiest = max(sum(1 for b in arrivals if a <= b < a + 1.0) for a in arrivals)
    assert len(arrivals) == 30 and busiest <= 5
