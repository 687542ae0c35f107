"""Broadcast throughput: worker processes (`python -m bot broadcast work`) against the fake Bot API,
which enforces the limits and answers 429 when they are exceeded.

Prints (1) the sustained send rate at Telegram's real limit (30/s) as a fraction of that limit, and
the 429 answers after the first second; (2) the time to deliver 10,000 recipients at a scaled-up
limit. Run: `.venv/bin/python bench/broadcast.py [--db sqlite|postgresql] [--workers N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.broadcast import queue
from bot.broadcast.config import roles
from kernel.commune import load_commune
from kernel.settings import ROOT
from tests.fakes.broadcast import add_residents, open_store
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.workers import fast_config, start_worker, worker_env

WARM_UP = 1.0  # seconds: worker processes warming up (first requests, connections)
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _pg_schema(name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
    await conn.close()
    return f"{PG}?search_path={name}"


async def run(n: int, limit: float, db: str, workers: int, tmp: Path, label: str,
              headroom: float | None = None) -> None:
    url = (await _pg_schema(f"bench_{label}")) if db == "postgresql" else f"sqlite+aiosqlite:///{tmp / label}.db"
    fake = TimedFake(global_per_second=int(limit), per_chat_per_second=1)
    await fake.start()
    store = await open_store(url)
    await add_residents(store, n)
    for i in range(n):
        fake.add_user(1000 + i, language_code=None)
    env = worker_env(url, fake.base_url, fake.token, limit)
    extra = {"rate_limits": {"telegram": {"per_second": limit, "headroom": headroom}}} if headroom else {}
    config = fast_config(tmp, **extra)
    logs = [tmp / f"{label}-{i}.log" for i in range(workers)]
    procs = [start_worker(env, config=config, log=log, until_idle=False) for log in logs]
    # Time the sending, not Python starting up: announce once every worker is ready.
    while not all(log.exists() and "broadcast worker" in log.read_text() for log in logs):
        await asyncio.sleep(0.05)
    commune = load_commune(ROOT / "communes/ung-hoa")
    started = time.monotonic()
    b = await queue.create(store, roles(commune), "ubnd-xa", topic="bench", text_vi="Thông báo thử",
                           text_en="Test announcement", villages=[], known_villages={v.code for v in commune.villages})
    while True:
        c = await queue.counts(store, b.id)
        if c.recipients == n and c.pending == 0:
            break
        if all(p.poll() is not None for p in procs):
            raise SystemExit(f"workers exited early; see {tmp}")
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    for p in procs:
        p.terminate()
        p.wait(timeout=30)
    acc = fake.accepted
    first, last = acc[0], acc[-1]
    rejected = [t for method, code, _d, t in fake.rejections if method == "sendMessage" and code == 429]
    late = [t for t in rejected if t > first + WARM_UP]
    # Sustained: messages accepted after the warm-up second, over the time they took.
    steady = [t for t in acc if t >= first + WARM_UP]
    rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else float("nan")
    j = worst = 0
    for i in range(len(acc)):
        while acc[i] - acc[j] >= 1.0:
            j += 1
        worst = max(worst, i - j + 1)
    print(f"{label}: {n} recipients, fake limit {limit:g}/s, {workers} worker process(es), {db}: "
          f"sent {c.sent}, failed {c.failed}; {elapsed:.1f}s from start to all settled, "
          f"{last - first:.1f}s first to last message")
    print(f"  sustained {rate:.1f}/s = {rate / limit:.3f} of the limit; busiest one-second window {worst}; "
          f"429 answers {len(rejected)} ({len(late)} after the first {WARM_UP:g}s)")
    if "-v" in sys.argv and rejected:
        print("  429 at", [round(t - first, 2) for t in rejected])
    await store.engine.dispose()
    await fake.close()


class TimedFake(FakeTelegram):
    """The fake Bot API, also noting when each message was accepted."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.accepted: list[float] = []

    def _rate_limit(self, chat) -> None:  # type: ignore[no-untyped-def]
        super()._rate_limit(chat)
        self.accepted.append(time.monotonic())


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("-v", action="store_true", help="also print when 429 answers came and the busiest second")
    p.add_argument("--real", type=int, default=900, help="recipients for the run at Telegram's 30/s")
    p.add_argument("--scaled", type=float, default=500.0, help="the scaled-up limit for 10,000 recipients")
    p.add_argument("--headroom", type=float, default=None, help="override broadcast.rate_limits headroom")
    p.add_argument("--only", choices=["real", "scaled"], default=None)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if a.only != "scaled":
            await run(a.real, 30.0, a.db, a.workers, Path(d), "real-limit", a.headroom)
        if a.only != "real":
            await run(10_000, a.scaled, a.db, a.workers, Path(d), "scaled", a.headroom)


if __name__ == "__main__":
    asyncio.run(main())
