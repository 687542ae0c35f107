"""The dashboard on a big PostgreSQL database: 100,000 residents, 2 million analytics events, 1 million
messages and 5,000 hand-off cases.

Seeds a schema of the `test` database (server-side, generate_series: guides and steps from dialogues/flows,
popular guides more often, a year of activity, 3% of messages unanswered in 300 wordings), then times over
real HTTP, logged in as a staff account, what the page loads (`GET /staff/api/dashboard`: every table) and
`GET /staff/api/funnel` for every guide; the last 30 days, one village, a whole year. Then prints the plan
(EXPLAIN ANALYZE) of every query the page's request ran.
Before the timings it brings the daily roll-ups up to date (bot/rollup.py, rollup_writers.py; `--no-rollup`: the
events and messages only).
Run: `.venv/bin/python bench/dashboard.py [--residents N] [--events N] [--messages N] [--reuse] [--no-rollup]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import event, text

from bot.rollup import roll_up
from bot.rollup_writers import roll_up_writers
from bot.staff.accounts import StaffAccounts, password_hasher
from bot.staff.dashboard import DashboardFigures
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from dialogues.flows import load_library
from integrations.web.dashboard_api import add_dashboard_routes
from integrations.web.desk_auth import add_login_routes
from integrations.web.guard import harden
from kernel.commune import CommuneSource
from kernel.settings import ROOT, WebSettings
from tests.fakes.net import free_port

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_dashboard"
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={SCHEMA}"
PASSWORD = "bench-dashboard-password"
VILLAGES = ("dai-cuong", "dai-hung", "dong-lo", "dong-tan", "kim-duong", "minh-duc", "tram-long", "trung-tu")


async def fresh_schema() -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE; CREATE SCHEMA "{SCHEMA}"')
    await conn.close()


async def seed(store: Store, residents: int, events: int) -> float:
    """Residents over the villages and channels; events: a year of guide activity. Returns seconds taken."""
    library = load_library(ROOT / "dialogues/flows")
    steps = [(fi, si, flow.id, step.id) for fi, flow in enumerate(library.flows.values(), 1)
             for si, step in enumerate(flow.steps, 1)]
    started = time.monotonic()
    async with store.writing() as s:
        await s.execute(text("CREATE TEMP TABLE bench_steps (fi int, si int, flow text, step text, n int) "
                             "ON COMMIT DROP"))
        for fi, si, flow_id, step_id in steps:
            await s.execute(text("INSERT INTO bench_steps VALUES (:fi, :si, :flow, :step, :n)"),
                            {"fi": fi, "si": si, "flow": flow_id, "step": step_id,
                             "n": len(library.flows[flow_id].steps)})
        villages = "ARRAY[" + ",".join(f"'{v}'" for v in VILLAGES) + "]"
        await s.execute(text(f"""
            INSERT INTO residents (channel, platform_id, language, village, subscribed, blocked, created_at)
            SELECT (ARRAY['telegram','zalo','web'])[1 + g % 3], 'bench-' || g, CASE WHEN g % 5 = 0 THEN 'en' END,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE ({villages})[1 + (g / 3) % 8] END,
                   g % 3 = 0, false, now() - interval '365 days' * random()
            FROM generate_series(1, :n) g"""), {"n": residents})
        # Popular guides more often (r2 squared); a start is at step 1; kinds by a share of events.
        await s.execute(text(f"""
            INSERT INTO analytics_events (resident_id, kind, flow, step, created_at)
            SELECT 1 + (e.g::bigint * 7919) % :residents, e.kind, st.flow, st.step, e.at
            FROM (SELECT g, r3, now() - interval '365 days' * random() AS at,
                         1 + floor(r2 * r2 * {len(library.flows)})::int AS fi,
                         CASE WHEN r1 < .20 THEN 'flow_start' WHEN r1 < .72 THEN 'step' WHEN r1 < .82 THEN 'stuck'
                              WHEN r1 < .92 THEN 'complete' WHEN r1 < .95 THEN 'cancel' WHEN r1 < .97 THEN 'handoff'
                              ELSE 'misunderstood' END AS kind
                  FROM (SELECT g, random() r1, random() r2, random() r3 FROM generate_series(1, :events) g) raw) e
            JOIN (SELECT fi, max(n) n FROM bench_steps GROUP BY fi) f ON f.fi = e.fi
            JOIN bench_steps st ON st.fi = e.fi
                 AND st.si = CASE WHEN e.kind = 'flow_start' THEN 1 ELSE 1 + floor(e.r3 * f.n)::int END"""),
                        {"residents": residents, "events": events})
    async with store.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE residents"))
        await conn.execute(text("VACUUM ANALYZE analytics_events"))
    return time.monotonic() - started


async def seed_messages(store: Store, residents: int, messages: int, cases: int) -> float:
    """Inbound messages over a year (3% unanswered, in 300 wordings) and hand-off cases. Seconds taken."""
    started = time.monotonic()
    async with store.writing() as s:
        await s.execute(text("""
            INSERT INTO messages (resident_id, direction, text, intent, created_at)
            SELECT 1 + (g::bigint * 104729) % :residents, 'in',
                   CASE WHEN g % 100 < 3 THEN 'câu hỏi chưa có câu trả lời số ' || (g * 7 % 300) ELSE 'cài vneid' END,
                   CASE WHEN g % 100 < 2 THEN 'out_of_scope' WHEN g % 100 < 3 THEN 'low_confidence'
                        ELSE 'vneid_install' END,
                   now() - interval '365 days' * random()
            FROM generate_series(1, :messages) g"""), {"residents": residents, "messages": messages})
        villages = "ARRAY[" + ",".join(f"'{v}'" for v in VILLAGES) + "]"
        await s.execute(text(f"""
            INSERT INTO cases (resident_id, status, team, village, language, channel, reason, flow, step, tried,
                               history, opened_at, due_at, claimed_at, solved)
            SELECT 1 + o.g % :residents, (ARRAY['open','claimed','resolved','resolved'])[1 + o.g % 4],
                   (ARRAY['commune','dai-cuong'])[1 + g % 2], ({villages})[1 + g % 8], 'vi', 'telegram', 'asked',
                   'vneid_install', 'search', '[]', '[]', o.at, o.at,
                   CASE WHEN g % 4 > 0 THEN o.at + interval '1 minute' * (5 + g % 120) END,
                   CASE WHEN g % 4 = 2 THEN true WHEN g % 4 = 3 THEN false END
            FROM (SELECT g, now() - interval '365 days' * random() AS at FROM generate_series(1, :cases) g) o"""),
                        {"residents": residents, "cases": cases})
    async with store.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE messages"))
        await conn.execute(text("VACUUM ANALYZE cases"))
    return time.monotonic() - started


async def counts(store: Store) -> dict[str, int]:
    async with store.session() as s:
        return {table: int((await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
                for table in ("residents", "analytics_events", "messages", "cases")}


class Site:
    """The desk's login and the dashboard on a real HTTP server, and a logged-in staff client."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.library = load_library(ROOT / "dialogues/flows")
        self.statements: list[tuple[str, Any]] = []
        self.capture = False

    async def __aenter__(self) -> Site:
        accounts = StaffAccounts(self.store, password_hasher(WebSettings().password_profile))  # as in production
        if not any(a.username == "bench" for a in await accounts.list()):
            await accounts.add("bench", "staff", ["commune"], PASSWORD)
        app = web.Application()
        harden(app, self.store)
        add_login_routes(app, accounts)
        add_dashboard_routes(app, DashboardFigures(self.store, self.library, CommuneSource(ROOT / "communes/ung-hoa")))
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # an IP address
        await self.http.post(f"{self.base}/staff/login", data={"username": "bench", "password": PASSWORD})

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if self.capture and statement.lstrip().upper().startswith("SELECT"):
                self.statements.append((statement, parameters))

        event.listen(self.store.engine.sync_engine, "before_cursor_execute", record)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.runner.cleanup()

    async def get(self, path: str) -> float:
        t0 = time.perf_counter()
        async with self.http.get(self.base + path) as r:
            assert r.status == 200, await r.text()
            await r.read()
        return time.perf_counter() - t0


