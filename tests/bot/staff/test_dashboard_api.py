"""GET /staff/api/funnel over HTTP on a known history: the contract's figures, roles, days in the commune's time
zone, refused parameters; and `python -m bot stats` giving the same numbers (one computation)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.__main__ import main
from bot.staff.accounts import StaffAccounts
from bot.staff.dashboard import DashboardFigures
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from dialogues.flows import load_library
from integrations.web.dashboard_api import add_dashboard_routes
from integrations.web.desk_auth import add_login_routes
from integrations.web.guard import harden
from kernel.commune import CommuneSource
from kernel.settings import ROOT, Settings
from tests.fakes.history import DECEMBER, DECEMBER_DAI_CUONG, FLOW, seed_history

PASSWORD = "mật-khẩu-bảng-số-liệu"
DECEMBER_QUERY = f"/staff/api/funnel?flow={FLOW}&from=2026-12-01&to=2026-12-31"


@pytest_asyncio.fixture
async def dashboard(aiohttp_client: Any, database_url: str, settings: Settings) -> AsyncIterator[Any]:
    engine = make_engine(database_url)
    await migrate(engine)
    store = Store(engine)
    await seed_history(store)
    accounts = StaffAccounts(store)
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "staff", ["commune"], PASSWORD)
    await accounts.add("hoa", "admin", ["commune"], PASSWORD)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    add_dashboard_routes(app, DashboardFigures(store, load_library(settings.flows_dir),
                                               CommuneSource(ROOT / "communes/ung-hoa")))
    yield await aiohttp_client(app)
    await engine.dispose()


async def _login(client: Any, username: str) -> None:
    r = await client.post("/staff/login", data={"username": username, "password": PASSWORD}, allow_redirects=False)
    assert r.status == 303


async def test_the_funnel_counts_each_resident_once_per_figure_by_the_communes_days(dashboard: Any) -> None:
    assert (await dashboard.get(DECEMBER_QUERY)).status == 401  # no session
    await _login(dashboard, "minh")
    r = await dashboard.get(DECEMBER_QUERY)
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    assert await r.json() == DECEMBER
    r = await dashboard.get(DECEMBER_QUERY + "&village=dai-cuong")
    assert await r.json() == DECEMBER_DAI_CUONG
    # One day: an's two starts just after midnight on 1 December (30 November in UTC) count once.
    day = await (await dashboard.get(f"/staff/api/funnel?flow={FLOW}&from=2026-12-01&to=2026-12-01")).json()
    assert (day["started"], day["completed"], day["steps"][1]) == (1, 1, {"step": 2, "reached": 1, "stuck": 1})
    # 1 January just after midnight is still 31 December in UTC: it belongs to January here.
    jan = await (await dashboard.get(f"/staff/api/funnel?flow={FLOW}&from=2027-01-01&to=2027-01-31")).json()
    assert (jan["started"], jan["steps"][1]["reached"]) == (1, 1)
    # A guide nobody started in the period: every step, all zeros.
    empty = await (await dashboard.get("/staff/api/funnel?flow=pay_qr&from=2027-02-01&to=2027-02-02")).json()
    assert empty["started"] == 0 and empty["steps"] and all(s["reached"] == s["stuck"] == 0 for s in empty["steps"])


async def test_admins_see_it_and_village_team_members_get_403(dashboard: Any) -> None:
    await _login(dashboard, "lan")
    r = await dashboard.get(DECEMBER_QUERY)
    assert r.status == 403 and "staff" in (await r.json())["error"]
    await _login(dashboard, "hoa")
    assert await (await dashboard.get(DECEMBER_QUERY)).json() == DECEMBER


REFUSED = [
    ("flow=vneid_install&from=2026-12-01", 400),                       # no `to`
    ("flow=vneid_install&from=2026-12-1&to=2026-12-31", 400),          # not YYYY-MM-DD
    ("flow=vneid_install&from=2026-02-30&to=2026-12-31", 400),         # no such day
    ("flow=vneid_install&from=２０２６-12-01&to=2026-12-31", 400),      # full-width digits
    ("flow=vneid_install&from=2026-12-31&to=2026-12-01", 400),         # backwards
    ("flow=vneid_install&from=2026-12-01&to=2026-12-31&village=nowhere", 400),
    ("flow=no_such_guide&from=2026-12-01&to=2026-12-31", 404),
]


async def test_refused_parameters_say_why(dashboard: Any) -> None:
    await _login(dashboard, "minh")
    for query, status in REFUSED:
        r = await dashboard.get("/staff/api/funnel?" + query)
        assert r.status == status and (await r.json())["error"], query


def test_the_stats_command_prints_the_same_numbers(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> None:
        engine = make_engine(database_url)
        await migrate(engine)
        await seed_history(Store(engine))
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["stats", "--from", "2026-12-01", "--to", "2026-12-31", "--village", "dai-cuong"]) == 0
    out = capsys.readouterr().out
    assert "started 2, completed 1 (50%), cancelled 0, handed off 0" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["2.", "search", "1", "1", "0"] in rows  # reached, stuck, stopped here
    assert ["1.", "open_store", "2", "0", "1"] in rows  # chi stopped at the first step
    assert main(["stats", "--from", "2026-12-31", "--to", "2026-12-01"]) == 2
    assert "from must not be after to" in capsys.readouterr().err
