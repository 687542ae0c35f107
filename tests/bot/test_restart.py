"""A real server process killed in the middle of a guide; a new process continues at the same step."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.fakes.net import free_port
from tests.fakes.server import post_chat, start_server

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


async def test_killed_mid_guide_a_new_process_continues(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    first = start_server(env)
    sessions: dict[str, str] = {}
    try:
        body = await post_chat(port, {"user": "restart", "text": "hướng dẫn tôi cài VNeID"}, sessions)
        assert body["state"]["flow"] == "vneid_install"
        body = await post_chat(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 2
        body = await post_chat(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 3
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    second = start_server(env)
    try:
        body = await post_chat(port, {"user": "restart", "payload": "resume"}, sessions)
        assert (body["state"]["flow"], body["state"]["step"]) == ("vneid_install", 3)
        assert body["replies"][-1]["text"].startswith("Bước 3/")
        body = await post_chat(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 4
    finally:
        second.terminate()
        second.wait(timeout=10)
