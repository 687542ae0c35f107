"""`python -m bot run --workers 2` on PostgreSQL: one poller at a time, handed over on SIGKILL, order kept; an
announcement shared by both processes' broadcast workers, each resident getting it once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import yaml
from sqlalchemy import func, select

from bot.broadcast import queue
from bot.broadcast.models import Delivery
from bot.storage.db import Message, Resident, make_engine
from kernel.settings import ROOT
from tests.fakes.broadcast import ROLES, VILLAGES, add_residents, open_store
from tests.fakes.net import free_port
from tests.fakes.server import start_server
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow  # end to end: real processes

RESIDENTS = tuple(range(7001, 7009))
POLLS = re.compile(r"telegram: process (\d+) polls now")


def _config(tmp_path: Path) -> Path:
    """The project's config with absolute paths, Telegram's per-chat pace and the outbox's lease shortened, the
    broadcasts' polls too (their lease stays long: nobody dies in that test, and a stalled worker's lapsed lease
    may send a message again, by design)."""
    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    raw["nlu"]["model_path"] = str(ROOT / raw["nlu"]["model_path"])
    raw["nlu"]["data_dir"] = str(ROOT / raw["nlu"]["data_dir"])
    raw["dialogues"]["flows_dir"] = str(ROOT / raw["dialogues"]["flows_dir"])
    raw["commune_dir"] = str(ROOT / raw["commune_dir"])
    raw["telegram"] = {**raw.get("telegram", {}), "chat_interval_seconds": 0.05}
    raw["escalation"] = {**raw.get("escalation", {}), "lease_seconds": 3, "poll_seconds": 0.2}
    raw["broadcast"] = {**raw.get("broadcast", {}), "poll_seconds": 0.05, "check_seconds": 0.2, "lease_seconds": 60}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


async def _until(predicate: Callable[[], object], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what if isinstance(what, str) else what()}")
        await asyncio.sleep(0.1)


async def _saved(url: str) -> int:
    """Telegram updates saved (turns taken) so far."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count(Message.id)).where(
                Message.direction == "in", Message.platform_message_id.startswith("tg:"))) or 0)
    finally:
        await engine.dispose()


def _once(steps: list[int]) -> list[int]:
    """The steps without a repeat of the one just before (a reply sent again after a kill)."""
    return [step for i, step in enumerate(steps) if i == 0 or steps[i - 1] != step]


def _steps(fake: FakeTelegram, chat: int) -> list[int]:
    """The guide steps the bot showed the resident, in the order it sent them ("Bước 3/9" -> 3)."""
    return [int(m.group(1)) for t in fake.texts(chat) if (m := re.search(r"Bước (\d+)/", t))]


async def _press_at_once(port: int, session: str, times: int) -> list[int]:
    """`times` presses of "done" by one web resident at once, each over its own connection (the kernel
    spreads connections among the worker processes); the step each answer reached."""
    async def press() -> int:
        async with aiohttp.ClientSession(cookies={"chat_session": session}) as http, \
                http.post(f"http://127.0.0.1:{port}/api/chat", json={"payload": "done"}) as r:
            assert r.status == 200
            return int((await r.json())["state"]["step"])
    return list(await asyncio.gather(*(press() for _ in range(times))))


