"""The hand-off outbox worker stops when asked, even when it is woken at the same moment (a turn's kick at
shutdown): on Python 3.11 `asyncio.wait_for` can lose that cancel, and a CI run once hung in a teardown."""

from __future__ import annotations

import asyncio
from typing import Any

from kernel.settings import Settings
from tests.fakes.services import build_services


async def test_the_worker_stops_when_kicked_as_it_is_stopped(settings: Settings, interpreter: Any) -> None:
    services = await build_services(settings, interpreter=interpreter)
    outbox = services.outbox
    outbox.poll_seconds = 0.01
    try:
        for _ in range(30):
            await outbox.start()
            await asyncio.sleep(0.02)
            outbox.kick()
            async with asyncio.timeout(5):
                await outbox.stop()
            assert outbox._task is None
        # Started again after a stop, it runs: a kick is still delivered.
        await outbox.start()
        await asyncio.sleep(0.05)
        assert outbox._task is not None and not outbox._task.done()
        await outbox.stop()
    finally:
        await services.close()


