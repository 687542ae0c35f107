"""The team desk's login over HTTP: cookie flags, CSRF, attempt limits, logout, /staff/api/me."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.staff.accounts import StaffAccounts, password_hasher
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from integrations.web.desk_auth import COOKIE, add_login_routes
from integrations.web.guard import harden
from tests.fakes.pacing import PASSWORD_PROFILE

PASSWORD = "đúng-mật-khẩu-42"


@pytest_asyncio.fixture
async def desk(aiohttp_client: Any, sqlite_url: str) -> AsyncIterator[Any]:
    engine = make_engine(sqlite_url)
    await migrate(engine)
    store = Store(engine)
    accounts = StaffAccounts(store, password_hasher(PASSWORD_PROFILE))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("hoa", "admin", ["commune"], PASSWORD)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    client = await aiohttp_client(app)
    client.accounts = accounts
    yield client
    await engine.dispose()


async def _login(client: Any, username: str = "lan", password: str = PASSWORD) -> Any:
    return await client.post("/staff/login", data={"username": username, "password": password},
                             allow_redirects=False)


async def test_login_sets_a_strict_cookie_and_me_answers(desk: Any) -> None:
    assert (await desk.get("/staff/api/me")).status == 401
    r = await _login(desk)
    assert r.status == 303 and r.headers["Location"] == "/staff/"
    cookie = r.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/staff"
    assert not cookie["secure"]  # plain http on loopback; over https request.secure sets it
    me = await (await desk.get("/staff/api/me")).json()
    assert {k: me[k] for k in ("username", "role", "teams")} == {"username": "lan", "role": "member",
                                                                  "teams": ["dai-cuong"]}
    assert len(me["csrf"]) >= 40
    page = await desk.get("/staff/")
    assert page.status == 200 and "desk.js" in await page.text()


async def test_wrong_credentials_say_nothing_about_which_part(desk: Any) -> None:
    wrong_password, unknown_name = await _login(desk, password="sai-mat-khau"), await _login(desk, "nobody")
    assert wrong_password.status == unknown_name.status == 401
    assert await wrong_password.json() == await unknown_name.json()
    assert COOKIE not in wrong_password.cookies
    assert (await desk.post("/staff/login", data={"username": "lan"})).status == 400


async def test_the_sixth_wrong_password_in_a_minute_is_refused(desk: Any) -> None:
    for _ in range(5):
        assert (await _login(desk, password="sai-mat-khau")).status == 401
    assert (await _login(desk, password="sai-mat-khau")).status == 429
    assert (await _login(desk)).status == 429  # even the right one, until the minute has passed
    assert (await _login(desk, "hoa")).status == 303  # another account is not locked out by lan's guesser


@pytest.mark.slow  # load: many argon2 logins
async def test_one_address_trying_many_names_is_refused(desk: Any) -> None:
    for i in range(20):
        assert (await _login(desk, f"guess{i}", "sai-mat-khau")).status == 401
    assert (await _login(desk, "hoa")).status == 429


async def test_every_post_needs_the_csrf_token_and_logout_ends_the_session(desk: Any) -> None:
    await _login(desk)
    csrf = (await (await desk.get("/staff/api/me")).json())["csrf"]
    assert (await desk.post("/staff/api/me")).status == 403  # an API POST without the header
    assert (await desk.post("/staff/api/me", headers={"X-CSRF-Token": "wrong"})).status == 403
    assert (await desk.post("/staff/logout", allow_redirects=False)).status == 403
    assert (await desk.get("/staff/api/me")).status == 200  # the refused logout ended nothing
    token = desk.session.cookie_jar.filter_cookies(desk.make_url("/staff/"))[COOKIE].value
    r = await desk.post("/staff/logout", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303
    assert await desk.accounts.session(token) is None
    assert (await desk.get("/staff/api/me", cookies={COOKIE: token})).status == 401  # a kept copy is dead too


async def test_a_login_posted_from_another_site_is_refused(desk: Any) -> None:
    r = await desk.post("/staff/login", data={"username": "lan", "password": PASSWORD},
                        headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert r.status == 403 and COOKIE not in r.cookies


@pytest.mark.parametrize("path", ["/staff/api/me", "/staff/api/cases", "/staff/api/cases/1"])
async def test_without_a_session_every_api_path_is_401(desk: Any, path: str) -> None:
    assert (await desk.get(path)).status == 401
    assert (await desk.post(path)).status == 401
