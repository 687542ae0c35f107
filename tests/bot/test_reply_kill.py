"""A real server process killed (SIGKILL) after a turn committed and before the platform accepted its reply:
after a restart the resident gets that reply exactly once, and the next message is answered normally. One
test per channel: Telegram (python-telegram-bot against the fake Bot API), Zalo (the fake OA API), the web
chat (the answer lost on the way, the request retried with its id)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from sqlalchemy import func, select

from bot.storage.db import Message, make_engine
from bot.storage.outbox import REPLY, Outbox
from kernel.settings import ROOT
from tests.fakes.net import free_port
from tests.fakes.server import start_server
from tests.fakes.tcp_proxy import SwallowingProxy
from tests.fakes.telegram_api import ApiError, FakeTelegram
from tests.fakes.zalo import TOKEN_KEY
from tests.fakes.zalo_api import FakeZalo

pytestmark = pytest.mark.slow  # end to end: real processes, killed and started again

LEASE = 3  # seconds: a killed process's replies come due again after this


def write_config(tmp_path: Path) -> Path:
    """The project's config with absolute paths and a short outbox lease (so the test need not wait)."""
    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for section, key in (("nlu", "model_path"), ("nlu", "data_dir"), ("dialogues", "flows_dir")):
        raw[section][key] = str(ROOT / raw[section][key])
    raw["commune_dir"] = str(ROOT / raw["commune_dir"])
    raw["escalation"] = {"lease_seconds": LEASE, "poll_seconds": 0.2}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


async def reply_rows(database_url: str) -> list[tuple[str | None, str]]:
    """(source, status) of every saved turn reply, once none is pending (a sent reply is marked just after)."""
    engine = make_engine(database_url)
    try:
        for _ in range(50):
            async with engine.connect() as conn:
                rows = [(s, st) for s, st in (await conn.execute(
                    select(Outbox.source, Outbox.status).where(Outbox.kind == REPLY).order_by(Outbox.id))).all()]
            if all(st != "pending" for _, st in rows):
                break
            await asyncio.sleep(0.1)
        return rows
    finally:
        await engine.dispose()


class HeldTelegram(FakeTelegram):
    """The fake Bot API, able to hold messages to residents in flight (then drop them unrecorded: Telegram
    never gets a request whose sender died before it was answered)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = 0

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if int(params.get("chat_id", 0)) > 0 and not self.gate.is_set():
            self.held += 1
            self._notify()
            await self.gate.wait()
            raise ApiError(502, "Bad Gateway")
        return await super()._m_sendMessage(params)


async def test_telegram_reply_cut_off_by_a_kill_arrives_once_after_restart(tmp_path: Path,
                                                                           database_url: str) -> None:
    fake = HeldTelegram()
    await fake.start()
    fake.add_user(7001, "Tâm")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1",
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "TELEGRAM_MODE": "polling"}
    args = ["--config", str(write_config(tmp_path))]
    first = await asyncio.to_thread(start_server, env, args)
    try:
        fake.gate.clear()
        fake.inject_message(7001, "/start")
        await fake.wait_until(lambda: fake.held == 1, timeout=30)  # the turn is saved, its reply in flight
    finally:
        kill(first)
    fake.gate.set()
    await asyncio.sleep(0.2)
    assert fake.sent_to(7001) == []
    second = await asyncio.to_thread(start_server, env, args)
    try:
        await fake.wait_for(7001, 1, timeout=30)
        await asyncio.sleep(LEASE + 1)  # longer than the lease: nothing comes twice
        greeting = fake.texts(7001)
        assert greeting and len(set(greeting)) == len(greeting)
        assert "Trợ lý số" in greeting[0]
        fake.inject_message(7001, "cài vneid")
        answer = await fake.wait_for(7001, len(greeting) + 1, timeout=30)
        assert answer[-1].text not in greeting  # the next message is answered normally
        rows = await reply_rows(database_url)
    finally:
        stop(second)
        await fake.close()
    assert {status for _, status in rows} == {"delivered"}
    assert len([s for s, _ in rows if s == rows[0][0]]) == len(greeting)  # the turn's replies, each once


class HeldZalo(FakeZalo):
    """The fake Zalo OA API, able to hold customer-service messages in flight (dropped unrecorded)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = 0

    async def message_cs(self, request: web.Request) -> web.Response:
        if not self.gate.is_set():
            self.held += 1
            await self.gate.wait()
            return web.json_response({"error": -32, "message": "Exceeded rate limit"})
        return await super().message_cs(request)


