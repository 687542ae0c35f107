"""Benchmark: residents walking every guide by button through the pipeline (in process), then the funnel.

Prints turns per second and p50/p99 turn latency for walking all guides (every step, every troubleshooting),
the time `python -m bot stats` needs to build the funnel from those events, and `dialogues validate` time.
Usage: .venv/bin/python bench/guides.py [--residents 20] [--db sqlite,postgresql]
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

from bot.stats import funnel_table  # noqa: E402
from dialogues.validate import validate  # noqa: E402
from kernel.messages import Incoming, ResidentKey  # noqa: E402
from kernel.settings import ROOT as CONFIG_ROOT  # noqa: E402
from kernel.settings import load_settings, replace  # noqa: E402
from tests.fakes.driver import assistant  # noqa: E402

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _pg_schema() -> tuple[str, str]:
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG.replace("+asyncpg", ""))
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    return f"{PG}?search_path={schema}", schema


async def _drop(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG.replace("+asyncpg", ""))
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()


async def run(db: str, residents: int) -> None:
    settings = load_settings(CONFIG_ROOT / "config.yml", env={})
    schema = None
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        url, schema = await _pg_schema()
    latencies: list[float] = []
    try:
        async with assistant(replace(settings, database_url=url)) as services:
            flows = list(services.library.flows.values())

            async def resident(i: int) -> None:
                who = ResidentKey("web", f"bench-{i}")

                async def press(payload: str) -> None:
                    t0 = time.perf_counter()
                    await services.pipeline.handle(Incoming(who, payload=payload))
                    latencies.append(time.perf_counter() - t0)

                await press("village:dai-cuong")
                for flow in flows:
                    await press(f"flow:{flow.id}")
                    for _ in flow.steps:
                        await press("stuck")
                        await press("done")

            start = time.perf_counter()
            await asyncio.gather(*(resident(i) for i in range(residents)))
            wall = time.perf_counter() - start
            t0 = time.perf_counter()
            table = await funnel_table(services.store, services.library)
            funnel_ms = (time.perf_counter() - t0) * 1000
        lat = sorted(latencies)
        print(f"{db}: {residents} residents x {len(flows)} guides = {len(lat)} turns in {wall:.1f} s "
              f"({len(lat) / wall:.0f} turns/s), p50 {statistics.median(lat) * 1000:.1f} ms, "
              f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.1f} ms; funnel of {len(table)} guides in {funnel_ms:.0f} ms")
    finally:
        if schema:
            await _drop(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    settings = load_settings(CONFIG_ROOT / "config.yml", env={})
    t0 = time.perf_counter()
    problems = validate(settings.flows_dir, settings.locales_dir, settings.languages, settings.max_step_chars)
    print(f"dialogues validate: {len(problems)} problems in {(time.perf_counter() - t0) * 1000:.0f} ms")
    for db in args.db.split(","):
        asyncio.run(run(db, args.residents))


if __name__ == "__main__":
    main()
