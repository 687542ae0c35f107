"""Telegram under pressure (issue 17): no token or resident text in DEBUG logs, residents served
independently while one floods, and nothing lost across a database outage (real PTB, the fake Bot API,
the real pipeline and database)."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import Services, telegram_channel
from bot.storage.db import Message, Resident
from kernel.logs import HIDDEN
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.services import build_services
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegram
from tests.integrations.telegram.test_telegram import db_services, say, tg_settings  # noqa: F401  (fixture)

CANARY = "canary-4417"  # planted in what residents and the team write: must never reach a log


async def _incoming(services: Services, user: int) -> list[str]:
    """The platform message ids of a resident's stored messages, in the order they were stored."""
    async with services.store.session() as s:
        rows = await s.execute(select(Message.platform_message_id).join(Resident, Resident.id == Message.resident_id)
                               .where(Resident.platform_id == str(user), Message.direction == "in")
                               .order_by(Message.id))
        return [r for r in rows.scalars() if r]


async def test_a_full_session_at_debug_logs_no_token_and_no_resident_text(
        db_services: Services, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    fake = fake_telegram
    fake.add_user(1101, "Lan")
    fake.add_group(-100777, "Tổ CNS")
    channel = telegram_channel(db_services, tg_settings(fake, staff_chat_ids=(-100777,)))
    await channel.start(web.Application())
    try:
        await say(fake, 1101, "/start")
        await say(fake, 1101, f"{CANARY} số tôi 0912345679, mật khẩu là Bi3mat#2024")
        fake.fail_next("sendMessage")  # a failed call logs its error: that must not show the URL either
        await say(fake, 1101, f"cài vneid {CANARY}", expect=2)
        fake.inject_message(-100777, f"nhóm {CANARY} 0912345679", from_user=2001)
        await fake.wait_idle(quiet=0.5)
        # Any logger that prints a Bot API URL (as httpx did at INFO) has the token hidden.
        logging.getLogger("tests.anywhere").debug("POST %s", f"{fake.base_url}{fake.token}/sendMessage")
    finally:
        await channel.stop()
    logged = caplog.text + "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert logging.getLogger().level == logging.DEBUG and len(caplog.records) >= 3
    assert any(r.getMessage() == f"POST {fake.base_url}{HIDDEN}/sendMessage" for r in caplog.records)
    assert fake.token not in logged and fake.token.split(":")[1] not in logged
    for planted in (CANARY, "0912345679", "Bi3mat#2024"):
        assert planted not in logged, planted
    # The libraries that print URLs and bodies were held at WARNING whatever the root level.
    chatty = [r for r in caplog.records if r.name.startswith(("httpx", "telegram", "aiosqlite"))]
    assert not [r for r in chatty if r.levelno < logging.WARNING]


@pytest.mark.slow
async def test_others_are_answered_within_a_second_while_one_resident_sends_40(
        db_services: Services, fake_telegram: FakeTelegram) -> None:  # noqa: F811
    fake = fake_telegram
    fake.per_chat_per_second = 1  # Telegram's pace in one chat, as the limiter keeps it
    # At Telegram's real pace in one chat (about a message a second), as the issue measured it.
    # A limit of 4 turns keeps the flooder's paced replies (4 and a notice) coming for about 5 s.
    channel = telegram_channel(db_services, tg_settings(fake, rate_limit_messages=4, chat_interval_seconds=1.05))
    await channel.start(web.Application())

    async def answered(user: int) -> float:
        started = time.monotonic()
        fake.inject_message(user, "/start")
        await fake.wait_for(user, 1, timeout=10)
        return time.monotonic() - started

    try:
        await say(fake, 1200, "/start")  # the flooder is a known resident
        # The same turn without a flood, on this machine now; more than an interval after the last reply, so that
        # a pace wrongly shared between chats cannot hold it up too.
        await asyncio.sleep(1.1)
        baseline = await answered(1210)
        flood = [fake.inject_message(1200, f"xin chào lần {n}") for n in range(40)]
        await asyncio.sleep(0.3)  # the flood is in hand, its first replies paced
        waits = []
        for user in range(1201, 1204):  # others write while the flood is served, one after another
            waits.append(await answered(user))
            await asyncio.sleep(0.3)
        during = len(fake.texts(1200))  # the flooder's replies so far: more are still to come (asserted below)
        await fake.wait_until(lambda: fake.pending_updates == 0, timeout=30)
        await fake.wait_idle(quiet=1.5)
    finally:
        await channel.stop()
    # Within a second, or as fast as without the flood on a machine so busy that a turn alone takes longer: a turn
    # queued behind the flooder's paced replies would wait at least one interval (1.05 s) more than that.
    assert max(waits) < max(1.0, baseline + 0.9), (waits, baseline)
    assert during < len(fake.texts(1200)), "the others were answered after the flood, not while it was served"
    # The flooder's chat kept its order, and the per-resident limit held: 4 turns (with /start), one notice.
    stored = await _incoming(db_services, 1200)
    flooded = [m for m in stored if m != stored[0]]
    assert flooded == [f"tg:{u}" for u in flood[:3]]
    notices = [t for t in fake.texts(1200) if "nhanh quá" in t]
    assert len(notices) == 1


# 3 s in the suite; the 30 s outage: OUTAGE_SECONDS=30 pytest -k database_outage (README, Reliability).
OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "3"))


