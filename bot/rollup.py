"""The funnel's daily roll-up: each closed day counted once into funnel_days, so a period reads whole days from it
and the raw events only after it (today), still counting each resident once per figure.

Distinct residents over a period [a, b] are the residents whose first count in the period falls on one of its
days: on day d, those whose previous count there (`prev_day`, kept per resident in funnel_seen) is before a. So
funnel_days keeps, per day, guide, measure and step, how many residents counted by the day of their previous
count, and a period sums the rows of its days with prev_day < a. Days after the roll-up come from the events,
without the residents funnel_seen saw in [a, through]. Whole commune only: a village's figures follow the
residents' current village, which the roll-up does not keep (they read the events, a village's share is small).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, and_, delete, func, insert, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import AnalyticsEvent, FunnelDay, FunnelMonth, FunnelSeen, RollupState, upsert
from bot.storage.store import Store

log = logging.getLogger(__name__)
NAME = "funnel"
FIRST_DAY = date(1970, 1, 1)  # prev_day of a resident never counted there before
ENDINGS = ("stuck", "complete", "cancel", "handoff")
GRACE_MINUTES = 5
Rows = dict[str, list[tuple[Any, ...]]]


def bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The day in the commune's time zone as UTC instants (start included, end excluded)."""
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def _pairs(where: Sequence[Any], reached: bool = True) -> Any:
    """(flow, measure, step, resident) of the events, each once: a start counts as started and as reaching its
    step, a step as reaching it, the endings as themselves (the raw funnel's queries, bot/stats.py). Without
    `reached`, the steps reached are left out (the most numerous)."""
    ev = AnalyticsEvent
    resident, step = func.coalesce(ev.resident_id, 0), func.coalesce(ev.step, "")
    parts = [
        select(ev.flow, literal("started", String).label("measure"), literal("", String).label("step"), resident)
        .where(*where, ev.kind == "flow_start"),
        *([select(ev.flow, literal("reached", String), step, resident)
           .where(*where, ev.kind.in_(("flow_start", "step")))] if reached else []),
        select(ev.flow, ev.kind, step, resident).where(*where, ev.kind.in_(ENDINGS)),
    ]
    mapped = union_all(*parts).subquery()
    names = list(mapped.c)
    return select(*[c.label(n) for c, n in zip(names, ("flow", "measure", "step", "resident"), strict=True)]
                  ).distinct().subquery()


def _seen_join(pairs: Any) -> Any:
    s = FunnelSeen
    return pairs.outerjoin(s, and_(s.flow == pairs.c.flow, s.measure == pairs.c.measure, s.step == pairs.c.step,
                                   s.resident_id == pairs.c.resident))


async def _roll_day(s: AsyncSession, day: date, zone: ZoneInfo) -> None:
    start, end = bounds(day, zone)
    ev = AnalyticsEvent
    pairs = _pairs([ev.flow.is_not(None), ev.created_at >= start, ev.created_at < end])
    prev = func.coalesce(FunnelSeen.last_day, FIRST_DAY)
    counted = (select(literal(day, Date), pairs.c.flow, pairs.c.measure, pairs.c.step, prev, func.count())
               .select_from(_seen_join(pairs)).group_by(pairs.c.flow, pairs.c.measure, pairs.c.step, prev))
    await s.execute(insert(FunnelDay).from_select(
        ["day", "flow", "measure", "step", "prev_day", "residents"], counted))
    d, insert_or = FunnelDay, upsert(s.get_bind().dialect.name)
    month = insert_or(FunnelMonth).from_select(
        ["month", "flow", "measure", "step", "prev_day", "residents"],
        select(literal(day.replace(day=1), Date), d.flow, d.measure, d.step, d.prev_day, d.residents)
        .where(d.day == day))
    await s.execute(month.on_conflict_do_update(
        index_elements=["month", "flow", "measure", "step", "prev_day"],
        set_={"residents": FunnelMonth.residents + month.excluded.residents}))
    seen = insert_or(FunnelSeen).from_select(  # SQLite needs the WHERE to read ON CONFLICT as the upsert
        ["flow", "measure", "step", "resident_id", "last_day"],
        select(pairs.c.flow, pairs.c.measure, pairs.c.step, pairs.c.resident, literal(day, Date)).where(true()))
    await s.execute(seen.on_conflict_do_update(index_elements=["flow", "measure", "step", "resident_id"],
                                               set_={"last_day": seen.excluded.last_day}))


async def roll_up(store: Store, zone: ZoneInfo, today: date | None = None, max_days: int | None = None) -> int:
    """Count the closed days (before `today`, the commune's) not counted yet, oldest first, one transaction each;
    the number of days counted. Without a state (new, a resident forgotten, another time zone) it starts over."""
    first = select(func.min(AnalyticsEvent.created_at)).where(AnalyticsEvent.flow.is_not(None))
    return await catch_up(store, zone, NAME, (FunnelDay, FunnelMonth, FunnelSeen), first, _roll_day, today, max_days)