def period(days: int, village: str | None) -> str:
    last = date.today()
    first = last - timedelta(days=days - 1)
    return f"from={first}&to={last}" + (f"&village={village}" if village else "")


async def time_funnels(site: Site, days: int, village: str | None) -> list[float]:
    """Seconds per `GET /staff/api/funnel`, one per guide."""
    when = period(days, village)
    return [await site.get(f"/staff/api/funnel?flow={flow_id}&{when}") for flow_id in site.library.flows]


async def time_page(site: Site, days: int, village: str | None, repeat: int = 10) -> list[float]:
    """Seconds per `GET /staff/api/dashboard`: everything the page shows."""
    return [await site.get(f"/staff/api/dashboard?{period(days, village)}") for _ in range(repeat)]


async def plans(site: Site, days: int, village: str | None) -> None:
    """EXPLAIN ANALYZE of every query one page load runs."""
    site.statements.clear()
    site.capture = True
    await site.get(f"/staff/api/dashboard?{period(days, village)}")
    site.capture = False
    async with site.store.engine.connect() as conn:
        for statement, parameters in site.statements:
            print("\n-- " + " ".join(statement.split())[:300])
            result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            for (line,) in result:
                print("   ", line)


async def compare(store: Store, days: int, rounds: int = 5) -> None:
    """The page's two costliest figures (every guide's funnel, who wrote), from the roll-ups and from the events,
    alternately (a loaded machine slows both alike): wall-clock medians and their ratio."""
    from dataclasses import replace

    from bot.staff.figures import reach
    from bot.stats import Scope, funnel_table

    library = load_library(ROOT / "dialogues/flows")
    zone = CommuneSource(ROOT / "communes/ung-hoa").current().teams.timezone
    last = date.today()
    scope = replace(Scope.days(last - timedelta(days=days - 1), last, zone), flows=tuple(library.flows))
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for rollup in (True, False):
            t0 = time.perf_counter()
            await funnel_table(store, library, scope, stops=False, reached=False, rollup=rollup)
            await reach(store, scope, rollup=rollup)
            times[rollup].append(time.perf_counter() - t0)
    fast, raw = (statistics.median(times[k]) * 1000 for k in (True, False))
    print(f"funnels + who wrote, {days} days: roll-ups p50 {fast:7.1f} ms, events p50 {raw:7.1f} ms "
          f"({raw / fast:.1f}x)")


