"""A real server process killed in the middle of a guide; a new process continues at the same step."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from kernel.settings import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], args: list[str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bot", *(args or []), "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    port = int(env["BOT_PORT"])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


async def _post(port: int, body: dict[str, str], sessions: dict[str, str]) -> dict:  # type: ignore[type-arg]
    """POST as the resident labelled body["user"], with the session token the server gave that label."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{port}/api/chat",
                             json={"session": sessions.get(body["user"], ""), **body}) as r:
            assert r.status == 200
            answer = await r.json()
    sessions[body["user"]] = answer["session"]
    return answer  # type: ignore[no-any-return]


async def test_killed_mid_guide_a_new_process_continues(tmp_path: Path, database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    first = _start(env)
    sessions: dict[str, str] = {}
    try:
        body = await _post(port, {"user": "restart", "text": "hướng dẫn tôi cài VNeID"}, sessions)
        assert body["state"]["flow"] == "vneid_install"
        body = await _post(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 2
        body = await _post(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 3
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    second = _start(env)
    try:
        body = await _post(port, {"user": "restart", "payload": "resume"}, sessions)
        assert (body["state"]["flow"], body["state"]["step"]) == ("vneid_install", 3)
        assert body["replies"][-1]["text"].startswith("Bước 3/")
        body = await _post(port, {"user": "restart", "payload": "done"}, sessions)
        assert body["state"]["step"] == 4
    finally:
        second.terminate()
        second.wait(timeout=10)
