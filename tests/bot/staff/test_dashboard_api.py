"""GET /staff/api/funnel over HTTP on a known history: the contract's figures, roles, days in the commune's time
zone, refused parameters; and `python -m bot stats` giving the same numbers (one computation)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.__main__ import main
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from tests.bot.staff.conftest import login
from tests.fakes.history import DECEMBER, DECEMBER_DAI_CUONG, FLOW, seed_history

DECEMBER_QUERY = f"/staff/api/funnel?flow={FLOW}&from=2026-12-01&to=2026-12-31"


async def test_the_funnel_counts_each_resident_once_per_figure_by_the_communes_days(dashboard: Any) -> None:
    assert (await dashboard.get(DECEMBER_QUERY)).status == 401  # no session
    await login(dashboard, "minh")
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
    await login(dashboard, "lan")
    r = await dashboard.get(DECEMBER_QUERY)
    assert r.status == 403 and "staff" in (await r.json())["error"]
    await login(dashboard, "hoa")
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
    await login(dashboard, "minh")
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