@pytest.mark.slow
async def test_no_update_is_lost_across_a_database_outage(
        settings: Settings, interpreter: EmbeddedInterpreter, postgres_url: str, fake_telegram: FakeTelegram) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    services = await build_services(replace(settings, database_url=url.set(port=proxy.port).render_as_string(False)),
                           interpreter=interpreter)
    fake = fake_telegram
    channel = telegram_channel(services, tg_settings(fake, retry_seconds=0.2, retry_max_seconds=1.0))
    await channel.start(web.Application())
    try:
        await say(fake, 1301, "/start")
        await proxy.cut()
        sent = [fake.inject_message(user, f"cài vneid {n}") for n in range(3) for user in (1301, 1302)]
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage: updates kept, none confirmed
        assert fake.pending_updates == len(sent)
        await proxy.restore()
        await fake.wait_until(lambda: fake.pending_updates == 0, timeout=30)
        await fake.wait_idle(quiet=1.0)
    finally:
        await channel.stop()
        await services.close()
        await proxy.stop()
    services = await build_services(replace(settings, database_url=postgres_url), interpreter=interpreter)
    try:
        stored = await _incoming(services, 1301) + await _incoming(services, 1302)
    finally:
        await services.close()
    assert sorted(f"tg:{u}" for u in sent) == sorted(m for m in stored if m != "tg:1")  # each exactly once
    assert len(fake.texts(1302)) >= 3


async def test_a_refused_topic_does_not_use_up_a_plain_groups_pace(
        db_services: Services, fake_telegram: FakeTelegram) -> None:  # noqa: F811
    from telegram.error import BadRequest

    fake_telegram.add_group(-500, "Tổ thôn", forum=False)
    # 30 a minute (a 2 s pace; Telegram's is 19, 3.2 s): a refused call using it up would hold the card 2 s.
    channel = telegram_channel(db_services, tg_settings(fake_telegram, group_per_minute=30.0))
    await channel.app.initialize()
    try:
        with pytest.raises(BadRequest):
            await channel.bot.create_forum_topic(-500, "Ca #1")  # a plain group has no topics
        started = time.monotonic()
        await channel.bot.send_message(-500, "Ca #1: thẻ mới")
        first = time.monotonic() - started
        await channel.bot.send_message(-500, "Ca #2: thẻ mới")
        second = time.monotonic() - started - first
    finally:
        await channel.app.shutdown()
    assert first < 1.0, first  # was a whole pace: the refused call counted as the group's message
    assert second > 1.6, second  # a message that was posted still paces the next (30 a minute)