@pytest.mark.timing  # a poller's hand-over in time, 3 s outbox leases
async def test_two_workers_poll_one_at_a_time_and_the_other_takes_over_a_killed_poller(
        tmp_path: Path, postgres_url: str) -> None:
    fake = FakeTelegram()
    await fake.start()
    for uid in RESIDENTS:
        fake.add_user(uid, f"Cư dân {uid}")
    port, log = free_port(), tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": postgres_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1",
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "TELEGRAM_MODE": "polling",
           "BOT_RATE_LIMITS": "off"}
    config = _config(tmp_path)
    supervisor = await asyncio.to_thread(start_server, env, ["--config", str(config)], log=log,
                                         run_args=["--workers", "2"])
    try:
        def output() -> str:
            return log.read_text(errors="replace")

        await _until(lambda: output().count("is running (process") == 2, 60, "both workers listening")
        workers = {int(p) for p in re.findall(r"is running \(process (\d+)\)", output())}
        await _until(lambda: POLLS.search(output()), 20, "a worker polls")
        holder = int(POLLS.findall(output())[0])
        assert holder in workers and len(POLLS.findall(output())) == 1

        # One web resident's presses at once through both processes: each moves the guide one step.
        async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/api/chat",
                                                             json={"payload": "flow:vneid_register"}) as r:
            session = (await r.json())["session"]
        assert sorted(await _press_at_once(port, session, 6)) == [2, 3, 4, 5, 6, 7]
        # /metrics, whichever worker answers the scrape, counts the turns of both.
        for _ in range(6):
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
                scraped = await r.text()
            assert 'assistant_turns_total{channel="web",outcome="answered"} 7.0' in scraped, scraped

        # Telegram residents while the first holder polls: each starts a guide and presses "done".
        for uid in RESIDENTS:
            fake.inject_message(uid, "hướng dẫn tôi đăng ký VNeID")
        await _until(lambda: all(_steps(fake, uid) == [1] for uid in RESIDENTS), 30, "first steps")
        for uid in RESIDENTS:
            fake.press_button(uid, "done")
        await _until(lambda: all(_steps(fake, uid) == [1, 2] for uid in RESIDENTS), 30, "second steps")

        # SIGKILL the poller in the middle of a burst: by then some presses are answered, some saved with
        # their replies not sent yet, some in hand, some not fetched (the fake has them unconfirmed).
        for uid in RESIDENTS:
            fake.press_button(uid, "done")
        await _until(lambda: any(len(_steps(fake, uid)) == 3 for uid in RESIDENTS), 10, "the burst begun")
        os.kill(holder, signal.SIGKILL)
        killed_at = time.monotonic()
        await asyncio.sleep(0.3)  # what the killed process had on the wire has reached the fake
        answered_before = sum(len(_steps(fake, uid)) == 3 for uid in RESIDENTS)
        saved_before = await _saved(postgres_url)
        await _until(lambda: len(POLLS.findall(output())) == 2, 10, "the other worker polls")
        taken_over = time.monotonic() - killed_at
        pollers = [int(p) for p in POLLS.findall(output())]
        assert pollers[0] == holder and pollers[1] in workers - {holder}, pollers
        # Every press answered: saved replies the killed process did not send come from the outbox once their
        # lease (3 s here) has run out, the rest from the new poller. A reply the killed process had sent but
        # not yet marked delivered is sent again (Telegram has no idempotency key: a repeat, never a loss);
        # only those can repeat, so at most `answered_before` repeats, each right after itself.
        await _until(lambda: all(_once(_steps(fake, uid)) == [1, 2, 3] for uid in RESIDENTS), 15,
                     lambda: f"third steps: {[_steps(fake, uid) for uid in RESIDENTS]} ({answered_before} "
                             f"answered, {saved_before} saved at the kill)\n{output()[-3000:]}")
        repeated = sum(len(_steps(fake, uid)) - 3 for uid in RESIDENTS)
        assert repeated <= answered_before, [_steps(fake, uid) for uid in RESIDENTS]

        # The supervisor starts a third process in the killed one's place: it waits, the poll stays put.
        await _until(lambda: output().count("is running (process") == 3, 60, "the killed worker replaced")
        for uid in RESIDENTS:
            fake.press_button(uid, "done")
        await _until(lambda: all(_once(_steps(fake, uid)) == [1, 2, 3, 4] for uid in RESIDENTS), 20,
                     "fourth steps")
        await asyncio.sleep(1.0)  # nothing more comes: no update answered twice
        assert all(_once(_steps(fake, uid)) == [1, 2, 3, 4] for uid in RESIDENTS)
        assert sum(len(_steps(fake, uid)) - 4 for uid in RESIDENTS) == repeated
        assert len(POLLS.findall(output())) == 2
        # Never two pollers at once: Telegram ends a poll when another starts (409); only the killed
        # process's abandoned long poll was ended that way.
        assert not [alive for _, alive in fake.poll_conflicts if alive]
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(supervisor.wait, 30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            raise
        await fake.close()
    assert supervisor.returncode == 0, output()
    assert "Traceback" not in output()
    print(f"poll taken over {taken_over:.1f} s after SIGKILL; the burst's {len(RESIDENTS)} presses: "
          f"{answered_before} answered and {saved_before - 2 * len(RESIDENTS)} saved before it, "
          f"{repeated} reply repeated", file=sys.stderr)

    engine = make_engine(postgres_url)
    try:
        async with engine.connect() as conn:  # every Telegram update saved exactly once
            stored = (await conn.execute(
                select(Resident.platform_id, func.count(Message.id),
                       func.count(func.distinct(Message.platform_message_id)))
                .join(Message, Message.resident_id == Resident.id)
                .where(Resident.channel == "telegram", Message.direction == "in")
                .group_by(Resident.platform_id))).all()
    finally:
        await engine.dispose()
    assert sorted(stored) == sorted((str(uid), 4, 4) for uid in RESIDENTS)


async def test_two_workers_share_an_announcement_and_each_resident_gets_it_once(tmp_path: Path,
                                                                              postgres_url: str) -> None:
    n = 120
    fake = FakeTelegram()
    await fake.start()
    for i in range(n):
        fake.add_user(1000 + i, f"Cư dân {i}")
    store = await open_store(postgres_url)
    await add_residents(store, n)
    port, log = free_port(), tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": postgres_url, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1",
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "BROADCAST_RATE_TELEGRAM": "40"}
    supervisor = await asyncio.to_thread(start_server, env, ["--config", str(_config(tmp_path))], log=log,
                                         run_args=["--workers", "2"])
    try:
        await _until(lambda: log.read_text(errors="replace").count("is running (process") == 2, 60, "both workers")
        await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi="Điểm dịch vụ công lưu động thứ Bảy",
                           text_en="Mobile public service point on Saturday", villages=[], known_villages=VILLAGES)
        await _until(lambda: sum(map(len, fake.messages.values())) >= n, 60, "every resident reached")
        await asyncio.sleep(1.0)  # nothing more comes
        got = [len(fake.messages.get(1000 + i, [])) for i in range(n)]
        async with store.session() as s:
            by_worker = dict((await s.execute(select(Delivery.worker, func.count()).group_by(Delivery.worker))).all())
    finally:
        supervisor.send_signal(signal.SIGTERM)
        await asyncio.to_thread(supervisor.wait, 30)
        await store.engine.dispose()
        await fake.close()
    assert got == [1] * n  # 40 a second shared by both: about 3 s
    assert len(by_worker) == 2 and min(by_worker.values()) > n // 10, by_worker  # both processes took a share


def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", "BOT_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--workers", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers above 1 needs PostgreSQL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "a.db").exists()  # refused before anything was opened
