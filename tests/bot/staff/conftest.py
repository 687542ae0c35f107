"""A migrated database and the staff accounts on it; the dashboard on a known history."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web

from bot.staff.accounts import StaffAccounts, password_hasher
from bot.staff.community import CommunityData
from bot.staff.dashboard import DashboardFigures
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from integrations.web.community_api import add_community_routes
from integrations.web.dashboard_api import add_dashboard_routes
from integrations.web.desk_auth import add_login_routes
from integrations.web.guard import harden
from integrations.web.page import STATIC
from kernel.commune import CommuneSource
from kernel.i18n import Catalogs
from kernel.settings import ROOT, Settings
from tests.fakes.history import seed_dashboard
from tests.fakes.pacing import PASSWORD_PROFILE
from tests.fakes.services import project_library


@pytest_asyncio.fixture
async def accounts(database_url: str) -> AsyncIterator[StaffAccounts]:
    engine = make_engine(database_url)
    await migrate(engine)
    yield StaffAccounts(Store(engine), password_hasher(PASSWORD_PROFILE))
    await engine.dispose()


PASSWORD = "mật-khẩu-bảng-số-liệu"


@pytest_asyncio.fixture
async def dashboard(aiohttp_client: Any, database_url: str, settings: Settings) -> AsyncIterator[Any]:
    """The desk's login and the dashboard's routes on a database with the known history (tests/fakes/history.py),
    and three accounts: lan (member), minh (staff), hoa (admin)."""
    engine = make_engine(database_url)
    await migrate(engine)
    store = Store(engine)
    ids = await seed_dashboard(store)
    accounts = StaffAccounts(store, password_hasher(PASSWORD_PROFILE))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "staff", ["commune"], PASSWORD)
    await accounts.add("hoa", "admin", ["commune"], PASSWORD)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    app.router.add_static("/static", STATIC)  # the desk's and the dashboard's scripts, for the browser tests
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    add_dashboard_routes(app, DashboardFigures(store, project_library(),
                                               CommuneSource(ROOT / "communes/ung-hoa"), catalogs), catalogs)
    client = await aiohttp_client(app)
    client.store, client.ids = store, ids
    yield client
    await engine.dispose()


async def login(client: Any, username: str) -> None:
    r = await client.post("/staff/login", data={"username": username, "password": PASSWORD}, allow_redirects=False)
    assert r.status == 303


@pytest_asyncio.fixture
async def community(aiohttp_client: Any, sqlite_url: str, tmp_path: Path, settings: Settings) -> AsyncIterator[Any]:
    """The desk's login and the community data page on a copy of the commune's files (tmp_path/commune);
    accounts lan (member), minh (staff)."""
    engine = make_engine(sqlite_url)
    await migrate(engine)
    store = Store(engine)
    accounts = StaffAccounts(store, password_hasher(PASSWORD_PROFILE))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "staff", ["commune"], PASSWORD)
    directory = tmp_path / "commune"
    shutil.copytree(ROOT / "communes/ung-hoa", directory)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    app.router.add_static("/static", STATIC)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    add_community_routes(app, CommunityData(store, CommuneSource(directory), catalogs), catalogs)
    client = await aiohttp_client(app)
    client.directory = directory
    yield client
    await engine.dispose()


STAFF_YML = """approval_required: {approval}
staff:
  - {{id: ubnd-xa, name: Văn phòng UBND xã, web_username: minh, broadcast_to: all, approver: true}}
  - {{id: doan-thanh-nien, name: Đoàn Thanh niên xã, web_username: thu, broadcast_to: [dai-cuong], approver: false}}
"""


def write_staff(directory: Path, approval: bool) -> None:
    (directory / "staff.yml").write_text(STAFF_YML.format(approval=str(approval).lower()), encoding="utf-8")


@pytest_asyncio.fixture
async def announce(aiohttp_client: Any, sqlite_url: str, tmp_path: Path, settings: Settings) -> AsyncIterator[Any]:
    """The desk's login and the announcement page on a copy of the commune's files whose staff.yml links the web
    accounts minh (staff; ubnd-xa, the whole commune, approver) and thu (staff; doan-thanh-nien, dai-cuong only);
    hoa (admin) is linked to no member, lan is a village team member. Six Telegram residents, 1000-1005,
    alternately in dai-cuong and dong-lo."""
    from bot.broadcast.web import WebAnnouncements
    from integrations.web.announce_api import add_announce_routes
    from kernel.settings import BroadcastSettings, PlatformLimit
    from tests.fakes.broadcast import add_residents

    engine = make_engine(sqlite_url)
    await migrate(engine)
    store = Store(engine)
    accounts = StaffAccounts(store, password_hasher(PASSWORD_PROFILE))
    for name, role in (("lan", "member"), ("minh", "staff"), ("thu", "staff"), ("hoa", "admin")):
        await accounts.add(name, role, ["dai-cuong"] if role == "member" else ["commune"], PASSWORD)
    await add_residents(store, 6, villages=("dai-cuong", "dong-lo"))
    directory = tmp_path / "commune"
    shutil.copytree(ROOT / "communes/ung-hoa", directory)
    write_staff(directory, approval=False)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    app.router.add_static("/static", STATIC)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    cfg = BroadcastSettings(limits={"telegram": PlatformLimit(30.0), "zalo": PlatformLimit(10.0)}, poll_seconds=0.05,
                            check_seconds=0.2)
    add_announce_routes(app, WebAnnouncements(store, CommuneSource(directory), catalogs, cfg), catalogs)
    client = await aiohttp_client(app)
    client.store, client.directory, client.catalogs, client.broadcast = store, directory, catalogs, cfg
    yield client
    await engine.dispose()
