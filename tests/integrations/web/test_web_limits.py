"""The web chat's flood limits: per resident, per address, on new residents; all off with BOT_RATE_LIMITS=off.
And its backlog: requests past it are refused at once, limits off or on."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.storage.db import Resident
from bot.storage.residents import Residents
from integrations.web.chat import make_web_app
from integrations.web.limits import Backlog, FloodLimiter, WebLimits, address_key
from kernel.settings import load_settings
from tests.fakes.web_client import WebChat


async def _web(aiohttp_client, services, limits: WebLimits) -> WebChat:  # type: ignore[no-untyped-def]
    app = make_web_app(services.pipeline, services.store, Residents(services.store), limits, services.mailboxes)
    return WebChat(await aiohttp_client(app))


async def test_new_residents_per_address_are_limited_but_known_ones_go_on(aiohttp_client, services) -> None:  # type: ignore[no-untyped-def]
    web = await _web(aiohttp_client, services, WebLimits(new_per_address=FloodLimiter(3, 60)))
    for i in range(3):
        await web.chat(f"new-{i}", payload="menu")
    status, body = await web.post("new-3", payload="menu")
    assert status == 429 and "error" in body
    await web.chat("new-0", payload="menu")  # an existing resident is not a new one
    async with services.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Resident))).scalar_one() == 3


async def test_one_address_is_limited_whatever_the_residents(aiohttp_client, services) -> None:  # type: ignore[no-untyped-def]
    web = await _web(aiohttp_client, services, WebLimits(address=FloodLimiter(4, 60)))
    for i in range(4):
        await web.chat(f"r{i % 2}", payload="menu")
    assert (await web.post("r0", payload="menu"))[0] == 429
    assert (await web.poll("r0"))[0] == 429  # polls count too: each costs a database look-up


async def test_limits_off_lets_everything_through(aiohttp_client, services) -> None:  # type: ignore[no-untyped-def]
    tight = FloodLimiter(1, 60)
    web = await _web(aiohttp_client, services, WebLimits(tight, tight, tight, tight, enabled=False))
    for i in range(6):
        await web.chat(f"r{i % 3}", payload="menu")


def test_the_settings_switch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_settings(env={}).web.rate_limits is True
    settings = load_settings(env={"BOT_RATE_LIMITS": "off"})
    assert settings.web.rate_limits is False and WebLimits.of(settings.web).enabled is False
    with pytest.raises(ValueError, match="BOT_RATE_LIMITS"):
        load_settings(env={"BOT_RATE_LIMITS": "maybe"})


def test_flood_limiter_window_slides() -> None:
    limiter = FloodLimiter(2, 10)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=1)
    assert not limiter.allow("a", now=5)
    assert limiter.allow("a", now=10.5)


def test_memory_is_bounded() -> None:
    limiter = FloodLimiter(1, 60, max_keys=1000)
    for i in range(50_000):
        limiter.allow(f"id-{i}", now=0)
    assert len(limiter) == 1000
    assert not limiter.allow("id-49999", now=1)  # the most recent keys are still counted


def test_ipv6_counts_by_its_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.7") == "203.0.113.7" and address_key(None) == "?"


async def test_past_the_backlog_a_request_is_refused_at_once_with_503(aiohttp_client, services) -> None:  # type: ignore[no-untyped-def]
    """Limits off and all: while one turn waits for the database (another process holds SQLite's writer),
    a second request is not queued behind it; it gets 503 with Retry-After, and the first still succeeds."""
    limits = WebLimits(enabled=False, backlog=Backlog(limit=1))
    web = await _web(aiohttp_client, services, limits)
    await web.chat("a", payload="menu")
    writer = sqlite3.connect(make_url(services.settings.database_url).database or "", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        first = asyncio.create_task(web.post("a", payload="menu"))
        while limits.backlog.working == 0:
            await asyncio.sleep(0.01)
        status, answer = await web.post("b", text="xin chào")
        r = await web.http.get("/api/chat/poll", params={"session": web.sessions["a"]})
        assert r.status == 503 and r.headers["Retry-After"] == "5"
        assert not first.done()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert status == 503 and "busy" in answer["error"]
    assert (await first)[0] == 200
    assert limits.backlog.working == 0
    assert (await web.post("b", text="xin chào"))[0] == 200
    async with services.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Resident))).scalar_one() == 2  # a, then b once


def test_the_backlog_is_set_in_the_configuration() -> None:
    settings = load_settings(env={"BOT_RATE_LIMITS": "off"})
    assert WebLimits.of(settings.web).backlog.limit == settings.web.max_requests_in_progress == 200
