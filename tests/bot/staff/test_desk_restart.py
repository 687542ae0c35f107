"""One case answered at the same time from the web desk and from the team's Telegram topic, in a real server
process killed (SIGKILL) while the answers were on their way to the resident on Telegram: after a restart
the resident has both answers, each once, in the order the case recorded them."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.handoff.models import CaseMessage
from bot.staff.accounts import StaffAccounts, password_hasher
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from tests.fakes.commune import MEMBER, TEAM_CHAT, write_commune
from tests.fakes.net import free_port
from tests.fakes.pacing import PASSWORD_PROFILE
from tests.fakes.restart import GatedTelegram, server_env, write_config
from tests.fakes.server import start_server

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace
RESIDENT = 5001
PASSWORD = "mật-khẩu-của-tổ-42"


async def case_messages(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(CaseMessage.text).order_by(CaseMessage.id))).scalars())
    finally:
        await engine.dispose()


async def test_answers_from_both_desks_reach_the_resident_once_each_in_order_across_a_kill(
        tmp_path: Path, database_url: str) -> None:
    engine = make_engine(database_url)
    await migrate(engine)
    await StaffAccounts(Store(engine), password_hasher(PASSWORD_PROFILE)).add("lan", "member", ["dai-cuong"], PASSWORD)
    await engine.dispose()
    fake = GatedTelegram(RESIDENT)
    await fake.start()
    fake.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=True)
    fake.add_user(RESIDENT, "Bác Tâm")
    config = write_config(tmp_path, write_commune(tmp_path / "commune"))
    port = free_port()
    env = server_env(database_url, port, fake)
    first = await asyncio.to_thread(start_server, env, ["--config", str(config)])
    base = f"http://127.0.0.1:{port}"
    try:
        fake.inject_message(RESIDENT, "cho tôi gặp người hỗ trợ")
        await fake.wait_until(lambda: any("thôn nào" in t for t in fake.texts(RESIDENT)), timeout=20)
        fake.press_button(RESIDENT, "village:dai-cuong")
        (card,) = await fake.wait_for(TEAM_CHAT, 1, timeout=20)
        await fake.wait_until(lambda: any("yêu cầu số" in t for t in fake.texts(RESIDENT)), timeout=20)
        case_id = next(int(b["callback_data"].rsplit(":", 1)[1]) for row in card.buttons for b in row)
        fake.gate.clear()  # from now on, messages to the resident hang in flight
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP address
            async with http.post(f"{base}/staff/login", data={"username": "lan", "password": PASSWORD},
                                 allow_redirects=False) as r:
                assert r.status == 303
            async with http.get(f"{base}/staff/api/me") as r:
                csrf = (await r.json())["csrf"]
            fake.inject_message(TEAM_CHAT, "Bác mở ứng dụng VNeID ra nhé", from_user=MEMBER, thread_id=card.thread_id)
            async with http.post(f"{base}/staff/api/cases/{case_id}/reply", json={"text": "Bác chờ cháu một chút"},
                                 headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 200
        for _ in range(200):  # both answers accepted (stored) before the kill
            if len(await case_messages(database_url)) == 2:
                break
            await asyncio.sleep(0.1)
        stored = await case_messages(database_url)
        assert sorted(stored) == ["Bác chờ cháu một chút", "Bác mở ứng dụng VNeID ra nhé"]
        await fake.wait_until(lambda: fake.held >= 1, timeout=20)
        assert not any(s in t for t in fake.texts(RESIDENT) for s in stored)  # neither answer got through yet
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    fake.gate.set()  # the requests in flight die with the process
    await asyncio.sleep(0.2)
    before = len(fake.texts(RESIDENT))

    second = await asyncio.to_thread(start_server, env, ["--config", str(config)])
    try:
        def arrived() -> list[str]:
            return [t for t in fake.texts(RESIDENT)[before:] if any(s in t for s in stored)]
        await fake.wait_until(lambda: len(arrived()) >= 2, timeout=30)
        await asyncio.sleep(4)  # longer than the lease: nothing comes twice
        assert [next(s for s in stored if s in t) for t in arrived()] == stored
    finally:
        second.terminate()
        second.wait(timeout=10)
        await fake.close()
