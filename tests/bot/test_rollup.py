"""The funnel's daily roll-up gives the numbers the events give: a seeded history over ten weeks (residents coming
back to the same step on other days, near midnight, today included) compared period by period (whole months, days
around them, open ends) on both databases, with the roll-up caught up, partway, and after a resident is forgotten
(it starts over)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from bot.rollup import roll_up, rolled
from bot.rollup_writers import active_writers, roll_up_writers
from bot.staff import figures
from bot.stats import Scope, funnel_table
from bot.storage.db import AnalyticsEvent, FunnelDay, FunnelMonth, Message, Resident, RollupState, make_engine, migrate
from bot.storage.store import Store
from dialogues.flows import Library
from tests.fakes.history import ZONE

SPAN = 70  # days of history, today included: whole months inside the longer periods
KINDS = ("flow_start", "step", "step", "stuck", "complete", "cancel", "handoff", "misunderstood")


async def _seed(store: Store, library: Library, today: date) -> list[int]:
    """40 residents, 3,000 events over the last SPAN days (today too), a few guides, repeats on purpose."""
    rng = random.Random(19)
    flows = [f for f in library.flows.values() if f.steps][:4]
    async with store.writing() as s:
        residents = [Resident(channel="web", platform_id=f"r{i}", village=None) for i in range(40)]
        s.add_all(residents)
        await s.flush()
        ids = [r.id for r in residents]
        for _ in range(3000):
            flow = rng.choice(flows)
            kind = rng.choice(KINDS)
            step = flow.steps[0].id if kind == "flow_start" else rng.choice([*[st.id for st in flow.steps], None])
            day = today - timedelta(days=rng.randrange(SPAN))
            moment = datetime.combine(day, time(rng.choice((0, 12, 23)), rng.randrange(60)), ZONE).astimezone(UTC)
            s.add(AnalyticsEvent(resident_id=rng.choice(ids[:25]) if rng.random() < .8 else rng.choice(ids),
                                 kind=kind, flow=None if kind == "misunderstood" else flow.id, step=step,
                                 created_at=moment))
    return ids


def _periods(today: date) -> list[tuple[date | None, date | None]]:
    d = lambda n: today - timedelta(days=n)  # noqa: E731
    month = today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    return [(d(29), today), (d(6), today), (today, today), (d(20), d(1)), (d(10), d(10)), (d(15), d(3)),
            (None, None), (None, d(5)), (d(4), None), (d(1), d(1)), (d(65), today), (d(60), d(2)),
            (last_month, month - timedelta(days=1)), (last_month, today), (d(66), last_month + timedelta(days=3))]


async def _same_numbers(store: Store, library: Library, today: date, flows: tuple[str, ...] | None,
                        every: int = 1, reached: bool = True) -> None:
    """Every `every`-th period of _periods: the roll-up's funnel (which answers) is the events' funnel (without
    the steps reached: the dashboard's overview)."""
    for first, last in _periods(today)[::every]:
        scope = Scope.days(first, last, ZONE, flows)
        assert await rolled(store, ZONE, first, last, flows) is not None  # the roll-up answers
        fast = [asdict(f) for f in await funnel_table(store, library, scope, stops=False, reached=reached)]
        raw = [asdict(f) for f in await funnel_table(store, library, scope, stops=False, reached=reached,
                                                     rollup=False)]
        assert fast == raw, (first, last)


async def test_the_roll_up_counts_what_the_events_count(database_url: str, project_library: Library) -> None:
    engine = make_engine(database_url)
    await migrate(engine)
    store = Store(engine)
    try:
        today = datetime.now(ZONE).date()
        ids = await _seed(store, project_library, today)
        assert await rolled(store, ZONE, today, today, None) is None  # nothing rolled up yet: the events answer

        assert await roll_up(store, ZONE, today, max_days=8) == 8  # halfway: the rest from the events
        await _same_numbers(store, project_library, today, None, every=2)
        assert await roll_up(store, ZONE, today) == SPAN - 9  # the other closed days (SPAN - 1 before today), once
        assert await roll_up(store, ZONE, today) == 0
        async with store.session() as s:
            rows = (await s.execute(select(func.count()).select_from(FunnelDay))).scalar_one()
            repeats = (await s.execute(select(func.count()).select_from(FunnelDay)
                                       .where(FunnelDay.prev_day > date(1970, 1, 1)))).scalar_one()
        assert rows > 0 and repeats > 0  # residents came back on later days: the case that needs prev_day
        async with store.session() as s:
            months = (await s.execute(select(func.sum(FunnelMonth.residents)))).scalar_one()
            days = (await s.execute(select(func.sum(FunnelDay.residents)))).scalar_one()
        assert months == days  # every rolled-up day is in its month too
        await _same_numbers(store, project_library, today, None)
        await _same_numbers(store, project_library, today, tuple(sorted(project_library.flows)[:2]), every=3)
        await _same_numbers(store, project_library, today, None, every=2, reached=False)

        async with store.writing() as s:  # "forget me": the roll-up counted them, so it starts over
            await store.forget(s, ids[0])
        assert await rolled(store, ZONE, today, today, None) is None
        assert await roll_up(store, ZONE, today) == SPAN - 1
        await _same_numbers(store, project_library, today, None, every=3)
    finally:
        await engine.dispose()


async def test_a_village_or_the_stops_read_the_events(sqlite_url: str, project_library: Library) -> None:
    engine = make_engine(sqlite_url)
    await migrate(engine)
    store = Store(engine)
    try:
        today = datetime.now(ZONE).date()
        await _seed(store, project_library, today)
        await roll_up(store, ZONE, today)
        scope: Any = Scope.days(today - timedelta(days=9), today, ZONE)
        with_stops = await funnel_table(store, project_library, scope)
        raw = await funnel_table(store, project_library, scope, rollup=False)
        assert [asdict(f) for f in with_stops] == [asdict(f) for f in raw]
        assert any(st.stopped for f in with_stops for st in f.steps)
    finally:
        await engine.dispose()


async def test_who_wrote_from_the_roll_up_is_who_wrote(database_url: str) -> None:
    """The dashboard's active residents per place and channel: the roll-up of who wrote, the same as the messages,
    for the whole commune and one place, partway and caught up, and after a resident moves to another place."""
    engine = make_engine(database_url)
    await migrate(engine)
    store = Store(engine)
    try:
        today = datetime.now(ZONE).date()
        rng = random.Random(7)
        async with store.writing() as s:
            residents = [Resident(channel=rng.choice(("web", "telegram", "zalo")), platform_id=f"w{i}",
                                  village=rng.choice(("dai-cuong", "dong-lo", None))) for i in range(30)]
            s.add_all(residents)
            await s.flush()
            for _ in range(1200):
                day = today - timedelta(days=rng.randrange(SPAN))
                moment = datetime.combine(day, time(rng.choice((0, 9, 23)), rng.randrange(60)), ZONE).astimezone(UTC)
                s.add(Message(resident_id=rng.choice(residents).id, direction=rng.choice(("in", "in", "out")),
                              text="xin chào", created_at=moment))

        async def same() -> None:
            for first, last in _periods(today):
                for villages in (None, ("dai-cuong",)):
                    scope = Scope.days(first, last, ZONE, villages=villages)
                    assert await active_writers(store, ZONE, first, last, villages) is not None
                    assert await figures.reach(store, scope) == await figures.reach(store, scope, rollup=False), \
                        (first, last, villages)

        assert await roll_up_writers(store, ZONE, today, max_days=20) == 20
        await same()
        assert await roll_up_writers(store, ZONE, today) == SPAN - 21
        await same()
        async with store.writing() as s:  # moving: the figures follow the resident's place now
            moved = await s.get(Resident, residents[0].id)
            assert moved is not None
            moved.village = "dong-lo" if moved.village != "dong-lo" else "dai-cuong"
        await same()
    finally:
        await engine.dispose()


async def test_two_processes_roll_up_together(database_url: str, project_library: Library) -> None:
    """Two server processes' workers on one database (run --workers 2) start over at once (new, or a resident
    forgotten) and count the same days at once: no error, each day counted once, the events' numbers."""
    engines = [make_engine(database_url) for _ in range(2)]
    stores = [Store(engine) for engine in engines]
    try:
        today = datetime.now(ZONE).date()
        ids = await _seed(stores[0], project_library, today)
        async with stores[0].writing() as s:
            s.add_all(Message(resident_id=ids[i % 40], direction="in", text="xin chào",
                              created_at=datetime.combine(today - timedelta(days=i % SPAN), time(9), ZONE))
                      for i in range(300))
        for _ in range(10):  # both find no state and start over (it failed one time in a few)
            async with stores[0].writing() as s:
                await s.execute(delete(RollupState))
            assert await asyncio.gather(*(roll_up(store, ZONE, today, max_days=0) for store in stores),
                                        *(roll_up_writers(store, ZONE, today, max_days=0) for store in stores)
                                        ) == [0, 0, 0, 0]
        counted = await asyncio.gather(*(roll_up(store, ZONE, today) for store in stores),
                                       *(roll_up_writers(store, ZONE, today) for store in stores))
        assert sum(counted[:2]) == SPAN - 1 and sum(counted[2:]) == SPAN - 1, counted
        await _same_numbers(stores[1], project_library, today, None, every=5)
        scope = Scope.days(today - timedelta(days=40), today, ZONE)
        assert await figures.reach(stores[0], scope) == await figures.reach(stores[0], scope, rollup=False)
    finally:
        for engine in engines:
            await engine.dispose()
