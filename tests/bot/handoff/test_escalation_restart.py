"""A real server process killed (SIGKILL) after the resident's message was accepted and while it was on its
way to the team: after a restart the team gets it exactly once. Staff actions sent while the server is
down (stopped or killed) are served by the next process."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.handoff.models import Case, CaseMessage, Outbox
from bot.storage.db import make_engine
from tests.fakes.commune import MEMBER, TEAM_CHAT, write_commune
from tests.fakes.net import free_port
from tests.fakes.restart import GatedTelegram, server_env, write_config
from tests.fakes.server import post_chat, start_server
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


async def test_killed_before_delivery_to_the_team_delivered_once_after_restart(tmp_path: Path,
                                                                               database_url: str) -> None:
    fake = GatedTelegram(TEAM_CHAT)
    await fake.start()
    fake.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=True)
    config = write_config(tmp_path, write_commune(tmp_path / "commune"))
    port = free_port()
    env = server_env(database_url, port, fake)
    first = await asyncio.to_thread(start_server, env, ["--config", str(config)])  # the fake must keep answering
    text = "Bác vẫn không vào được ứng dụng"
    sessions: dict[str, str] = {}
    try:
        await post_chat(port, {"user": "bac-tam", "payload": "human"}, sessions)
        await post_chat(port, {"user": "bac-tam", "payload": "village:dai-cuong"}, sessions)
        await fake.wait_for(TEAM_CHAT, 1, timeout=20)  # the card
        fake.gate.clear()
        body = await post_chat(port, {"user": "bac-tam", "text": text}, sessions)
        assert body["replies"], "the resident is told the message is on its way"
        await fake.wait_until(lambda: fake.held == 1, timeout=20)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    fake.gate.set()  # the in-flight request dies with the process: Telegram never got it
    await asyncio.sleep(0.2)
    assert not any(text in t for t in fake.texts(TEAM_CHAT))

    second = await asyncio.to_thread(start_server, env, ["--config", str(config)])
    try:
        await fake.wait_until(lambda: any(text in t for t in fake.texts(TEAM_CHAT)), timeout=30)
        await asyncio.sleep(4)  # longer than the lease: nothing else comes
        assert sum(text in t for t in fake.texts(TEAM_CHAT)) == 1
        relayed = next(m for m in fake.sent_to(TEAM_CHAT) if text in m.text)
        assert relayed.thread_id == fake.sent_to(TEAM_CHAT)[0].thread_id  # in the case's topic
    finally:
        second.terminate()
        second.wait(timeout=10)
        await fake.close()
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(Outbox.status, Outbox.attempts, Outbox.platform_message_id)
                                       .where(Outbox.kind == "message"))).all()
    finally:
        await engine.dispose()
    assert [(status, attempts) for status, attempts, _ in rows] == [("delivered", 2)]
    assert rows[0][2] == str(relayed.message_id)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_staff_actions_sent_while_the_server_restarts_are_applied(tmp_path: Path, sqlite_url: str,
                                                                        how: signal.Signals) -> None:
    """A claim, a reply in the case's topic and /cases sent while the server is down wait at Telegram; the
    next process serves them: its staff desk routes to the features before polling starts (issue 17)."""
    fake = FakeTelegram()
    await fake.start()
    fake.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=True)
    fake.add_user(MEMBER, "Lan")
    config = write_config(tmp_path, write_commune(tmp_path / "commune"))
    port = free_port()
    env = server_env(sqlite_url, port, fake)
    sessions: dict[str, str] = {}
    first = await asyncio.to_thread(start_server, env, ["--config", str(config)])
    try:
        await post_chat(port, {"user": "bac-tam", "payload": "human"}, sessions)
        await post_chat(port, {"user": "bac-tam", "payload": "village:dai-cuong"}, sessions)
        (card,) = await fake.wait_for(TEAM_CHAT, 1, timeout=20)
    finally:
        first.send_signal(how)
        await asyncio.to_thread(first.wait, 20)
    case_id = int(card.data[0].rpartition(":")[2])
    # While no server runs: the member claims, answers in the topic and asks for the open cases.
    fake.press_button(TEAM_CHAT, f"esc:claim:{case_id}", from_user=MEMBER)
    fake.inject_message(TEAM_CHAT, "Bác thử đăng nhập lại nhé", from_user=MEMBER, thread_id=card.thread_id)
    fake.inject_message(TEAM_CHAT, "/cases", from_user=MEMBER, thread_id=card.thread_id)
    second = await asyncio.to_thread(start_server, env, ["--config", str(config)])
    try:
        await fake.wait_until(lambda: any("Lan đã nhận yêu cầu" in t for t in fake.texts(TEAM_CHAT))
                              and any("Yêu cầu đang mở" in t for t in fake.texts(TEAM_CHAT)), timeout=30)
        (listed,) = [t for t in fake.texts(TEAM_CHAT) if "Yêu cầu đang mở" in t]
        assert str(case_id) in listed and "Lan" in listed  # /cases answered, after the claim
        await fake.wait_until(lambda: fake.pending_updates == 0, timeout=10)
        answers: list[str] = []
        for _ in range(60):
            body = await poll_chat(port, sessions["bac-tam"])
            answers += [r["text"] for r in body["replies"]]
            if any("Bác thử đăng nhập lại nhé" in a for a in answers):
                break
            await asyncio.sleep(0.5)
    finally:
        second.terminate()
        await asyncio.to_thread(second.wait, 20)
        await fake.close()
    assert any("Lan" in a and "đã nhận yêu cầu" in a for a in answers)  # the claim reached the resident
    assert any("Bác thử đăng nhập lại nhé" in a for a in answers)  # and the reply in the topic
    assert [len(fake.callback_answers)] == [1]  # the press was answered
    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            case = (await conn.execute(select(Case.status, Case.assignee_id).where(Case.id == case_id))).one()
            said = (await conn.execute(select(CaseMessage.text).where(CaseMessage.direction == "out"))).scalars()
            out = list(said)
    finally:
        await engine.dispose()
    assert tuple(case) == ("claimed", MEMBER) and out == ["Bác thử đăng nhập lại nhé"]


async def poll_chat(port: int, session: str) -> dict[str, Any]:
    """The web chat's poll, as the page does it (each message returned once without an ack)."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/api/chat/poll",
                                                         params={"session": session}) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
    return answer
