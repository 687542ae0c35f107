"""The PostgreSQL engine: idle connections pinged before use (and busy ones not), reads without a transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from bot.storage import db
from bot.storage.db import make_engine
from bot.storage.store import Store
from tests.fakes.databases import PG_ADMIN_URL


async def _kill_backend(pid: int) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the client has read that its connection was closed
    finally:
        await conn.close()


async def _backend(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_that_died_is_replaced_before_use(postgres_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every connection counts as idle: pinged at checkout
    store = Store(make_engine(postgres_url))
    try:
        killed = await _backend(store)
        await _kill_backend(killed)  # the database restarted, say, while the connection sat in the pool
        assert await _backend(store) != killed  # no error: the ping found it gone and the pool connected anew
    finally:
        await store.engine.dispose()


async def test_a_connection_back_within_moments_is_used_without_a_ping(postgres_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    store = Store(make_engine(postgres_url))
    try:
        await _kill_backend(await _backend(store))
        # Not pinged (the saving under load): the dead connection fails this one statement, and the pool,
        # told it is gone, connects anew for the next.
        with pytest.raises(Exception, match="connection is closed"):
            await _backend(store)
        assert await _backend(store) > 0
    finally:
        await store.engine.dispose()


async def test_reads_on_postgresql_run_without_a_transaction(postgres_url: str) -> None:
    store = Store(make_engine(postgres_url))
    try:
        async with store.session() as s:
            first = (await s.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await s.execute(text("SELECT txid_current()"))).scalar_one()
        assert first != second  # each statement its own transaction: no BEGIN and ROLLBACK round trips
        async with store.writing() as s:
            first = (await s.execute(text("SELECT txid_current()"))).scalar_one()
            second = (await s.execute(text("SELECT txid_current()"))).scalar_one()
        assert first == second  # writes stay one transaction
    finally:
        await store.engine.dispose()

