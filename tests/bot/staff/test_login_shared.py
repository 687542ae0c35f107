"""Failed desk logins are counted in the database: two server processes cannot allow twice the tries."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.broadcast.models import RateBucket
from bot.staff.accounts import StaffAccounts, password_hasher
from bot.staff.throttle import PREFIX, DatabaseAttempts
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from integrations.web.desk_auth import LoginLimits, add_login_routes
from tests.fakes.pacing import PASSWORD_PROFILE

PASSWORD = "đúng-mật-khẩu-42"


async def _process(aiohttp_client: Any, url: str) -> Any:
    """A desk as one server process has it: its own engine and in-memory limits, the shared database."""
    engine = make_engine(url)
    await migrate(engine)
    store = Store(engine)
    app = web.Application()
    add_login_routes(app, StaffAccounts(store, password_hasher(PASSWORD_PROFILE)),
                     LoginLimits.default(DatabaseAttempts(store)))
    app.on_cleanup.append(lambda _app: engine.dispose())
    client = await aiohttp_client(app)
    client.store = store
    return client


async def _login(client: Any, password: str, username: str = "lan") -> int:
    r = await client.post("/staff/login", data={"username": username, "password": password}, allow_redirects=False)
    return int(r.status)


async def test_five_wrong_passwords_over_two_processes_lock_the_account_in_both(aiohttp_client: Any,
                                                                                database_url: str) -> None:
    first, second = await _process(aiohttp_client, database_url), await _process(aiohttp_client, database_url)
    accounts = StaffAccounts(first.store, password_hasher(PASSWORD_PROFILE))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("hoa", "admin", ["commune"], PASSWORD)
    for client in (first, second, first, second, first):  # each process saw fewer than five
        assert await _login(client, "sai-mat-khau") == 401
    assert await _login(second, "sai-mat-khau") == 429
    assert await _login(second, PASSWORD) == 429  # even the right one, in either process
    assert await _login(first, PASSWORD) == 429
    assert await _login(first, PASSWORD, "hoa") == 303  # the other account is not locked out
    async with first.store.session() as s:  # no name or address is stored, only hashes
        names = list((await s.execute(select(RateBucket.name).where(RateBucket.name.startswith(PREFIX)))).scalars())
    assert len(names) == 2 and not any("lan" in n or "127.0.0.1" in n for n in names)


async def test_one_failure_a_window_after_the_limit_and_spent_rows_are_deleted(database_url: str) -> None:
    engine = make_engine(database_url)
    await migrate(engine)
    now = [time.time()]  # the windows' clock, moved on by the test (a busy machine cannot stretch a window)
    attempts = DatabaseAttempts(Store(engine), clock=lambda: now[0])
    try:
        for _ in range(3):
            assert not await attempts.over("account:lan", 3, 0.5)
            await attempts.failed("account:lan", 3, 0.5)
        assert await attempts.over("account:lan", 3, 0.5)
        now[0] += 0.45  # not yet a window later
        assert await attempts.over("account:lan", 3, 0.5)
        now[0] += 0.1  # one window later: one more try
        assert not await attempts.over("account:lan", 3, 0.5)
        await attempts.failed("account:lan", 3, 0.5)
        assert await attempts.over("account:lan", 3, 0.5)
        now[0] += 2.1  # every window has passed: the row is spent and the next failure deletes it
        assert not await attempts.over("account:lan", 3, 0.5)
        await attempts.failed("address:10.0.0.1", 3, 0.5)
        async with engine.connect() as conn:
            rows = await conn.scalar(select(func.count()).select_from(RateBucket)
                                     .where(RateBucket.name.startswith(PREFIX)))
        assert rows == 1
    finally:
        await engine.dispose()
