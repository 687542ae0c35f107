"""The assistant as a real server process, and a web chat client for it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

from kernel.settings import ROOT


def start_server(env: dict[str, str], args: list[str] | None = None, *,
                 quiet: bool = False) -> subprocess.Popen[bytes]:
    """`python -m bot run` in a process, once it listens on BOT_PORT (fails after 60 s).

    Its output is kept to explain a failed start; `quiet` discards it (a long benchmark run would
    fill the pipe and stall the server)."""
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    proc = subprocess.Popen([sys.executable, "-m", "bot", *(args or []), "run"], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
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


async def post_chat(port: int, body: dict[str, str], sessions: dict[str, str]) -> dict[str, Any]:
    """POST as the resident labelled body["user"], with the session token the server gave that label."""
    async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/api/chat",
                         json={"session": sessions.get(body["user"], ""), **body}) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
    sessions[body["user"]] = answer["session"]
    return answer
