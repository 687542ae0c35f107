"""Failed desk logins counted in the database, so every server process of `run --workers N` counts together.

A key (an account's name, a client address) has a row in the shared schedule table (the one the
broadcasts pace themselves with, bot/broadcast/ratelimit.py) named by a hash of the key, so no name or
address is stored. Its `next_at` is a "theoretical arrival time" (the generic cell rate algorithm):
each failure moves it one `window` past max(next_at, now); the key is over its limit while next_at is
more than (limit - 1) windows ahead. So `limit` failures are allowed at once, then one a window.
Rows whose time has passed say nothing and are deleted at the next failure.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlalchemy import delete, select

from bot.broadcast.models import RateBucket
from bot.broadcast.ratelimit import schedule_for_update
from bot.storage.store import Store

PREFIX = "login:"


def _name(key: str) -> str:
    return PREFIX + hashlib.sha256(key.encode()).hexdigest()[:26]  # the column holds 32 characters


class DatabaseAttempts:
    """integrations.web.desk_auth.SharedAttempts on the assistant's database."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock  # tests move it on instead of sleeping through windows

    async def over(self, key: str, limit: int, window: float) -> bool:
        async with self.store.session() as s:
            due = await s.scalar(select(RateBucket.next_at).where(RateBucket.name == _name(key)))
        return due is not None and due - self.clock() > (limit - 1) * window

    async def failed(self, key: str, limit: int, window: float) -> None:
        now = self.clock()
        async with self.store.writing() as s:
            await s.execute(delete(RateBucket).where(RateBucket.name.startswith(PREFIX, autoescape=True),
                                                     RateBucket.next_at < now))
            row = await schedule_for_update(s, _name(key), now)
            row.next_at = max(row.next_at, now) + window


__all__ = ["DatabaseAttempts"]
