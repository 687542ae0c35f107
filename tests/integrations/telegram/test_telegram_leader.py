"""On PostgreSQL the Telegram channel polls only while its process holds the poll lock, and takes it again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app import telegram_channel
from bot.storage.leader import SessionLock
from kernel.settings import Settings, replace
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow  # real pauses: a long poll and the lock checks


async def test_the_channel_stops_polling_when_its_lock_is_lost_and_resumes_when_it_is_free(
        settings: Settings, postgres_url: str, interpreter: Any, fake_telegram: FakeTelegram) -> None:
    services = await build_services(replace(settings, database_url=postgres_url), interpreter=interpreter)
    channel = telegram_channel(services, replace(TELEGRAM, token=fake_telegram.token, api_url=fake_telegram.base_url,
                                                 poll_timeout=1))
    other = SessionLock(services.engine, f"telegram-poll:{fake_telegram.token.partition(':')[0]}",
                        retry_seconds=0.1)  # the same lock as another process would take it
    lock = channel.leader
    assert isinstance(lock, SessionLock)
    lock.retry_seconds = 0.2
    fake_telegram.add_user(1001, "Lan")
    await channel.start(web.Application())
    try:
        fake_telegram.inject_message(1001, "xin chào")
        await fake_telegram.wait_for(1001, 1, timeout=15)
        assert not await other.try_acquire()  # held by the channel's process
        # The database ends the holder's session (as when its connection breaks): another process takes
        # the lock, and the channel, at its next check, stops polling.
        assert lock._conn is not None
        pid = (await lock._conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with services.engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.wait_for(other.acquire(), 5)
        await asyncio.sleep(4)  # a 1 s long poll and a check every 2 s
        polls = len(fake_telegram.calls("getUpdates"))
        fake_telegram.inject_message(1001, "hướng dẫn tôi cài VNeID")
        await asyncio.sleep(2)
        assert len(fake_telegram.calls("getUpdates")) == polls and len(fake_telegram.sent_to(1001)) == 1
        await other.release()  # the other process stops: the channel takes the poll again and answers
        await fake_telegram.wait_for(1001, 2, timeout=10)
        assert "VNeID" in fake_telegram.texts(1001)[-1]
    finally:
        await channel.stop()
        await other.release()
        await services.close()
    assert not lock._held  # released at stop
