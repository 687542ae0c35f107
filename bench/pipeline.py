"""Benchmark: residents drive a real `python -m bot run` over HTTP (SQLite and PostgreSQL), next to a bare
aiohttp server answering the same JSON to the same client in the same run.

Two modes per server, each for `--seconds`:
- closed loop: `--residents` residents, each sending its next message as soon as the answer came;
- open loop: a steady offered load of `--rate` turns/s spread over `--population` residents, whatever the
  answers' speed (latency counted from when the message was due, so a stalled server is not hidden).
Each message carries an `id` and the cursor of the resident's last answer (`ack`), as the chat page sends
them (`--ack off`: as an API client that sends none): the turn's replies wait in the outbox until the next
message acknowledges them. An answer without replies counts as an error.
Prints turns/s (and as a ratio of the bare server's closed loop), p50/p99 latency, errors, the server
process's peak memory (VmHWM, reset before each mode) and its CPU time per turn (warm-up turns included),
which a loaded machine does not change as it changes the rest. The database is migrated before the server starts,
as on every start but the first.
Usage: .venv/bin/python bench/pipeline.py [--residents 100] [--rate 100] [--population 1000] [--seconds 15]
                                          [--db bare,sqlite,postgresql] [--modes closed,open] [--limits off] [--ack on]
                                          [--server-log FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
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
BARE = """
import json, sys
from aiohttp import web
answer = open(sys.argv[2], "rb").read()
async def chat(request):
    await request.json()  # read and parse the body as the assistant does
    return web.Response(body=answer, content_type="application/json")