async def catch_up(store: Store, zone: ZoneInfo, name: str, tables: Sequence[Any], first: Any,
                   roll_day: Callable[[AsyncSession, date, ZoneInfo], Awaitable[None]], today: date | None = None,
                   max_days: int | None = None) -> int:
    """A roll-up's closed days not counted yet (`roll_day` each, with its state `name`, in one transaction);
    without its state it empties `tables` and starts from the day of `first` (a query of the earliest time)."""
    # A day is closed a few minutes after midnight: a turn that began before it has committed its events by then.
    today = today or (datetime.now(zone) - timedelta(minutes=GRACE_MINUTES)).date()
    state: RollupState | None = None
    while state is None:  # None: a resident was forgotten (the row deleted) between the two statements
        async with store.writing() as s:
            # Two processes (run --workers N) may start over at once: both insert the state row if it is missing
            # (the second waits for the first's, then leaves it) and queue on its lock, so one empties the tables
            # and the other finds the state set (it used to read nothing too: a unique violation, or days twice).
            await s.execute(upsert(s.get_bind().dialect.name)(RollupState).values(name=name, zone="", through=FIRST_DAY)
                            .on_conflict_do_nothing(index_elements=["name"]))
            state = await s.get(RollupState, name, with_for_update=True, populate_existing=True)
            if state is None or state.zone == zone.key:
                continue
            for table in tables:
                await s.execute(delete(table))
            earliest = (await s.execute(first)).scalar_one()
            begin = min(earliest.astimezone(zone).date(), today) if earliest is not None else today
            state.zone, state.through = zone.key, begin - timedelta(days=1)
    done = 0
    while max_days is None or done < max_days:
        async with store.writing() as s:
            state = await s.get(RollupState, name, with_for_update=True)
            if state is None or state.zone != zone.key or state.through + timedelta(days=1) >= today:
                return done
            day = state.through + timedelta(days=1)
            await roll_day(s, day, zone)
            state.through = day
        done += 1
    return done


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _closed_parts(a: date, end: date) -> list[tuple[Any, Any, date, date]]:
    """The rolled-up days a..end as (table, its day column, from, to): the whole months from funnel_months, the
    days before and after them from funnel_days (every row still filtered by prev_day < a)."""
    if a > end:
        return []
    first_month = a if a.day == 1 else _next_month(a)
    last_month = end.replace(day=1) if _next_month(end) - timedelta(days=1) == end else \
        end.replace(day=1) - timedelta(days=1)  # a day of the month before end's (its start, once replaced)
    last_month = last_month.replace(day=1)
    if first_month > last_month:
        return [(FunnelDay, FunnelDay.day, a, end)]
    parts: list[tuple[Any, Any, date, date]] = [(FunnelMonth, FunnelMonth.month, first_month, last_month)]
    if a < first_month:
        parts.append((FunnelDay, FunnelDay.day, a, first_month - timedelta(days=1)))
    tail = _next_month(last_month)
    if tail <= end:
        parts.append((FunnelDay, FunnelDay.day, tail, end))
    return parts


async def through(s: AsyncSession, zone: ZoneInfo, name: str = NAME) -> date | None:
    """The last day the roll-up `name` has counted in this time zone (None: none yet)."""
    state = await s.get(RollupState, name, populate_existing=True)
    return state.through if state is not None and state.zone == zone.key else None


async def rolled(store: Store, zone: ZoneInfo, first: date | None, last: date | None,
                 flows: tuple[str, ...] | None, reached: bool = True) -> Rows | None:
    """The funnel's rows (shaped as bot/stats.py's raw queries: endings, started, reached) for the whole commune on
    the days first..last (None: open); None when there is no roll-up in this time zone yet. Without `reached`,
    no row for the steps reached (not read)."""
    a = first or FIRST_DAY + timedelta(days=1)
    for _ in range(5):  # a day counted between our reads would be counted twice: read again
        async with store.session() as s:
            last_counted = await through(s, zone)
            if last_counted is None:
                return None
            counts: dict[tuple[str, str, str], int] = {}
            closed_end = min(last, last_counted) if last is not None else last_counted
            for table, column, low, high in _closed_parts(a, closed_end):
                query = (select(table.flow, table.measure, table.step, func.sum(table.residents))
                         .where(column >= low, column <= high, table.prev_day < a,
                                *([table.flow.in_(flows)] if flows is not None else []),
                                *([] if reached else [table.measure != "reached"]))
                         .group_by(table.flow, table.measure, table.step))
                for flow, measure, step, n in (await s.execute(query)).all():
                    counts[(flow, measure, step)] = counts.get((flow, measure, step), 0) + int(n)
            open_first = max(a, last_counted + timedelta(days=1))
            if last is None or open_first <= last:
                ev = AnalyticsEvent
                where = [ev.flow.in_(flows) if flows is not None else ev.flow.is_not(None),
                         ev.created_at >= bounds(open_first, zone)[0],
                         *([ev.created_at < bounds(last, zone)[1]] if last is not None else [])]
                pairs = _pairs(where, reached)
                query = (select(pairs.c.flow, pairs.c.measure, pairs.c.step, func.count())
                         .select_from(_seen_join(pairs))
                         .where(or_(FunnelSeen.last_day.is_(None), FunnelSeen.last_day < a))
                         .group_by(pairs.c.flow, pairs.c.measure, pairs.c.step))
                for flow, measure, step, n in (await s.execute(query)).all():
                    counts[(flow, measure, step)] = counts.get((flow, measure, step), 0) + int(n)
            if await through(s, zone) != last_counted:
                continue
        rows: Rows = {"endings": [], "started": [], "reached": []}
        for (flow, measure, step, n) in ((*k, v) for k, v in sorted(counts.items())):
            if measure == "started":
                rows["started"].append((flow, n))
            elif measure == "reached":
                rows["reached"].append((flow, step or None, n))
            else:
                rows["endings"].append((flow, measure, step or None, n))
        return rows
    return None
