"""Benchmark: Zalo residents talk to a real `python -m bot run` through signed OA webhook events.

A fake Zalo (tests/fakes/zalo_api.py) runs in this process on loopback: it signs the events and
receives the replies. Each resident waits for (the first message of) the reply before the next event, as a person would.
Half-way through, every access token is expired: the run shows what one refresh costs and that
concurrent senders refresh only once. Prints webhook acknowledgement and reply round-trip latency.
Usage: .venv/bin/python bench/zalo.py [--residents 50] [--turns 10] [--db sqlite,postgresql]
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
from collections import defaultdict
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.pipeline import cpu_seconds, peak_rss_mb, pg_schema  # noqa: E402
from integrations.zalo.format import PAYLOAD_MARK  # noqa: E402
from tests.fakes.net import free_port  # noqa: E402
from tests.fakes.zalo_api import FakeZalo, Sent  # noqa: E402

SCRIPT = ["xin chào", "cài vneid", PAYLOAD_MARK + "done", PAYLOAD_MARK + "stuck", PAYLOAD_MARK + "done",
          "cảm ơn bạn", PAYLOAD_MARK + "resume", PAYLOAD_MARK + "done", PAYLOAD_MARK + "done", PAYLOAD_MARK + "menu"]


def start_server(database_url: str, port: int, fake_url: str, fake: FakeZalo) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "ZALO_APP_ID": fake.app_id,
           "ZALO_OA_SECRET_KEY": fake.oa_secret_key, "ZALO_APP_SECRET": fake.app_secret,
           "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0", "ZALO_API_URL": fake_url,
           "ZALO_OAUTH_URL": fake_url, "ZALO_MODE": "oa",
           "ZALO_TOKEN_KEY": "q0M3mG4o7x0n2nqZ8bW4Yv5b3F9c8y2sJdQe6lqvG1A="}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(os.environ.get("BENCH_LOG", os.devnull), "ab"))


async def wait_ready(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start")


async def run(db_url: str, residents: int, turns: int) -> dict[str, float]:
    fake = FakeZalo()
    arrivals: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def arrived(sent: Sent) -> None:
        arrivals[sent.user_id].set()

    fake.on_sent = arrived
    runner = web.AppRunner(fake.app())
    await runner.setup()
    fake_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", fake_port).start()
    port = free_port()
    proc = start_server(db_url, port, f"http://127.0.0.1:{fake_port}", fake)
    acks: list[float] = []
    trips: list[float] = []
    errors = 0
    try:
        await wait_ready(port)
        url = f"http://127.0.0.1:{port}/zalo/webhook"
        half = asyncio.Event()
        done_turns = 0

        async def resident(http: aiohttp.ClientSession, user: str) -> None:
            nonlocal errors, done_turns
            for i in range(turns):
                arrivals[user].clear()
                t0 = time.perf_counter()
                status, _ = await fake.deliver(http, url, fake.text_event(user, SCRIPT[i % len(SCRIPT)]))
                acks.append(time.perf_counter() - t0)
                if status != 200:
                    errors += 1
                    continue
                try:
                    await asyncio.wait_for(arrivals[user].wait(), 30)
                    trips.append(time.perf_counter() - t0)
                except TimeoutError:
                    errors += 1
                done_turns += 1
                if done_turns == residents * turns // 2 and not half.is_set():
                    half.set()
                    fake.expire_access_tokens()

        cpu0 = cpu_seconds(proc.pid)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=residents)) as http:
            t0 = time.perf_counter()
            await asyncio.gather(*(resident(http, f"84{uuid.uuid4().int % 10**10:010d}") for _ in range(residents)))
            elapsed = time.perf_counter() - t0
        # A resident moves on at the first message of a reply; let the last messages arrive.
        settled, last = 0, -1
        while settled < 10:
            settled = settled + 1 if len(fake.sent) == last else 0
            last = len(fake.sent)
            await asyncio.sleep(0.1)
        peak = peak_rss_mb(proc.pid)
        cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / max(1, len(acks))  # the server's CPU per event
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)  # the fake Zalo keeps answering while the server stops
        await runner.cleanup()
    acks.sort()
    trips.sort()
    return {"events": len(acks), "per_s": len(acks) / elapsed, "ack50": statistics.median(acks) * 1000,
            "ack99": acks[int(len(acks) * 0.99) - 1] * 1000, "trip50": statistics.median(trips) * 1000,
            "trip99": trips[int(len(trips) * 0.99) - 1] * 1000, "refreshes": fake.oauth_calls,
            "sent": len(fake.sent), "peak": peak, "errors": errors, "cpu": cpu_ms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=50)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--db", default="sqlite,postgresql")
    args = ap.parse_args()
    print(f"{'database':<11} {'events':>6} {'ev/s':>6} {'ack p50':>8} {'ack p99':>8} {'reply p50':>10} "
          f"{'reply p99':>10} {'refreshes':>9} {'sent':>6} {'peak MB':>8} {'errors':>6} {'CPU ms/event':>12}")
    for db in args.db.split(","):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        if db == "sqlite":
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
        else:
            asyncio.run(pg_schema(True, schema))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={schema}"
        try:
            r = asyncio.run(run(url, args.residents, args.turns))
        finally:
            if db != "sqlite":
                asyncio.run(pg_schema(False, schema))
        print(f"{db:<11} {r['events']:>6} {r['per_s']:>6.0f} {r['ack50']:>8.1f} {r['ack99']:>8.1f} "
              f"{r['trip50']:>10.1f} {r['trip99']:>10.1f} {r['refreshes']:>9} {r['sent']:>6} {r['peak']:>8.0f} "
              f"{r['errors']:>6} {r['cpu']:>12.2f}")


if __name__ == "__main__":
    main()