@contextlib.asynccontextmanager
async def zalo_platform(fake: FakeZalo) -> AsyncIterator[str]:
    runner = web.AppRunner(fake.app(), handler_cancellation=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def until(predicate: Any, timeout: float) -> None:
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_zalo_reply_cut_off_by_a_kill_arrives_once_after_restart(tmp_path: Path, sqlite_url: str) -> None:
    fake = HeldZalo()
    async with zalo_platform(fake) as url, aiohttp.ClientSession() as http:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": sqlite_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1",
               "ZALO_MODE": "oa", "ZALO_APP_ID": fake.app_id, "ZALO_OA_SECRET_KEY": fake.oa_secret_key,
               "ZALO_APP_SECRET": fake.app_secret, "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0",
               "ZALO_API_URL": url, "ZALO_OAUTH_URL": url, "ZALO_TOKEN_KEY": TOKEN_KEY}
        env.pop("TELEGRAM_BOT_TOKEN", None)
        args = ["--config", str(write_config(tmp_path))]
        webhook = f"http://127.0.0.1:{port}/zalo/webhook"
        event = fake.text_event("z-88", "xin chào", msg_id="zm-1")
        first = await asyncio.to_thread(start_server, env, args)
        try:
            fake.gate.clear()
            status, _ = await fake.deliver(http, webhook, event)
            assert status == 200  # acknowledged: Zalo will not send it again
            await until(lambda: fake.held == 1, timeout=30)
        finally:
            kill(first)
        fake.gate.set()
        await asyncio.sleep(0.2)
        assert fake.to("z-88") == []
        second = await asyncio.to_thread(start_server, env, args)
        try:
            await until(lambda: fake.to("z-88"), timeout=30)
            await asyncio.sleep(LEASE + 1)
            greeting = [s.text for s in fake.to("z-88")]
            assert len(set(greeting)) == len(greeting) and "Trợ lý số" in greeting[0]
            status, _ = await fake.deliver(http, webhook, fake.text_event("z-88", "cài vneid", msg_id="zm-2"))
            assert status == 200
            await until(lambda: len(fake.to("z-88")) > len(greeting), timeout=30)
            assert fake.to("z-88")[len(greeting)].text not in greeting
            rows = await reply_rows(sqlite_url)
        finally:
            stop(second)
    assert [s for s, _ in rows].count("zm-1") == len(greeting) and {st for _, st in rows} == {"delivered"}


async def chat(port: int, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/api/chat", json=body) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
        return answer


async def test_web_answer_lost_by_a_kill_is_given_again_to_the_retried_request(tmp_path: Path,
                                                                               sqlite_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    args = ["--config", str(write_config(tmp_path))]
    first = await asyncio.to_thread(start_server, env, args)
    proxy = SwallowingProxy(port)
    await proxy.start()
    sent = {"text": "cài vneid", "id": "c-1"}
    try:
        greeted = await chat(port, {"text": "xin chào", "id": "c-0", "ack": ""})
        session = greeted["session"]
        sent["ack"] = greeted["ack"]  # the page acknowledges what it was shown with every request
        lost = asyncio.create_task(chat(proxy.port, {"session": session, **sent}))
        await asyncio.wait_for(proxy.forwarded.wait(), 30)
    finally:
        kill(first)
        lost.cancel()
        await proxy.stop()
    second = await asyncio.to_thread(start_server, env, args)
    try:
        retried = await chat(port, {"session": session, **sent})  # the page sends it again, with its id
        again = await chat(port, {"session": session, **sent})
        assert retried["replies"] and retried["replies"] == again["replies"] and retried["at"] == again["at"]
        assert any("VNeID" in r["text"] for r in retried["replies"])
        assert not set(map(str, retried["replies"])) & set(map(str, greeted["replies"]))  # nothing twice
        step = retried["replies"][-1]["buttons"][0]["payload"]
        following = await chat(port, {"session": session, "payload": step, "at": retried["at"], "id": "c-2",
                                      "ack": retried["ack"]})
        assert following["replies"] and following["at"] != retried["at"]  # answered normally
        assert not set(map(str, following["replies"])) & set(map(str, retried["replies"]))
    finally:
        stop(second)
    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            turns = (await conn.execute(select(func.count()).select_from(Message)
                                        .where(Message.platform_message_id == "c-1"))).scalar_one()
    finally:
        await engine.dispose()
    assert turns == 1  # one turn for the message, however often it was sent
    assert json.dumps(retried["replies"])  # the same shape as any answer