def summary(label: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    print(f"{label:<48} n={len(ms):>3}  p50 {statistics.median(ms):7.1f} ms  max {ms[-1]:7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded schema")
    parser.add_argument("--no-rollup", action="store_true", help="the funnel from the events (as before 0440)")
    args = parser.parse_args()
    if not args.reuse:
        await fresh_schema()
    engine = make_engine(URL)
    await migrate(engine)
    store = Store(engine)
    try:
        if (await counts(store))["analytics_events"] == 0:
            print(f"residents and events seeded in {await seed(store, args.residents, args.events):.1f} s")
        if (await counts(store))["messages"] == 0:
            took = await seed_messages(store, args.residents, args.messages, args.cases)
            print(f"messages and cases seeded in {took:.1f} s")
        print(f"PostgreSQL schema {SCHEMA}: " + ", ".join(f"{n:,} {t}" for t, n in (await counts(store)).items()))
        zone = CommuneSource(ROOT / "communes/ung-hoa").current().teams.timezone
        if args.no_rollup:
            async with store.writing() as s:
                await s.execute(text("DELETE FROM rollup_state"))  # the figures read the events
        else:
            t0 = time.monotonic()
            days = await roll_up(store, zone)
            print(f"funnel roll-up: {days} closed day(s) counted in {time.monotonic() - t0:.1f} s "
                  "(once; then a day each night)")
            t0 = time.monotonic()
            days = await roll_up_writers(store, zone)
            print(f"who-wrote roll-up: {days} closed day(s) counted in {time.monotonic() - t0:.1f} s")
            async with store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("funnel_days", "funnel_months", "funnel_seen", "writer_days"):
                    await conn.execute(text(f"VACUUM ANALYZE {table}"))
        if not args.no_rollup:
            for days in (30, 365):
                await compare(store, days)
        async with Site(store) as site:
            await time_page(site, 30, None, repeat=2)  # warm-up: connections, caches
            summary("GET /staff/api/dashboard, 30 days", await time_page(site, 30, None))
            summary("GET /staff/api/dashboard, 30 days, one village", await time_page(site, 30, "dai-cuong"))
            summary("GET /staff/api/dashboard, 365 days", await time_page(site, 365, None, repeat=3))
            summary("GET /staff/api/funnel, 30 days", await time_funnels(site, 30, None))
            summary("GET /staff/api/funnel, 30 days, one village", await time_funnels(site, 30, "dai-cuong"))
            summary("GET /staff/api/funnel, 365 days", await time_funnels(site, 365, None))
            await plans(site, 30, None)
            await plans(site, 30, "dai-cuong")
            await plans(site, 365, None)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