app = web.Application()
app.router.add_post("/api/chat", chat)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@dataclass
class Run:
    """What one mode measured."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # what the failed requests got: "503", "ClientOSError"

    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process used so far (a share of a loaded machine does not change it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Start counting the peak anew (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


class Client:
    """Residents by label over one keep-alive client session; the message counter makes each message id unique."""

    def __init__(self, web: WebChat) -> None:
        self.web = web
        self.sent: dict[str, int] = {}

    async def turn(self, label: str, run: Run, due: float | None = None) -> None:
        i = self.sent.get(label, 0)
        self.sent[label] = i + 1
        kind, value = SCRIPT[i % len(SCRIPT)]
        t0 = time.perf_counter() if due is None else due
        failure = ""
        try:
            status, answer = await self.web.post(label, **{kind: value, "id": f"{label}-{i}"})
            failure = str(status) if status != 200 else "" if answer.get("replies") else "no reply"
        except Exception as exc:  # a refused or reset connection counts as an error, like a 5xx
            failure = type(exc).__name__
        run.latencies.append(time.perf_counter() - t0)
        if failure:
            run.errors += 1
            run.kinds[failure] += 1


async def closed_loop(client: Client, residents: int, seconds: float) -> Run:
    run = Run()
    labels = [f"closed-{uuid.uuid4().hex[:8]}" for _ in range(residents)]
    await asyncio.gather(*(client.turn(label, Run()) for label in labels))  # first contact: session tokens
    deadline = time.perf_counter() + seconds

    async def resident(label: str) -> None:
        while time.perf_counter() < deadline:
            await client.turn(label, run)

    t0 = time.perf_counter()
    await asyncio.gather(*(resident(label) for label in labels))
    run.seconds = time.perf_counter() - t0
    return run


async def open_loop(client: Client, rate: float, population: int, seconds: float) -> Run:
    run = Run()
    labels = [f"open-{uuid.uuid4().hex[:8]}" for _ in range(population)]
    warm = asyncio.Semaphore(50)

    async def first(label: str) -> None:
        async with warm:
            await client.turn(label, Run())

    await asyncio.gather(*(first(label) for label in labels))
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(client.turn(labels[n % population], run, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    run.seconds = max(time.perf_counter() - start, seconds)
    return run


async def measure(port: int, pid: int, modes: list[str],
                  args: argparse.Namespace) -> list[tuple[str, Run, float, float]]:
    out = []
    async with client_session(limit=0) as http:
        client = Client(WebChat(http, f"http://127.0.0.1:{port}", ack=args.ack == "on"))
        for mode in modes:
            reset_peak(pid)
            cpu = cpu_seconds(pid)
            if mode == "closed":
                run = await closed_loop(client, args.residents, args.seconds)
            else:
                run = await open_loop(client, args.rate, args.population, args.seconds)
            cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / max(1, len(run.latencies) + args.population * (mode == "open")
                                                          + args.residents * (mode == "closed"))
            out.append((mode, run, peak_rss_mb(pid), cpu_ms))
    return out


async def sample_answer(port: int) -> bytes:
    """The assistant's answer to the script's first message: what the bare server answers every time."""
    async with client_session(limit=1) as http:
        _, answer = await WebChat(http, f"http://127.0.0.1:{port}").post("sample", text=SCRIPT[0][1])
    return json.dumps(answer, ensure_ascii=False).encode()


def wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server on port {port} did not start")


def start_bare(answer: bytes, port: int, tmp: str) -> subprocess.Popen[bytes]:
    path = Path(tmp, "answer.json")
    path.write_bytes(answer)
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port), str(path)], cwd=ROOT)
    wait_listening(proc, port)
    return proc


def start_server(database_url: str, port: int, limits: str, log: Path | None) -> subprocess.Popen[bytes]:
    from bot.storage.db import make_engine, migrate

    async def migrated() -> None:
        engine = make_engine(database_url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(migrated())
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_PORT": str(port), "BOT_RATE_LIMITS": limits}
    for secret in ("TELEGRAM_BOT_TOKEN", "ZALO_ACCESS_TOKEN", "ZALO_APP_ID"):
        env.pop(secret, None)
    return fakes_server.start_server(env, quiet=log is None, log=log)


async def pg_schema(create: bool, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=100, help="closed loop: residents at once")
    ap.add_argument("--rate", type=float, default=100.0, help="open loop: turns offered per second")
    ap.add_argument("--population", type=int, default=1000, help="open loop: residents the turns come from")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each mode")
    ap.add_argument("--db", default="bare,sqlite,postgresql")
    ap.add_argument("--modes", default="closed,open")
    ap.add_argument("--limits", choices=("on", "off"), default="off",
                    help="BOT_RATE_LIMITS of the server: off (default) measures the pipeline; on measures it "
                         "under the web chat's limits (all residents come from one address, so expect 429s)")
    ap.add_argument("--ack", choices=("on", "off"), default="on",
                    help="on: each message acknowledges the last answer as the chat page does; off: as a client of "
                         "the API that sends no cursor (the replies come in the answer only)")
    ap.add_argument("--server-log", type=Path, help="append the servers' output (logs, tracebacks) to this file")
    args = ap.parse_args()
    modes = args.modes.split(",")
    targets = args.db.split(",")
    print(f"closed: {args.residents} residents at once; open: {args.rate:g} turns/s offered by "
          f"{args.population} residents; {args.seconds:g} s each", flush=True)
    print(f"{'server':<11} {'mode':<7} {'turns':>6} {'turns/s':>8} {'x bare':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'peak MB':>8} {'errors':>6} {'CPU ms/turn':>11}", flush=True)
    tmp = tempfile.mkdtemp()
    bare_rate = 0.0
    answer = b""
    for target in ["sample", *targets] if "bare" in targets else targets:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        port = free_port()
        if target == "bare":
            proc = start_bare(answer, port, tmp)
        elif target in ("sample", "sqlite"):
            proc = start_server(f"sqlite+aiosqlite:///{tmp}/{target}.db", port, args.limits, args.server_log)
        else:
            asyncio.run(pg_schema(True, schema))
            proc = start_server(f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?search_path={schema}", port,
                                args.limits, args.server_log)
        try:
            if target == "sample":
                answer = asyncio.run(sample_answer(port))
                continue
            results = asyncio.run(measure(port, proc.pid, modes, args))
        finally:
            proc.terminate()
            proc.wait()
            if target == "postgresql":
                asyncio.run(pg_schema(False, schema))
        for mode, run, peak, cpu_ms in results:
            if target == "bare" and mode == "closed":
                bare_rate = run.rate()
            ratio = f"{run.rate() / bare_rate:7.3f}" if bare_rate and mode == "closed" else f"{'-':>7}"
            print(f"{target:<11} {mode:<7} {len(run.latencies):>6} {run.rate():>8.0f} {ratio} "
                  f"{run.percentile(0.5):>7.1f} {run.percentile(0.99):>7.1f} {peak:>8.0f} {run.errors:>6} "
                  f"{cpu_ms:>11.2f}", flush=True)
            if run.kinds:
                print(f"{'':<11} {mode:<7} errors: " + ", ".join(f"{k} {n}" for k, n in run.kinds.most_common()),
                      flush=True)


if __name__ == "__main__":
    main()
