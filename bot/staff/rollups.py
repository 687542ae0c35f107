"""The worker that keeps the dashboard's daily roll-ups up to date (the funnel's and who wrote)."""

from __future__ import annotations

import asyncio
import logging

from bot.rollup import roll_up
from bot.rollup_writers import roll_up_writers
from bot.storage.store import Store
from kernel.commune import CommuneSource

log = logging.getLogger(__name__)


class RollupWorker:
    """Keeps the roll-ups (the funnel's, and who wrote) up to date (kernel.feature.Worker): at start-up, then every
    `every` seconds."""

    def __init__(self, store: Store, commune: CommuneSource, every: float = 600.0) -> None:
        self.store, self.commune, self.every = store, commune, every
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                zone = self.commune.current().teams.timezone
                days = await roll_up(self.store, zone, max_days=31) + await roll_up_writers(self.store, zone,
                                                                                            max_days=31)
                if days:
                    log.info("funnel roll-up: %d day(s) counted", days)
                    continue  # more to catch up: go on at once (a month at a time keeps transactions short)
            except Exception:  # the database went away: next time (two processes at once queue on the state row)
                log.exception("funnel roll-up failed")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.every)
            except TimeoutError:
                pass

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="funnel-rollup")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
