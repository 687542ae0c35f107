"""Who wrote in a period (the dashboard's "active" residents) from a daily roll-up: one row per resident and closed
day they wrote, with the day they wrote before, so a period counts each resident once without reading a year of
messages (the method of bot/rollup.py; here per resident, so the figures follow their current village)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rollup import FIRST_DAY, bounds, catch_up, through
from bot.storage.db import Message, Resident, WriterDay
from bot.storage.store import Store

NAME = "writers"


def _inbound(where: list[Any]) -> Any:
    m = Message
    return (select(m.resident_id).where(m.direction == "in", m.resident_id.is_not(None), *where)
            .distinct().subquery())


async def _roll_day(s: AsyncSession, day: date, zone: ZoneInfo) -> None:
    start, end = bounds(day, zone)
    wrote = _inbound([Message.created_at >= start, Message.created_at < end])
    w = WriterDay.__table__.alias("before")
    before = select(func.max(w.c.day)).where(w.c.resident_id == wrote.c.resident_id).scalar_subquery()
    await s.execute(insert(WriterDay).from_select(
        ["day", "resident_id", "prev_day"],
        select(literal(day, Date), wrote.c.resident_id, func.coalesce(before, FIRST_DAY))))


async def roll_up_writers(store: Store, zone: ZoneInfo, today: date | None = None,
                          max_days: int | None = None) -> int:
    """Count the closed days not counted yet (see bot/rollup.py's roll_up); the number of days counted."""
    first = select(func.min(Message.created_at)).where(Message.direction == "in")
    return await catch_up(store, zone, NAME, (WriterDay,), first, _roll_day, today, max_days)


def wrote_parts(zone: ZoneInfo, first: date | None, last: date | None, last_counted: date) -> list[Any]:
    """Subqueries of resident ids (a `resident_id` column) that together are who wrote on the days first..last
    (None: open) when the roll-up has counted through `last_counted`: its rows (each resident once, on their first
    day in the period), then the messages after it (each resident once; may repeat one of the first)."""
    a = first or FIRST_DAY + timedelta(days=1)
    closed_end = min(last, last_counted) if last is not None else last_counted
    parts = []
    if a <= closed_end:
        w = WriterDay
        parts.append(select(w.resident_id).where(w.day >= a, w.day <= closed_end, w.prev_day < a).subquery())
    open_first = max(a, last_counted + timedelta(days=1))
    if last is None or open_first <= last:
        parts.append(_inbound([Message.created_at >= bounds(open_first, zone)[0],
                               *([Message.created_at < bounds(last, zone)[1]] if last is not None else [])]))
    return parts


async def writers_through(s: AsyncSession, zone: ZoneInfo) -> date | None:
    """The last day the roll-up of who wrote has counted (None: none yet in this time zone)."""
    return await through(s, zone, NAME)


async def active_writers(store: Store, zone: ZoneInfo, first: date | None, last: date | None,
                         villages: tuple[str, ...] | None) -> dict[tuple[str | None, str], int] | None:
    """Residents who wrote on the days first..last (None: open), per their village and channel now; None when
    there is no roll-up in this time zone yet."""
    a = first or FIRST_DAY + timedelta(days=1)
    r = Resident
    places = [r.village.in_(villages)] if villages is not None else []
    for _ in range(5):  # a day counted between our reads would be counted twice: read again
        async with store.session() as s:
            last_counted = await through(s, zone, NAME)
            if last_counted is None:
                return None
            counts: dict[tuple[str | None, str], int] = {}
            closed_end = min(last, last_counted) if last is not None else last_counted
            if a <= closed_end:
                w = WriterDay
                query = (select(r.village, r.channel, func.count()).join(w, w.resident_id == r.id)
                         .where(w.day >= a, w.day <= closed_end, w.prev_day < a, *places)
                         .group_by(r.village, r.channel))
                for village, channel, n in (await s.execute(query)).all():
                    counts[(village, channel)] = int(n)
            open_first = max(a, last_counted + timedelta(days=1))
            if last is None or open_first <= last:
                wrote = _inbound([Message.created_at >= bounds(open_first, zone)[0],
                                  *([Message.created_at < bounds(last, zone)[1]] if last is not None else [])])
                counted = exists().where(WriterDay.resident_id == r.id, WriterDay.day >= a,
                                         WriterDay.day <= closed_end)
                query = (select(r.village, r.channel, func.count()).join(wrote, wrote.c.resident_id == r.id)
                         .where(*places, *([~counted] if a <= closed_end else []))
                         .group_by(r.village, r.channel))
                for village, channel, n in (await s.execute(query)).all():
                    counts[(village, channel)] = counts.get((village, channel), 0) + int(n)
            if await through(s, zone, NAME) == last_counted:
                return counts
    return None


__all__ = ["active_writers", "roll_up_writers", "wrote_parts", "writers_through"]
