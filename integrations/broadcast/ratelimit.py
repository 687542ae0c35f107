"""A token bucket per platform kept in the database, so every worker process shares one rate.

Each worker takes tokens in the same transaction that claims delivery rows, so tokens and
claims cannot drift apart: a claim of n rows spends n tokens. The bucket row is locked
for that transaction (`FOR UPDATE` on PostgreSQL; SQLite has a single writer anyway), so two
processes never spend the same token. Capacity is a few tens of milliseconds of rate, so
sends stay evenly spread instead of bursting after an idle moment. Time is the workers'
wall clock: they run on one machine (or NTP-synchronised ones).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.broadcast.config import PlatformLimit
from integrations.broadcast.models import RateBucket


async def bucket_for_update(s: AsyncSession, name: str, limit: PlatformLimit, now: float) -> RateBucket:
    """The platform's bucket, locked and refilled up to `now` (created full on first use)."""
    stmt = select(RateBucket).where(RateBucket.name == name).with_for_update()
    row = (await s.execute(stmt)).scalar_one_or_none()
    if row is None:
        try:
            async with s.begin_nested():
                row = RateBucket(name=name, tokens=limit.capacity, updated=now, paused_until=0.0)
                s.add(row)
                await s.flush()
        except IntegrityError:  # another worker created it a moment ago
            row = (await s.execute(stmt)).scalar_one()
        return row
    if now > row.updated:
        row.tokens = min(limit.capacity, row.tokens + (now - row.updated) * limit.rate)
        row.updated = now
    return row


def available(row: RateBucket, now: float) -> int:
    """Whole tokens that may be spent now (none while the platform asked us to pause)."""
    if now < row.paused_until:
        return 0
    return int(row.tokens)


def wait_time(row: RateBucket, limit: PlatformLimit, now: float) -> float:
    """Seconds until the next whole token (or the end of a pause)."""
    if now < row.paused_until:
        return row.paused_until - now
    return max(0.0, (1.0 - (row.tokens - int(row.tokens))) / limit.rate) if row.tokens < 1 else 0.0


def pause(row: RateBucket, until: float) -> None:
    """The platform answered 429: nobody sends on it before `until`."""
    row.paused_until = max(row.paused_until, until)
    row.tokens = 0.0
