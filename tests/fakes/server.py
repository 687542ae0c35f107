"""The assistant as a real server process, and a web chat client for it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from kernel.settings import ROOT


def start_server(env: dict[str, str], args: list[str] | None = None, *, quiet: bool = False,
                 log: Path | None = None, run_args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """`python -m bot [args] run [run_args]` in a process, once it listens on BOT_PORT (fails after 60 s).

    Its output is kept to explain a failed start; `quiet` discards it (a long benchmark run would
    fill the pipe and stall the server); `log` appends it to a file the test may read meanwhile."""
    command = [sys.executable, "-m", "bot", *(args or []), "run", *(run_args or [])]
    if log is not None:
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    else:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    return _listening(proc, int(env["BOT_PORT"]), log)


def _listening(proc: subprocess.Popen[bytes], port: int, log: Path | None) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log.read_text(errors="replace") if log else proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited: {output}")
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
