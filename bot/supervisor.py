"""`python -m bot run --workers N`: N server processes sharing the port (SO_REUSEPORT), a dead one restarted.

Only on PostgreSQL: the processes share the work through the database (each resident's turns in order
under an advisory lock, Telegram polled by one process at a time, outbox, reminders and broadcasts
claimed row by row), while SQLite has one writer for one process. The supervisor migrates the database
once before starting them, so they do not race to. SIGTERM or SIGINT stops every worker (SIGTERM each,
SIGKILL after `grace` seconds).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

from kernel.settings import Settings

log = logging.getLogger(__name__)

# A worker that dies sooner than this after its start is restarted after a growing pause (a broken
# setup must not spin); one that ran longer is restarted at once.
QUICK_DEATH_SECONDS = 10.0
LONGEST_PAUSE_SECONDS = 30.0


class WorkersRefused(Exception):
    """`--workers` above 1 where several processes cannot work (SQLite)."""


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise WorkersRefused("--workers must be 1 or more")
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        raise WorkersRefused(
            "--workers above 1 needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://user@host/db): SQLite has a "
            "single writer, so one process serves it best. Run without --workers, or move to PostgreSQL "
            "(README, 'Configuration').")


class Supervisor:
    """Starts the worker processes, restarts any that exits, and stops them all on SIGTERM/SIGINT."""

    def __init__(self, command: Sequence[str], workers: int, grace: float = 20.0,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self.workers = workers
        self.env = dict(env) if env is not None else None  # the workers' environment (default: ours)
        self.grace = grace
        self._procs: dict[int, asyncio.subprocess.Process] = {}  # slot -> its current process
        self._stopping = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        slots = [asyncio.create_task(self._keep(slot), name=f"worker-{slot}") for slot in range(self.workers)]
        try:
            await self._stopping.wait()
            await self._stop_all()
            await asyncio.wait(slots, timeout=self.grace)  # a worker started meanwhile is stopped by its slot
        finally:
            for task in slots:
                task.cancel()
            await asyncio.gather(*slots, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return 0

    def stop(self) -> None:
        """Stop every worker and return from run() (what SIGTERM does)."""
        self._stopping.set()

    async def _keep(self, slot: int) -> None:
        """One worker's place: start it, and start another whenever it exits (unless stopping)."""
        quick_deaths = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(*self.command, env=self.env, preexec_fn=_end_with_parent)
            self._procs[slot] = proc
            log.info("worker %d started (process %d)", slot + 1, proc.pid)
            if self._stopping.is_set():  # stopped while it started: _stop_all did not see it
                proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
            if self._stopping.is_set():
                return
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_SECONDS else 0
            pause = min(2.0 ** quick_deaths - 1, LONGEST_PAUSE_SECONDS)
            log.warning("worker %d (process %d) exited with %s; starting another%s", slot + 1, proc.pid, code,
                        f" in {pause:.0f} s" if pause else "")
            try:
                await asyncio.wait_for(self._stopping.wait(), pause)
            except TimeoutError:
                pass

    async def _stop_all(self) -> None:
        running = [p for p in self._procs.values() if p.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), self.grace)
        except TimeoutError:
            for proc in running:
                if proc.returncode is None:
                    log.warning("worker process %d did not stop in %.0f s; killed", proc.pid, self.grace)
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in running))


def _end_with_parent() -> None:
    """In the worker, before it runs: SIGTERM it when the supervisor dies (Linux), so a killed supervisor
    leaves no workers serving behind it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_command(config: str | None, verbose: bool) -> list[str]:
    """How the supervisor starts one worker: this interpreter, `-m bot [--config X] [-v] run --reuse-port`."""
    command = [sys.executable, "-m", "bot"]
    if config:
        command += ["--config", config]
    if verbose:
        command.append("-v")
    return command + ["run", "--reuse-port"]


async def supervise(settings: Settings, workers: int, command: Sequence[str]) -> int:
    """Migrate the database once, then keep `workers` worker processes running until SIGTERM/SIGINT."""
    from bot.storage.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    web = settings.web
    print(f"Trợ lý số: {workers} worker processes on http://{web.host}:{web.port}/", flush=True)
    env = worker_env(settings, os.environ, workers)
    made = "PROMETHEUS_MULTIPROC_DIR" not in env
    if made:  # /metrics sums the workers' counters from files there (bot/metrics.py); fresh for each run
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="assistant-metrics-")
    try:
        return await Supervisor(command, workers, env=env).run()
    finally:
        if made:
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def worker_env(settings: Settings, environ: Mapping[str, str], workers: int = 1) -> dict[str, str]:
    """The workers' environment: ours, with one Telegram webhook secret for all when none is configured (a
    worker alone makes one up at each start: the last to call setWebhook would win, the others refuse
    Telegram's requests), and each worker's share of the web chat's server-wide limit on new residents (the
    kernel spreads connections evenly, so the shares add up to the limit; the per-resident and per-address
    limits stay per process, see README "Configuration")."""
    env = dict(environ)
    total = settings.web.new_residents_per_minute_total
    env["BOT_NEW_RESIDENTS_PER_MINUTE_TOTAL"] = str(max(1, -(-total // workers)))
    telegram = settings.telegram
    if telegram.token and telegram.mode == "webhook" and not telegram.webhook_secret:
        env["TELEGRAM_WEBHOOK_SECRET"] = secrets.token_urlsafe(32)
    return env


__all__ = ["Supervisor", "WorkersRefused", "check_workers", "supervise", "worker_command", "worker_env"]
