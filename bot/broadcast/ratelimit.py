"""A send schedule per platform kept in the database, so every worker process shares one rate.

The platform's row holds `next_at`, the earliest time the next message may go out (the
"generic cell rate algorithm"). A worker claiming k deliveries takes the k slots
next_at, next_at + 1/r, ... and moves next_at on by k/r, in the same transaction as the
claim, so slots and claims cannot drift apart; the row is locked for that transaction
(`FOR UPDATE` on PostgreSQL; SQLite has a single writer anyway), so no two processes get
the same slot. Each send then waits for its own slot: messages leave evenly spaced at the
configured rate, whatever the number of workers, and nothing is lost to a bucket that
filled up while a worker was busy. Workers may claim slots up to `lookahead` seconds
ahead, which hides the database round trip. Time is the workers' wall clock: they run on
one machine (or NTP-synchronised ones).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast.config import PlatformLimit
from bot.broadcast.models import RateBucket


async def schedule_for_update(s: AsyncSession, name: str, now: float) -> RateBucket:
    """The platform's schedule row, locked for this transaction (created on first use)."""
    stmt = select(RateBucket).where(RateBucket.name == name).with_for_update()
    row = (await s.execute(stmt)).scalar_one_or_none()
    if row is None:
        try:
            async with s.begin_nested():
                row = RateBucket(name=name, next_at=now, paused_until=0.0)
                s.add(row)
                await s.flush()
        except IntegrityError:  # another worker created it a moment ago
            row = (await s.execute(stmt)).scalar_one()
    return row


def free_slots(row: RateBucket, limit: PlatformLimit, want: int, now: float, lookahead: float) -> tuple[int, float]:
    """How many slots may be taken now (at most `want`), or else how long to wait for one."""
    start = max(row.next_at, row.paused_until, now)
    horizon = now + lookahead
    if start > horizon:
        return 0, start - horizon
    return min(want, int((horizon - start) * limit.rate) + 1), 0.0


def take(row: RateBucket, limit: PlatformLimit, k: int, now: float) -> list[float]:
    """Take k consecutive slots; returns their times."""
    start = max(row.next_at, row.paused_until, now)
    gap = 1.0 / limit.rate
    row.next_at = start + k * gap
    return [start + i * gap for i in range(k)]


def pause(row: RateBucket, until: float) -> None:
    """The platform answered 429: nobody sends on it before `until`."""
    row.paused_until = max(row.paused_until, until)
    row.next_at = max(row.next_at, until)
