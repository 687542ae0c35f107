"""Broadcasts through the real python-telegram-bot client against the fake Bot API, which enforces
Telegram's limits (scaled up so a test run stays short) and answers 429 with retry_after."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from contextlib import AsyncExitStack, closing
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import telegram_channel
from bot.broadcast import queue
from bot.broadcast.config import BroadcastSettings, PlatformLimit
from bot.broadcast.desk import parse
from bot.broadcast.models import Delivery
from bot.broadcast.runtime import telegram_sender
from bot.broadcast.worker import Worker
from bot.storage.db import Resident
from bot.storage.store import Store
from kernel.messages import ResidentKey
from kernel.settings import ROOT, Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.broadcast import ROLES, VILLAGES, add_residents, catalogs, open_store
from tests.fakes.net import free_port
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.workers import fast_config, start_worker, worker_env

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace

STAFF_GROUP = -1007001
STAFF_USER = 7001
VI, EN = "Điểm dịch vụ công lưu động ở thôn Đại Cường sáng thứ Bảy", "Mobile public service point on Saturday"


async def _fake(rate: int, users: int, blocked: int = 0) -> FakeTelegram:
    fake = FakeTelegram(global_per_second=rate, per_chat_per_second=1)
    await fake.start()
    for i in range(users):
        fake.add_user(1000 + i, language_code=None)
    for i in range(blocked):
        fake.block(1000 + i * 7)
    return fake


def _received(fake: FakeTelegram, n: int) -> Counter[int]:
    return Counter({1000 + i: len(fake.messages.get(1000 + i, [])) for i in range(n)})


# 1,000 in the suite (about 5 s of CPU); the 5,000: BROADCAST_RESIDENTS=5000 pytest -k exactly_once.
RESIDENTS = int(os.environ.get("BROADCAST_RESIDENTS", "1000"))


async def test_residents_get_it_exactly_once_in_their_language_through_ptb(sqlite_url: str) -> None:
    n, rate, blocked = RESIDENTS, 400, 20
    fake = await _fake(rate, n, blocked)
    store = await open_store(sqlite_url)
    stack = AsyncExitStack()
    try:
        await add_residents(store, n, villages=("dai-cuong", "dong-lo"))
        fake.add_group(STAFF_GROUP, "Văn phòng xã")
        b = await queue.create(store, ROLES, "ubnd-xa", topic="schedule", text_vi=VI, text_en=EN, villages=[],
                               known_villages=VILLAGES,
                               buttons=[[{"payload": "menu", "vi": "Xem danh mục", "en": "See the menu"}]],
                               report_channel="telegram", report_chat=str(STAFF_GROUP))
        cfg = BroadcastSettings(limits={"telegram": PlatformLimit(rate)}, poll_seconds=0.05, check_seconds=0.2,
                                report_every_seconds=2.0)
        sender = await telegram_sender(fake.token, fake.base_url, store, cfg.max_in_flight, stack)
        started = time.monotonic()
        await asyncio.wait_for(Worker(store, catalogs(), cfg, {"telegram": sender}).run(until_idle=True), 120)
        elapsed = time.monotonic() - started
        got = _received(fake, n)
        gone = {1000 + i * 7 for i in range(blocked)}
        assert {u for u, k in got.items() if k != 1} == gone and all(got[u] == 0 for u in gone)
        for i in range(n):  # add_residents: i % 3 == 0 chose English, the others Vietnamese or nothing
            if 1000 + i in gone:
                continue
            m = fake.messages[1000 + i][0]
            english = i % 3 == 0
            assert (EN if english else VI) in m.text
            assert m.text.startswith("📢 Announcement from the commune" if english else "📢 Thông báo của xã")
            assert m.data == ["menu", "unsub"]
            assert m.labels == (["See the menu", "Stop announcements"] if english
                                else ["Xem danh mục", "Huỷ nhận thông báo"])
        counts = await queue.counts(store, b.id)
        assert (counts.sent, counts.failed, counts.pending) == (n - blocked, blocked, 0)
        async with store.session() as s:
            still = (await s.execute(select(func.count()).select_from(Resident).where(
                Resident.platform_id.in_([str(u) for u in gone]), Resident.subscribed.is_(True)))).scalar_one()
        assert still == 0  # blocked the bot: unsubscribed
        reports = fake.texts(STAFF_GROUP)
        assert reports and f"đã gửi xong: {n - blocked} đã nhận, {blocked} không gửi được" in reports[-1]
        too_many = [r for r in fake.rejections if r[1] == 429]
        print(f"\n{n} residents through PTB at a fake limit of {rate}/s: {elapsed:.1f}s, "
              f"{len(too_many)} answers 429 (each retried)")
    finally:
        await stack.aclose()
        await store.engine.dispose()
        await fake.close()


async def _wait_done(store: Store, broadcast_id: int, procs: list[subprocess.Popen[bytes]],
                     timeout: float = 120) -> queue.Counts:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = await queue.counts(store, broadcast_id)
        if c.recipients and c.pending == 0:
            return c
        if procs and all(p.poll() is not None for p in procs):
            raise AssertionError(f"workers exited early: {[p.returncode for p in procs]}")
        await asyncio.sleep(0.1)
    raise AssertionError("broadcast did not finish in time")


async def _wait_started(logs: list[Path], procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(log.exists() and "broadcast worker" in log.read_text() for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise AssertionError("workers did not start: " + " | ".join(
                log.read_text() if log.exists() else "" for log in logs))
        await asyncio.sleep(0.1)


@pytest.mark.timing  # catching a worker between two sends needs the machine to itself
@pytest.mark.parametrize("moment", ["between-sends", "anywhere"])
async def test_a_killed_worker_is_restarted_and_nobody_is_missed(sqlite_url: str, tmp_path: Path,
                                                                  moment: str) -> None:
    """SIGKILL a worker process a third of the way through, start another.

    Killed between sends (the test pauses the process until none of its claims is on the wire),
    every resident gets the announcement exactly once, the dead worker's claims included. Killed
    at any moment, a send may have reached Telegram without its worker living to record it: such
    rows are marked in doubt and sent again, so a resident may get it twice, but only those.
    """
    n, rate = 150, 50  # slow enough that moments with nothing on the wire come often
    fake = await _fake(rate, n)
    store = await open_store(sqlite_url)
    procs = []
    try:
        await add_residents(store, n)
        b = await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi=VI, text_en=EN, villages=[],
                               known_villages=VILLAGES)
        env = worker_env(sqlite_url, fake.base_url, fake.token, rate)
        config = fast_config(tmp_path)
        first = start_worker(env, until_idle=False, config=config, log=tmp_path / "first.log")
        procs.append(first)
        while (await queue.counts(store, b.id)).sent < n // 3:
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            await asyncio.sleep(0.02)
        if moment == "between-sends":
            for _ in range(300):
                first.send_signal(signal.SIGSTOP)
                await asyncio.sleep(0.02)  # let the fake answer what is already on the wire
                # A plain reader: the stopped worker may hold SQLite's write lock.
                with closing(sqlite3.connect(sqlite_url.split("///", 1)[1])) as db:
                    claimed = db.execute("SELECT r.platform_id FROM broadcast_deliveries d JOIN residents r "
                                         "ON r.id = d.resident_id WHERE d.status = 'sending'").fetchall()
                    sent = db.execute("SELECT count(*) FROM broadcast_deliveries WHERE status = 'sent'").fetchone()[0]
                on_wire = sum(1 for (pid,) in claimed if fake.messages.get(int(pid)))
                delivered = sum(1 for msgs in fake.messages.values() if msgs)
                if claimed and on_wire == 0 and delivered == sent:
                    break
                first.send_signal(signal.SIGCONT)
                await asyncio.sleep(0.03 + random.random() * 0.05)  # let it work a little
            else:
                raise AssertionError("never caught the worker between sends")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        async with store.session() as s:
            held = (await s.execute(select(func.count()).select_from(Delivery)
                                    .where(Delivery.status == "sending"))).scalar_one()
        second = start_worker(env, until_idle=True, config=config, log=tmp_path / "second.log")
        procs.append(second)
        counts = await _wait_done(store, b.id, [second])
        assert second.wait(timeout=30) == 0, (tmp_path / "second.log").read_text()
        got = _received(fake, n)
        async with store.session() as s:
            doubt = {int(pid) for (pid,) in (await s.execute(select(Resident.platform_id).join(
                Delivery, Delivery.resident_id == Resident.id).where(Delivery.in_doubt.is_(True)))).all()}
        assert counts.sent == n and counts.failed == 0
        assert all(k >= 1 for k in got.values())  # nobody missed
        assert len(doubt) == held and held > 0  # the dead worker's claims were taken back
        twice = {u for u, k in got.items() if k > 1}
        if moment == "between-sends":
            assert not twice and set(got.values()) == {1}
        else:
            assert twice <= doubt and max(got.values()) <= 2
            print(f"\nkilled anywhere: {held} claims taken back, {len(twice)} residents got it twice")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
        await store.engine.dispose()
        await fake.close()


async def test_two_worker_processes_on_postgresql_share_one_broadcast(postgres_url: str, tmp_path: Path) -> None:
    n, rate = 1000, 300
    fake = await _fake(rate, n)
    store = await open_store(postgres_url)
    procs = []
    try:
        await add_residents(store, n)
        env = worker_env(postgres_url, fake.base_url, fake.token, rate)
        config = fast_config(tmp_path, lease_seconds=60.0)  # nobody dies here: no lease may lapse on a slow machine
        logs = [tmp_path / f"w{i}.log" for i in range(2)]
        procs = [start_worker(env, until_idle=False, config=config, log=log) for log in logs]
        # Both workers are up before the broadcast exists, however slowly a loaded machine starts them.
        await _wait_started(logs, procs)
        b = await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi=VI, text_en=EN, villages=[],
                               known_villages=VILLAGES)
        counts = await _wait_done(store, b.id, procs)
        for log, p in zip(logs, procs, strict=True):
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=30) == 0, log.read_text()
        got = _received(fake, n)
        assert set(got.values()) == {1} and counts.sent == n
        async with store.session() as s:
            by_worker = dict((await s.execute(select(Delivery.worker, func.count()).group_by(Delivery.worker))).all())
        assert len(by_worker) == 2 and min(by_worker.values()) > n // 10, by_worker  # both did a share
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        await store.engine.dispose()
        await fake.close()


def test_announce_text_is_parsed_into_fields() -> None:
    fields = parse("villages: Đại Cường, dong lo\ntopic: lop-hoc\nvi: Lớp học tối nay\nmang theo điện thoại\n"
                   "en: Class tonight\nbutton: menu | Xem danh mục | See the menu")
    assert fields["villages"] == ["Đại Cường, dong lo"] and fields["topic"] == ["lop-hoc"]
    assert fields["vi"] == ["Lớp học tối nay\nmang theo điện thoại"] and fields["en"] == ["Class tonight"]
    assert parse("Chỉ tiếng Việt thôi")["vi"] == ["Chỉ tiếng Việt thôi"]


async def test_staff_compose_in_telegram_confirm_and_a_resident_unsubscribes(
        settings: Settings, tmp_path: Path, interpreter: EmbeddedInterpreter) -> None:
    commune = tmp_path / "commune"
    shutil.copytree(ROOT / "communes/ung-hoa", commune)
    staff = (commune / "staff.yml").read_text(encoding="utf-8")
    (commune / "staff.yml").write_text(staff.replace("telegram_user_id: null", f"telegram_user_id: {STAFF_USER}", 1),
                                       encoding="utf-8")
    fake = FakeTelegram(global_per_second=30, per_chat_per_second=1)
    await fake.start()
    services = await build_services(replace(settings, commune_dir=commune), interpreter=interpreter)
    channel = telegram_channel(services, replace(TELEGRAM, token=fake.token, api_url=fake.base_url,
                                                poll_timeout=1, staff_chat_ids=(STAFF_GROUP,)))
    try:
        fake.add_group(STAFF_GROUP, "Văn phòng xã")
        fake.add_user(STAFF_USER, "Chị Hoa")
        fake.add_user(8888, "Stranger")
        for i in range(4):
            fake.add_user(1000 + i, language_code=None)
        await add_residents(services.store, 4)
        services.attach([channel])  # the staff desk serves the features' /announce, as in the server
        await channel.start(web.Application())
        # Someone not in staff.yml is refused and nothing is stored.
        fake.inject_message(STAFF_GROUP, "/announce vi: Tin giả", from_user=8888)
        await fake.wait_for(STAFF_GROUP, 1)
        assert "chưa có quyền" in fake.texts(STAFF_GROUP)[-1]
        assert await queue.recent(services.store) == []
        fake.inject_message(STAFF_GROUP, f"/announce villages: Đại Cường\ntopic: dvc\nvi: {VI}\nen: {EN}",
                            from_user=STAFF_USER)
        sent = await fake.wait_for(STAFF_GROUP, 4)  # preview in vi, in en, then the summary with buttons
        assert VI in sent[1].text and EN in sent[2].text and "4 người đăng ký" in sent[3].text
        [draft] = await queue.recent(services.store)
        assert draft.status == "draft" and draft.author == "ubnd-xa"
        assert not fake.messages.get(1000)  # nothing goes out before the confirm button
        with pytest.raises(LookupError):
            fake.press_button(1000, "unsub")
        fake.press_button(STAFF_GROUP, f"bcast:send:{draft.id}", from_user=8888)  # not the author: refused
        await asyncio.sleep(0.5)
        assert (await queue.get(services.store, draft.id)).status == "draft"  # type: ignore[union-attr]
        fake.press_button(STAFF_GROUP, f"bcast:send:{draft.id}", from_user=STAFF_USER)
        await fake.wait_for(STAFF_GROUP, 5)
        cfg = BroadcastSettings(limits={"telegram": PlatformLimit(30)}, poll_seconds=0.05, check_seconds=0.1)
        await asyncio.wait_for(Worker(services.store, services.catalogs, cfg, {"telegram": channel.sender},
                                      desks={"telegram": channel.desk}).run(until_idle=True), 30)
        assert all(len(fake.messages[1000 + i]) == 1 for i in range(4))
        assert "đã gửi xong: 4 đã nhận" in fake.texts(STAFF_GROUP)[-1]
        # A resident presses the announcement's unsubscribe button: the next one skips them.
        fake.press_button(1001, "unsub")
        await fake.wait_for(1001, 2)
        resident = await services.store.find(ResidentKey("telegram", "1001"))
        assert resident is not None and not resident.subscribed
        again = await queue.create(services.store, ROLES, "ubnd-xa", topic="t", text_vi="Tin thứ hai",
                                   text_en=None, villages=[], known_villages=VILLAGES)
        await asyncio.wait_for(Worker(services.store, services.catalogs, cfg, {"telegram": channel.sender})
                               .run(until_idle=True), 30)
        assert len(fake.messages[1001]) == 2 and all(len(fake.messages[1000 + i]) == 2 for i in (0, 2, 3))
        assert (await queue.counts(services.store, again.id)).sent == 3
    finally:
        await channel.stop()
        await services.close()
        await fake.close()


async def test_the_server_runs_a_worker_and_serves_announce(settings: Settings, fake_telegram: FakeTelegram,
                                                            interpreter: EmbeddedInterpreter, tmp_path: Path) -> None:
    """`python -m bot run` with Telegram: an announcement queued from the command line is delivered by
    the server's own worker, and /announce answers in the staff group."""
    from bot.server import serve

    port = free_port()
    services = await build_services(replace(settings, web=replace(settings.web, port=port), telegram=replace(
        TELEGRAM, token=fake_telegram.token, api_url=fake_telegram.base_url, poll_timeout=1,
        staff_chat_ids=(STAFF_GROUP,))), interpreter=interpreter)
    fake_telegram.add_group(STAFF_GROUP, "Văn phòng xã")
    for i in range(3):
        fake_telegram.add_user(1000 + i, language_code=None)
    await add_residents(services.store, 3)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(services, stop))
    try:
        await queue.create(services.store, ROLES, "ubnd-xa", topic="t", text_vi=VI, text_en=EN, villages=[],
                           known_villages=VILLAGES)
        for i in range(3):
            [m] = await fake_telegram.wait_for(1000 + i, 1, timeout=20)
            assert (EN if i % 3 == 0 else VI) in m.text
        fake_telegram.inject_message(STAFF_GROUP, "/announce", from_user=STAFF_USER)
        [answer] = await fake_telegram.wait_for(STAFF_GROUP, 1)
        assert "chưa có quyền" in answer.text  # STAFF_USER is not in the project's staff.yml
    finally:
        stop.set()
        await server
        await services.close()

