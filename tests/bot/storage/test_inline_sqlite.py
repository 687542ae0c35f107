"""SQLite on the event loop's thread: a writer waiting for another connection's write lock waits without
blocking the loop, and gets the lock once it is free."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.storage.db import Resident, make_engine, migrate
from bot.storage.store import Store
from kernel.messages import ResidentKey


async def test_a_writer_waits_for_another_processs_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    first, second = make_engine(url), make_engine(url)  # two processes' engines on one file
    await migrate(first)
    a, b = Store(first), Store(second)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def later_writer() -> None:
        async with b.turn() as tx:
            await b.open_turn(tx, ResidentKey("web", "second"))

    running = asyncio.create_task(ticker())
    try:
        async with a.turn() as tx:
            await a.open_turn(tx, ResidentKey("web", "first"))
            waiting = asyncio.create_task(later_writer())
            await asyncio.sleep(0.3)  # the second writer waits for the lock meanwhile
            assert not waiting.done()
            assert ticks >= 3  # and the loop went on (a blocked loop would not have ticked again)
        await asyncio.wait_for(waiting, 5)
    finally:
        done.set()
        await running
    async with a.session() as s:
        assert set((await s.execute(select(Resident.platform_id))).scalars()) == {"first", "second"}
    for store in (a, b):
        await store.close()  # the connection each keeps for its turns
    await first.dispose()
    await second.dispose()
