"""Benchmark: `python -m bot run --workers N` on PostgreSQL, residents over HTTP, and a check of their order.

Each resident walks a guide (vneid_register) pressing "done" two at a time: both presses are sent at once,
each over its own connection (the kernel spreads connections over the worker processes, SO_REUSEPORT),
each with its own message id. Whatever process takes each, one resident's turns must run one at a time
in order: the pair's answers must be the next two steps, each once (a step answered twice is a lost
update, one skipped or behind is out of order). After the run, the database must hold every message
exactly once. Prints, per number of workers: turns/s, p50/p99 per press, errors, violations, messages
stored vs sent, and each worker's CPU time (all of them did work).
Usage: .venv/bin/python bench/workers.py [--workers 1,2] [--residents 100] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.pipeline import Run, cpu_seconds, pg_schema  # noqa: E402
from tests.fakes import server as fakes_server  # noqa: E402
from tests.fakes.net import free_port  # noqa: E402
from tests.fakes.web_client import WebChat, client_session  # noqa: E402

GUIDE = "vneid_register"
LAST_PAIR_FROM = 5  # the guide has 9 steps: pairs from steps 1, 3, 5 (answers up to 7), then it starts again


@dataclass
class Check:
    """What the residents saw: violations of the per-resident order, and messages sent by label."""

    violations: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)


async def resident(web: WebChat, label: str, run: Run, check: Check, deadline: float) -> None:
    n = 0

    async def press(payload: str) -> int | None:
        nonlocal n
        n += 1
        t0 = time.perf_counter()
        try:
            status, answer = await web.post(label, payload=payload, id=f"{label}-{n}")
        except Exception:
            status, answer = 0, {}
        run.latencies.append(time.perf_counter() - t0)
        if status != 200:
            run.errors += 1
            return None
        return answer["state"]["step"]

    step = await press(f"flow:{GUIDE}")
    while time.perf_counter() < deadline:
        if step is None or step > LAST_PAIR_FROM:
            step = await press(f"restart:{GUIDE}")  # "Làm lại từ đầu"
            if step != 1:
                check.violations.append(f"{label}: starting again answered step {step}")
            continue
        answers = await asyncio.gather(press("done"), press("done"))
        if None in answers:
            step = None  # an error: start the guide again
            continue
        if sorted(answers) != [step + 1, step + 2]:  # type: ignore[type-var]
            check.violations.append(f"{label}: at step {step} two presses answered {answers}")
        step = max(answers)  # type: ignore[type-var]
    check.sent[label] = n


def children(pid: int) -> list[int]:
    """The worker processes of the supervisor `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def stored(url: str, labels: dict[str, str]) -> tuple[int, int]:
    """Incoming messages in the database for the bench's residents: (rows, distinct message ids)."""
    from sqlalchemy import func, select

    from bot.storage.db import Message, Resident, make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows, distinct = (await conn.execute(
                select(func.count(Message.id), func.count(func.distinct(Message.platform_message_id)))
                .join(Resident, Resident.id == Message.resident_id)
                .where(Message.direction == "in", Resident.platform_id.in_(list(labels.values()))))).one()
    finally:
        await engine.dispose()
    return int(rows), int(distinct)


async def measure(port: int, url: str, residents: int, seconds: float) -> tuple[Run, Check, tuple[int, int]]:
    run, check = Run(), Check()
    async with client_session(limit=0) as http:
        web = WebChat(http, f"http://127.0.0.1:{port}")
        labels = [f"w-{uuid.uuid4().hex[:8]}" for _ in range(residents)]
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(resident(web, label, run, check, deadline) for label in labels))
        run.seconds = time.perf_counter() - t0
        ids = {label: web.who(label) for label in labels if label in web.sessions}
    return run, check, await stored(url, ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="numbers of worker processes to measure, in turn")
    ap.add_argument("--residents", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    print(f"{args.residents} residents, two presses at once each, {args.seconds:g} s per run; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'workers':>7} {'turns':>6} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'order':>6} "
          f"{'stored':>13}  CPU s per worker", flush=True)
    tmp = tempfile.mkdtemp()
    for workers in (int(w) for w in args.workers.split(",")):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_schema(True, schema))
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={schema}"
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "BOT_PORT": str(port), "BOT_RATE_LIMITS": "off"}
        for secret in ("TELEGRAM_BOT_TOKEN", "ZALO_ACCESS_TOKEN", "ZALO_APP_ID"):
            env.pop(secret, None)
        log = Path(tmp, f"workers-{workers}.log")
        proc = fakes_server.start_server(env, log=log, run_args=["--workers", str(workers)])
        try:
            deadline = time.monotonic() + 60  # every worker listening (the first one opened the port)
            while workers > 1 and log.read_text().count("is running (process") < workers:
                if time.monotonic() > deadline:
                    raise SystemExit(f"not every worker started: {log.read_text()}")
                time.sleep(0.2)
            procs = children(proc.pid) if workers > 1 else [proc.pid]
            cpu = {p: cpu_seconds(p) for p in procs}
            run, check, (rows, distinct) = asyncio.run(measure(port, url, args.residents, args.seconds))
            used = " ".join(f"{cpu_seconds(p) - cpu[p]:.1f}" for p in procs)
        finally:
            proc.send_signal(15)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            asyncio.run(pg_schema(False, schema))
        sent = sum(check.sent.values())
        order = "ok" if not check.violations else str(len(check.violations))
        print(f"{workers:>7} {len(run.latencies):>6} {run.rate():>8.0f} {run.percentile(0.5):>7.1f} "
              f"{run.percentile(0.99):>7.1f} {run.errors:>6} {order:>6} {f'{rows}/{distinct}/{sent}':>13}  {used}",
              flush=True)
        for violation in check.violations[:5]:
            print("   ", violation)


if __name__ == "__main__":
    main()
