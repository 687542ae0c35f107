"""The dashboard's figures on a big PostgreSQL database: 100,000 residents and 2 million analytics events.

Seeds a schema of the `test` database (server-side, generate_series: guides and steps from dialogues/flows,
popular guides more often, a year of events), then times `GET /staff/api/funnel` over real HTTP as the
dashboard calls it (a logged-in staff account; every guide, the last 30 days, all villages and one village)
and prints the query plans (EXPLAIN ANALYZE) of the funnel's queries.
Run: `.venv/bin/python bench/dashboard.py [--residents 100000] [--events 2000000] [--reuse]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import text

from bot.staff.accounts import StaffAccounts
from bot.staff.dashboard import DashboardFigures
from bot.stats import Scope, funnel_queries
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from dialogues.flows import load_library
from integrations.web.dashboard_api import add_dashboard_routes
from integrations.web.desk_auth import add_login_routes
from integrations.web.guard import harden
from kernel.commune import CommuneSource
from kernel.settings import ROOT
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


async def counts(store: Store) -> tuple[int, int]:
    async with store.session() as s:
        r = (await s.execute(text("SELECT count(*) FROM residents"))).scalar_one()
        e = (await s.execute(text("SELECT count(*) FROM analytics_events"))).scalar_one()
    return int(r), int(e)


async def time_api(store: Store, days: int, village: str | None) -> list[float]:
    """Seconds per `GET /staff/api/funnel` over HTTP, one per guide, the last `days` days."""
    library = load_library(ROOT / "dialogues/flows")
    accounts = StaffAccounts(store)
    if not any(a.username == "bench" for a in await accounts.list()):
        await accounts.add("bench", "staff", ["commune"], PASSWORD)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    add_dashboard_routes(app, DashboardFigures(store, library, CommuneSource(ROOT / "communes/ung-hoa")))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    last = date.today()
    first = last - timedelta(days=days - 1)
    times = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP address
            await http.post(f"{base}/staff/login", data={"username": "bench", "password": PASSWORD})
            for flow_id in library.flows:
                query = f"flow={flow_id}&from={first}&to={last}" + (f"&village={village}" if village else "")
                t0 = time.perf_counter()
                async with http.get(f"{base}/staff/api/funnel?{query}") as r:
                    assert r.status == 200, await r.text()
                    await r.json()
                times.append(time.perf_counter() - t0)
    finally:
        await runner.cleanup()
    return times


async def plans(store: Store, flow_id: str, days: int, village: str | None) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    last = date.today()
    scope = Scope.days(last - timedelta(days=days - 1), last, zone, (flow_id,), (village,) if village else None)
    async with store.session() as s:
        for name, query in funnel_queries(scope, stops=False).items():
            sql = query.compile(store.engine.sync_engine, compile_kwargs={"literal_binds": True})
            print(f"\n-- {name} ({flow_id}, last {days} days{', village ' + village if village else ''})")
            result = await s.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"))
            for (line,) in result:
                print("   ", line)


def summary(label: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    print(f"{label:<44} n={len(ms):>3}  p50 {statistics.median(ms):7.1f} ms  max {ms[-1]:7.1f} ms  "
          f"all guides {sum(ms):8.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded schema")
    args = parser.parse_args()
    if not args.reuse:
        await fresh_schema()
    engine = make_engine(URL)
    await migrate(engine)
    store = Store(engine)
    try:
        if await counts(store) == (0, 0):
            took = await seed(store, args.residents, args.events)
            print(f"seeded in {took:.1f} s")
        residents, events = await counts(store)
        print(f"PostgreSQL schema {SCHEMA}: {residents:,} residents, {events:,} analytics events")
        await time_api(store, 30, None)  # warm-up: connections, caches
        summary("GET /staff/api/funnel, 30 days", await time_api(store, 30, None))
        summary("GET /staff/api/funnel, 30 days, one village", await time_api(store, 30, "dai-cuong"))
        summary("GET /staff/api/funnel, 365 days", await time_api(store, 365, None))
        popular = next(iter(load_library(ROOT / "dialogues/flows").flows))
        await plans(store, popular, 30, None)
        await plans(store, popular, 30, "dai-cuong")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
