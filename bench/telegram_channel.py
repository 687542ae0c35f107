"""Benchmark: N residents on Telegram at once, real python-telegram-bot against the fake Bot API on loopback.

Each resident sends /start, then presses through the VNeID guide (topic, guide, four steps done).
Prints delivered messages per second, per-turn latency (update queued -> last reply received)
and the 429 answers seen, with Telegram's limits enforced by the fake (default) or not (--no-limits,
which shows the adapter's own ceiling).
Usage: .venv/bin/python bench/telegram_channel.py [--residents 200] [--db sqlite|postgresql] [--no-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bench import pipeline as bench_pipeline  # noqa: E402
from bot.app import build, telegram_channel  # noqa: E402
from kernel.settings import TelegramSettings, load_settings, replace  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
# (action, what, replies expected)
SCRIPT = [("say", "/start", 1), ("press", "Ứng dụng VNeID", 1), ("press", "Cài ứng dụng VNeID chính thức", 2),
          ("press", "Xong rồi", 1), ("press", "Xong rồi", 1), ("press", "Xong rồi", 1), ("press", "Xong rồi", 1)]


async def resident(fake: FakeTelegram, uid: int, latencies: list[float]) -> None:
    count = 0
    for action, what, expect in SCRIPT:
        started = time.monotonic()
        if action == "say":
            fake.inject_message(uid, what)
        else:
            fake.press_button(uid, what)
        count += expect
        await fake.wait_for(uid, count, timeout=600)
        latencies.append(time.monotonic() - started)


async def run(residents: int, db: str, limits: bool) -> None:
    schema = None
    settings = load_settings(ROOT / "config.yml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        if db == "postgresql":
            import asyncpg

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(PG)
            await conn.execute(f'CREATE SCHEMA "{schema}"')
            await conn.close()
            url = PG.replace("postgresql://", "postgresql+asyncpg://") + f"?search_path={schema}"
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        services = await build(replace(settings, database_url=url))
        fake = (FakeTelegram(global_per_second=30, per_chat_per_second=1, group_per_minute=20) if limits
                else FakeTelegram())
        await fake.start()
        tg = replace(TelegramSettings(), token=fake.token, api_url=fake.base_url, poll_timeout=1,
                     rate_per_second=25 if limits else 30)
        channel = telegram_channel(services, tg)
        if not limits:  # measure the adapter, not the pacing
            channel.limiter._private_interval = channel.limiter._group_interval = 0
            channel.limiter._overall = None
        await channel.start(web.Application())
        for uid in range(1, residents + 1):
            fake.add_user(100000 + uid)
        latencies: list[float] = []
        started = time.monotonic()
        try:
            await asyncio.gather(*(resident(fake, 100000 + uid, latencies) for uid in range(1, residents + 1)))
            elapsed = time.monotonic() - started
        finally:
            await channel.stop()
            await fake.close()
            await services.close()
            if schema:
                await bench_pipeline.pg_schema(False, schema)
    messages = sum(expect for *_, expect in SCRIPT) * residents
    turns = len(SCRIPT) * residents
    lat = sorted(latencies)
    too_many = sum(1 for r in fake.rejections if r[1] == 429)
    print(f"{db:10} limits={'on ' if limits else 'off'} residents={residents} turns={turns} "
          f"messages={messages} in {elapsed:.1f}s: {messages / elapsed:.1f} msg/s, {turns / elapsed:.1f} turns/s, "
          f"turn latency p50={statistics.median(lat) * 1000:.0f}ms p95={lat[int(len(lat) * 0.95)] * 1000:.0f}ms, "
          f"429s={too_many} {sorted({w for _, w, _ in fake.rate_limited})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--no-limits", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.residents, args.db, not args.no_limits))


if __name__ == "__main__":
    main()
