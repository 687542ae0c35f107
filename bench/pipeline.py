"""Benchmark: N concurrent residents drive a real `python -m bot run` over HTTP (SQLite and PostgreSQL).

Prints turns per second, p50/p99 latency and the server's peak memory for each database.
Usage: .venv/bin/python bench/pipeline.py [--residents 100] [--turns 20] [--db sqlite,postgresql] [--limits off]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fakes import server as fakes_server  # noqa: E402
from tests.fakes.net import free_port  # noqa: E402
from tests.fakes.web_client import WebChat, client_session  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
# One resident's conversation: a question, then buttons through the guide, a detour and a restart.
SCRIPT = [("text", "làm sao cài ứng dụng VNeID"), ("payload", "done"), ("payload", "stuck"),
          ("payload", "done"), ("text", "cảm ơn bạn"), ("payload", "resume"), ("payload", "done"),
          ("payload", "done"), ("text", "chào bạn"), ("payload", "menu")]



def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def resident(web: WebChat, user: str, turns: int, latencies: list[float], errors: list[int]) -> None:
    for i in range(turns):
        kind, value = SCRIPT[i % len(SCRIPT)]
        t0 = time.perf_counter()
        status, _ = await web.post(user, **{kind: value, "id": f"{user}-{i}"})
        if status != 200:
            errors.append(status)
        latencies.append(time.perf_counter() - t0)


async def drive(port: int, residents: int, turns: int) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    errors: list[int] = []
    async with client_session(limit=residents) as http:
        web = WebChat(http, f"http://127.0.0.1:{port}")
        # Warm-up: first contact creates the residents (each gets its session token).
        await asyncio.gather(*(resident(web, f"warm-{i}", 1, [], errors) for i in range(residents)))
        t0 = time.perf_counter()
        await asyncio.gather(*(resident(web, f"bench-{uuid.uuid4().hex[:8]}", turns, latencies, errors)
                               for _ in range(residents)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies, errors


def start_server(database_url: str, port: int, limits: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_RATE_LIMITS": limits}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return fakes_server.start_server(env, quiet=True)


async def pg_schema(create: bool, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=100)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--limits", choices=("on", "off"), default="off",
                    help="BOT_RATE_LIMITS of the server: off (default) measures the pipeline; on measures it "
                         "under the web chat's limits (all residents come from one address, so expect 429s)")
    args = ap.parse_args()
    print(f"{'database':<11} {'turns':>6} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'peak MB':>8} {'errors':>6}")
    for db in args.db.split(","):
        tmp = tempfile.mkdtemp()
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        if db == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        else:
            asyncio.run(pg_schema(True, schema))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={schema}"
        port = free_port()
        proc = start_server(url, port, args.limits)
        try:
            elapsed, lat, errors = asyncio.run(drive(port, args.residents, args.turns))
            peak = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
            if db != "sqlite":
                asyncio.run(pg_schema(False, schema))
        lat.sort()
        p50 = statistics.median(lat) * 1000
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000
        print(f"{db:<11} {len(lat):>6} {len(lat) / elapsed:>8.0f} {p50:>7.1f} {p99:>7.1f} {peak:>8.0f} "
              f"{len(errors):>6}")


if __name__ == "__main__":
    main()
