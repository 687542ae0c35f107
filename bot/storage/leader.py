"""One process at a time for a job (polling Telegram): a PostgreSQL session advisory lock on its own connection.

The lock belongs to the database session, so it is released when the holder releases it or its connection
closes: a killed process's socket closes with it, the server ends the session and the next try of another
process (every `retry_seconds`) takes it. The connection is in autocommit, never idle in a transaction,
with short TCP keepalives so that a holder that vanished without closing its socket is dropped quickly.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# The first number of the lock's key: keeps these locks apart from the residents' turn locks
# (bot/storage/store.py) and from anything else sharing the database.
LEADER_LOCKS = 0x5450  # "TP"
_TRY = text("SELECT pg_try_advisory_lock(:space, hashtext(:name))")
_UNLOCK = text("SELECT pg_advisory_unlock(:space, hashtext(:name))")
_ALIVE = text("SELECT 1")
# A holder whose machine vanishes without closing its socket (power cut, network gone) would keep the lock
# until the server's TCP keepalive gives up (two hours by default): on this connection it probes after 5 s
# of silence, every 2 s, and drops it after 3 unanswered probes.
_KEEPALIVES = (text("SET tcp_keepalives_idle = 5"), text("SET tcp_keepalives_interval = 2"),
               text("SET tcp_keepalives_count = 3"))


class SessionLock:
    """kernel.ports.Leadership on PostgreSQL: `pg_try_advisory_lock` held by a dedicated connection."""

    def __init__(self, engine: AsyncEngine, name: str, retry_seconds: float = 2.0,
                 check_timeout: float = 5.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("a session advisory lock needs PostgreSQL")
        self.engine = engine
        self.name = name
        self.retry_seconds = retry_seconds
        self.check_timeout = check_timeout
        self._conn: AsyncConnection | None = None
        self._held = False

    @property
    def _key(self) -> dict[str, object]:
        return {"space": LEADER_LOCKS, "name": self.name}

    async def try_acquire(self) -> bool:
        """One try; True if this process holds the lock now."""
        if self._held:
            return True
        try:
            if self._conn is None:
                conn = await self.engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for setting in _KEEPALIVES:
                    await self._conn.execute(setting)
            self._held = bool((await self._conn.execute(_TRY, self._key)).scalar())
        except Exception as exc:  # the database is down or restarting: try again later
            log.warning("leader %s: could not ask the database (%s)", self.name, type(exc).__name__)
            await self._drop()
        return self._held

    async def acquire(self) -> None:
        waiting_logged = False
        while not await self.try_acquire():
            if not waiting_logged:
                log.info("leader %s: another process holds it; trying every %.0f s", self.name, self.retry_seconds)
                waiting_logged = True
            await asyncio.sleep(self.retry_seconds)
        log.info("leader %s: taken by this process", self.name)

    async def held(self) -> bool:
        """The lock lives as long as its session: the connection answering means it is still held."""
        if not self._held or self._conn is None:
            return False
        try:
            await asyncio.wait_for(self._conn.execute(_ALIVE), self.check_timeout)
        except Exception as exc:
            log.warning("leader %s: lost (%s)", self.name, type(exc).__name__)
            await self._drop()
        return self._held

    async def release(self) -> None:
        held, unlocked = self._held, False
        if self._conn is not None and held:
            try:
                unlocked = bool((await self._conn.execute(_UNLOCK, self._key)).scalar())
            except Exception:  # the session is gone, and the lock with it
                pass
        await self._drop(invalidate=held and not unlocked)

    async def _drop(self, invalidate: bool = True) -> None:
        """Forget the connection; one that may still hold the lock is invalidated (closed for good), never
        returned to the pool where another task would hold the lock unknowingly."""
        conn, self._conn, self._held = self._conn, None, False
        if conn is None:
            return
        try:
            if invalidate:
                await conn.invalidate()
            await conn.close()
        except Exception:
            pass


__all__ = ["SessionLock", "LEADER_LOCKS"]
