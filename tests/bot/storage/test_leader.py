"""The poll's session lock on PostgreSQL: one holder; released, or lost with its connection, another takes it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.storage.db import make_engine
from bot.storage.leader import SessionLock


async def test_one_holder_at_a_time_and_a_release_hands_it_over(postgres_url: str) -> None:
    first_engine, second_engine = make_engine(postgres_url), make_engine(postgres_url)
    first = SessionLock(first_engine, "telegram-poll:1", retry_seconds=0.05)
    second = SessionLock(second_engine, "telegram-poll:1", retry_seconds=0.05)
    other_bot = SessionLock(second_engine, "telegram-poll:2")
    try:
        assert await first.try_acquire() and await first.held()
        assert first._conn is not None  # a vanished holder's session is dropped within seconds, not hours
        assert (await first._conn.execute(text("SHOW tcp_keepalives_idle"))).scalar() in ("5", "5s")
        assert not await second.try_acquire() and not await second.held()
        assert await other_bot.try_acquire()  # another bot's poll is another lock
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await first.release()
        await asyncio.wait_for(waiting, 2)
        assert await second.held() and not await first.held()
    finally:
        for lock in (first, second, other_bot):
            await lock.release()
        await first_engine.dispose()
        await second_engine.dispose()


async def test_a_holder_whose_session_dies_loses_it_and_another_takes_it(postgres_url: str) -> None:
    first_engine, second_engine = make_engine(postgres_url), make_engine(postgres_url)
    first = SessionLock(first_engine, "telegram-poll:1")
    second = SessionLock(second_engine, "telegram-poll:1", retry_seconds=0.05)
    try:
        assert await first.try_acquire()
        assert first._conn is not None
        pid = (await first._conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # The server ends the holder's session, as when its process is killed and its socket closes.
        async with second_engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.wait_for(second.acquire(), 2)
        assert not await first.held()  # the holder finds out at its next check
        assert not await first.try_acquire()  # and waits its turn on a fresh connection
    finally:
        await first.release()
        await second.release()
        await first_engine.dispose()
        await second_engine.dispose()


def test_sqlite_has_no_session_lock(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        SessionLock(make_engine(sqlite_url), "telegram-poll:1")
