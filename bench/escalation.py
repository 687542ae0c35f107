"""Benchmark: the hand-off in process on SQLite and PostgreSQL.

1. Residents open cases and write to their team concurrently (turns/s, p50/p95 latency of a turn).
2. The outbox worker delivers everything to the fake Telegram Bot API on loopback, no rate limits
   (team messages/s: one topic and card per case, then the relayed messages in order).
3. Team members answer every case; web chat residents collect the answers (answers/s end to end).
Usage: .venv/bin/python bench/escalation.py [--cases 200] [--messages 5] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bench import pipeline as bench_pipeline  # noqa: E402
from bot.app import build  # noqa: E402
from bot.handoff import Staff  # noqa: E402
from integrations.telegram.desk import TelegramDesk  # noqa: E402
from integrations.telegram.sender import TelegramSender  # noqa: E402
from kernel.messages import Incoming, ResidentKey  # noqa: E402
from kernel.settings import load_settings, replace  # noqa: E402
from tests.fakes.commune import COMMUNE_CHAT, MEMBER, TEAM_CHAT, write_commune  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"


async def pg_schema() -> tuple[str, str]:
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={schema}", schema


async def run(db: str, cases: int, messages: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    schema = None
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    if db == "postgresql":
        url, schema = await pg_schema()
    settings = replace(load_settings(ROOT / "config.yml", env={}), database_url=url,
                       commune_dir=write_commune(tmp / "commune"))
    services = await build(settings)
    fake = FakeTelegram()
    await fake.start()
    fake.add_group(TEAM_CHAT, "Đại Cường", forum=True)
    fake.add_group(COMMUNE_CHAT, "Xã")
    latencies: list[float] = []

    async def turn(incoming: Incoming) -> None:
        t0 = time.perf_counter()
        await services.pipeline.handle(incoming)
        latencies.append(time.perf_counter() - t0)

    async def resident(i: int) -> None:
        who = ResidentKey("web", f"bench-{i}")
        await turn(Incoming(who, payload="human"))
        await turn(Incoming(who, payload="village:dai-cuong"))
        for m in range(messages):
            await turn(Incoming(who, text=f"tin nhắn {m} của người dân {i}"))

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(resident(i) for i in range(cases)))
        elapsed = time.perf_counter() - t0
        lat = sorted(latencies)
        print(f"[{db}] {len(lat)} turns (open + relay) in {elapsed:.2f}s: {len(lat) / elapsed:.0f} turns/s, "
              f"p50 {statistics.median(lat) * 1000:.1f} ms, p95 {lat[int(len(lat) * 0.95)] * 1000:.1f} ms")

        # Like the Telegram channel's bot: a pool of connections (PTB's default is one).
        async with Bot(fake.token, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=32)) as bot:
            services.desks.register(TelegramDesk(bot, TelegramSender(bot), places=set))
            t0 = time.perf_counter()
            delivered = await services.outbox.run_once()
            elapsed = time.perf_counter() - t0
        topics = len(fake.topics)
        print(f"[{db}] outbox -> fake Telegram: {delivered} team messages ({topics} topics) in {elapsed:.2f}s: "
              f"{delivered / elapsed:.0f} messages/s")

        async with services.store.session() as s:
            from sqlalchemy import select

            from bot.handoff.models import Case
            ids = list((await s.execute(select(Case.id))).scalars())
        t0 = time.perf_counter()
        await asyncio.gather(*(services.escalation.reply(c, Staff(MEMBER, "Lan"), "Bác thử lại nhé") for c in ids))
        got = await asyncio.gather(*(services.mailboxes.collect("web", f"bench-{i}") for i in range(cases)))
        elapsed = time.perf_counter() - t0
        answers = sum(len(g[0]) for g in got)
        print(f"[{db}] {len(ids)} team answers written and collected by web residents ({answers} messages incl. "
              f"claim notices) in {elapsed:.2f}s: {len(ids) / elapsed:.0f} answers/s")
    finally:
        await fake.close()
        await services.close()
        if schema:
            await bench_pipeline.pg_schema(False, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    for db in args.db.split(","):
        asyncio.run(run(db, args.cases, args.messages))


if __name__ == "__main__":
    main()
