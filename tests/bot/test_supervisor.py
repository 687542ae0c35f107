"""The supervisor of `run --workers N`: a worker that exits is started again; stopping ends them all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.supervisor import Supervisor, WorkersRefused, check_workers, worker_env
from kernel.settings import ROOT, Settings, TelegramSettings, load_settings, replace

# A worker that notes its start (and its webhook secret) in a file, then lives `sys.argv[2]` seconds.
WORKER = ("import os, sys, time; open(sys.argv[1], 'a').write(os.environ.get('MARK', '') + chr(10)); "
          "time.sleep(float(sys.argv[2]))")


async def test_a_worker_that_exits_is_started_again_and_stop_ends_the_others(tmp_path: Path) -> None:
    quick, lasting = tmp_path / "quick", tmp_path / "lasting"
    dying = Supervisor([sys.executable, "-c", WORKER, str(quick), "0"], 1, env={"MARK": "q"})
    living = Supervisor([sys.executable, "-c", WORKER, str(lasting), "60"], 2, grace=5, env={"MARK": "l"})
    runs = [asyncio.create_task(dying.run()), asyncio.create_task(living.run())]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not (quick.exists() and quick.read_text().count("q") >= 2
               and lasting.exists() and lasting.read_text().count("l") == 2):
        assert loop.time() < deadline, "the workers did not start (again)"
        await asyncio.sleep(0.1)
    procs = list(living._procs.values())
    started = loop.time()
    dying.stop()
    living.stop()
    assert await asyncio.wait_for(asyncio.gather(*runs), 10) == [0, 0]
    assert loop.time() - started < 5  # SIGTERM ended the 60-second workers at once
    assert [p.returncode for p in procs] == [-15, -15]
    assert lasting.read_text().count("l") == 2  # stopped, not started again


def test_several_workers_need_postgresql(settings: Settings) -> None:
    check_workers(settings, 1)
    with pytest.raises(WorkersRefused, match="needs PostgreSQL"):
        check_workers(settings, 2)
    check_workers(replace(settings, database_url="postgresql+asyncpg://u@h/db"), 4)
    with pytest.raises(WorkersRefused):
        check_workers(settings, 0)


def test_webhook_workers_share_one_secret_made_up_by_the_supervisor(settings: Settings) -> None:
    hook = replace(settings, telegram=TelegramSettings(token="1:x", mode="webhook", webhook_url="https://h/t"))
    env = worker_env(hook, {"PATH": "/bin"})
    assert env["PATH"] == "/bin" and len(env["TELEGRAM_WEBHOOK_SECRET"]) >= 32
    given = replace(hook, telegram=replace(hook.telegram, webhook_secret="given"))
    assert "TELEGRAM_WEBHOOK_SECRET" not in worker_env(given, {})
    assert "TELEGRAM_WEBHOOK_SECRET" not in worker_env(settings, {})  # polling: no secret needed


def test_workers_share_the_server_wide_limit_on_new_residents(settings: Settings) -> None:
    assert settings.web.new_residents_per_minute_total == 600
    assert worker_env(settings, {}, 4)["BOT_NEW_RESIDENTS_PER_MINUTE_TOTAL"] == "150"
    assert worker_env(settings, {}, 7)["BOT_NEW_RESIDENTS_PER_MINUTE_TOTAL"] == "86"  # rounded up: 7 x 86 >= 600
    env = worker_env(settings, {}, 3)
    assert load_settings(ROOT / "config.yml", env=env).web.new_residents_per_minute_total == 200


async def test_workers_end_with_a_killed_supervisor(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    worker = f"import os, time; open({str(pids)!r}, 'a').write(str(os.getpid()) + chr(10)); time.sleep(60)"
    code = ("import asyncio, sys; from bot.supervisor import Supervisor; "
            f"asyncio.run(Supervisor([sys.executable, '-c', {worker!r}], 2).run())")
    supervisor = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not (pids.exists() and len(pids.read_text().split()) == 2):
        assert loop.time() < deadline, "the workers did not start"
        await asyncio.sleep(0.1)
    supervisor.kill()
    await supervisor.wait()
    workers = [int(p) for p in pids.read_text().split()]

    def alive() -> list[int]:
        return [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()]
    try:
        while alive():
            assert loop.time() < deadline + 10, "a worker outlived its supervisor"
            await asyncio.sleep(0.1)
    finally:
        for pid in alive():  # a failed run leaves nothing behind
            os.kill(pid, signal.SIGKILL)
