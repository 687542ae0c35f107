"""SQLite's WAL checkpoints on a thread of their own, so that a turn's commit never waits for the disk."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

log = logging.getLogger(__name__)
EVERY_SECONDS = 1.0  # at most one checkpoint a second, after a write
RESTART_PAGES = 4000  # a WAL this long (16 MB) is started over from its beginning
RESTART_WAIT_MS = 100


def _checkpoint(path: str, restart_pages: int) -> tuple[int, int, int]:
    """One checkpoint on a connection of its own (SQLite releases the GIL while it writes and syncs)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= restart_pages:
            # Under a steady load a writer always finds frames not copied yet, so the WAL never starts over
            # by itself: RESTART takes the write lock for the few frames written since, waits for readers
            # (briefly: the loop's writers wait for the lock asynchronously), and the next writer starts
            # from the WAL's beginning. Busy after RESTART_WAIT_MS: the next round tries again.
            conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return busy, frames, done
    finally:
        conn.close()


class Checkpoints:
    """Copies the WAL into the database file from a thread, at most every EVERY_SECONDS after a commit.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the event loop's
    thread: it syncs the WAL and writes pages back, milliseconds of disk during which no turn runs (measured:
    5 ms a commit at the median once the WAL stayed over the threshold). The serving connections turn it
    off (`PRAGMA wal_autocheckpoint=0`, db.py) and this does it beside the loop. Durability is unchanged:
    with synchronous=NORMAL a commit is in the WAL when it returns, as before."""

    def __init__(self, path: str, every: float = EVERY_SECONDS, restart_pages: int = RESTART_PAGES) -> None:
        self.path = path
        self.every = every
        self.restart_pages = restart_pages
        self._last = 0.0
        self._running: asyncio.Task[None] | None = None

    def committed(self) -> None:
        """A write transaction committed: start a checkpoint if none ran for `every` seconds."""
        now = time.monotonic()
        if now - self._last < self.every or (self._running is not None and not self._running.done()):
            return
        self._last = now
        self._running = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(_checkpoint, self.path, self.restart_pages)
        except sqlite3.Error as exc:  # busy or gone: the next commit tries again
            log.warning("WAL checkpoint of the database failed: %s", exc)

    async def wait(self) -> None:
        """Let a checkpoint under way finish (tests, shutdown)."""
        if self._running is not None:
            await asyncio.shield(self._running)


__all__ = ["Checkpoints", "EVERY_SECONDS"]
