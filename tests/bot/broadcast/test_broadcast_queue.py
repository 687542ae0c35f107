"""The broadcast queue on both databases, with a Sender double at the channel boundary."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.broadcast import queue
from bot.broadcast.config import BroadcastSettings, PlatformLimit, broadcast_settings
from bot.broadcast.models import CLAIMED, DONE, Delivery
from bot.broadcast.worker import Worker
from bot.storage.db import Resident
from kernel.settings import ROOT, ConfigError, load_settings, replace
from tests.fakes.broadcast import ROLES, VILLAGES, RecordingSender, add_residents, catalogs, open_store


def fast(rate: float = 2000.0, **kw: object) -> BroadcastSettings:
    base = {"limits": {"telegram": PlatformLimit(rate, per_chat_seconds=1.0)},
            "poll_seconds": 0.02, "check_seconds": 0.05,
            "backoff_seconds": 0.05, "lease_seconds": 5.0, "report_every_seconds": 0.2}
    base.update(kw)
    return BroadcastSettings(**base)  # type: ignore[arg-type]


async def test_every_subscriber_of_the_chosen_villages_gets_it_once_in_their_language(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await add_residents(store, 300, villages=("dai-cuong", "dong-lo"))
        await add_residents(store, 20, villages=("dai-cuong",), subscribed=False, start=300)
        await add_residents(store, 10, channel="web", start=400)
        b = await queue.create(store, ROLES, "doan-thanh-nien", topic="class", text_vi="Lớp kỹ năng số tối nay",
                               text_en="Digital skills class tonight", villages=["dai-cuong"],
                               known_villages=VILLAGES,
                               buttons=[[{"payload": "menu", "vi": "Xem lịch", "en": "See schedule"}]],
                               report_channel="telegram", report_chat="staff-chat")
        sender = RecordingSender(flaky={"1002": 2}, permanent={"1004"})
        await asyncio.wait_for(Worker(store, catalogs(), fast(), {"telegram": sender}).run(until_idle=True), 30)
        # Residents 1000, 1002, ... live in dai-cuong (even i); 1004 blocked the bot.
        expected = {str(1000 + i) for i in range(0, 300, 2)} - {"1004"}
        got = sender.counts()
        staff = got.pop("staff-chat")
        assert set(got) == expected and set(got.values()) == {1}
        assert staff >= 1 and "đã gửi xong" in sender.received["staff-chat"][-1].text
        en = sender.received["1000"][0]  # i=0 speaks English
        vi = sender.received["1002"][0]  # i=2 has no saved language: Vietnamese
        assert "Digital skills class tonight" in en.text and "Lớp kỹ năng số" in vi.text
        assert [b.payload for row in en.buttons for b in row] == ["menu", "unsub"]
        assert en.buttons[0][0].label == "See schedule" and vi.buttons[0][0].label == "Xem lịch"
        counts = await queue.counts(store, b.id)
        assert (counts.sent, counts.failed, counts.pending, counts.recipients) == (149, 1, 0, 150)
        row = await queue.get(store, b.id)
        assert row is not None and row.status == DONE and row.author == "doan-thanh-nien"
        async with store.session() as s:
            blocked = (await s.execute(select(Resident.subscribed, Resident.blocked)
                                       .where(Resident.platform_id == "1004"))).one()
            tries = (await s.execute(select(Delivery.attempts).join(Resident, Resident.id == Delivery.resident_id)
                                     .where(Resident.platform_id == "1002"))).scalar_one()
        assert tuple(blocked) == (False, True)  # permanently failed: unsubscribed
        assert tries == 3
    finally:
        await store.engine.dispose()


async def test_one_language_only_falls_back_for_everyone(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await add_residents(store, 6)
        await queue.create(store, ROLES, "ubnd-xa", topic="scam", text_vi="Cảnh giác cuộc gọi giả công an",
                           text_en=None, villages=[], known_villages=VILLAGES)
        sender = RecordingSender()
        await asyncio.wait_for(Worker(store, catalogs(), fast(), {"telegram": sender}).run(until_idle=True), 30)
        assert len(sender.received) == 6
        assert all("Cảnh giác" in r[0].text and r[0].buttons[-1][0].label == "Huỷ nhận thông báo"
                   for r in sender.received.values())
    finally:
        await store.engine.dispose()


async def test_retry_after_is_honoured_and_does_not_use_up_attempts(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await add_residents(store, 20)
        await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi="Tin", text_en=None, villages=[],
                           known_villages=VILLAGES)
        sender = RecordingSender(flood_once={"1005"}, retry_after=0.4)
        started = time.monotonic()
        await asyncio.wait_for(Worker(store, catalogs(), fast(max_attempts=1), {"telegram": sender})
                               .run(until_idle=True), 30)
        assert set(sender.counts().values()) == {1} and len(sender.received) == 20
        # The last message waited for the platform's retry_after.
        assert max(sender.times) - started >= 0.4
    finally:
        await store.engine.dispose()


async def test_rate_is_shared_by_workers_and_respected(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await add_residents(store, 120)
        await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi="Tin", text_en=None, villages=[],
                           known_villages=VILLAGES)
        sender = RecordingSender()
        # Nobody dies here: a lease long enough that a worker stalled by a busy machine keeps its claims.
        cfg = fast(rate=100.0, lease_seconds=60.0)
        workers = [Worker(store, catalogs(), cfg, {"telegram": sender}, name=f"w{i}") for i in range(3)]
        await asyncio.wait_for(asyncio.gather(*(w.run(until_idle=True) for w in workers)), 30)
        assert set(sender.counts().values()) == {1} and len(sender.received) == 120
        times = sorted(sender.times)
        worst = max(sum(1 for t in times if a <= t < a + 1.0) for a in times)
        # Slots are 1/97 s apart (headroom 0.97) and a send that misses its slot takes a new one.
        assert worst <= 100, worst  # three uncoordinated workers would manage about 300
        assert (len(times) - 1) / (times[-1] - times[0]) <= 100
        assert sum(w.sent for w in workers) == 120
    finally:
        await store.engine.dispose()


async def test_an_abandoned_claim_is_taken_back_and_sent(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await add_residents(store, 5)
        await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi="Tin", text_en=None, villages=[],
                           known_villages=VILLAGES)
        cfg = fast()
        await queue.start_due(store, ["telegram"])
        # A worker that claims two rows and dies before sending them.
        claims, _ = await queue.claim(store, "telegram", cfg.limits["telegram"], 2, "dead", lease_seconds=0.2)
        assert len(claims) == 2
        await asyncio.sleep(0.3)
        sender = RecordingSender()
        await asyncio.wait_for(Worker(store, catalogs(), cfg, {"telegram": sender}).run(until_idle=True), 30)
        assert len(sender.received) == 5 and set(sender.counts().values()) == {1}
        async with store.session() as s:
            doubt = (await s.execute(select(Delivery.id).where(Delivery.in_doubt.is_(True)))).scalars().all()
        assert sorted(doubt) == sorted(c.delivery_id for c in claims)
    finally:
        await store.engine.dispose()


async def test_rights_approval_and_bad_requests_change_nothing(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        strict = replace(ROLES, approval_required=True)
        kw = {"topic": "t", "text_vi": "Tin", "text_en": None, "known_villages": VILLAGES}
        with pytest.raises(queue.BroadcastError):
            await queue.create(store, ROLES, "stranger", villages=[], **kw)  # type: ignore[arg-type]
        with pytest.raises(queue.BroadcastError):
            await queue.create(store, ROLES, "ubnd-xa", villages=["atlantis"], **kw)  # type: ignore[arg-type]
        with pytest.raises(queue.BroadcastError):
            await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi=" ", text_en=None, villages=[],
                               known_villages=VILLAGES)
        assert await queue.recent(store) == []
        b = await queue.create(store, strict, "doan-thanh-nien", villages=[], **kw)  # type: ignore[arg-type]
        assert b.status == "awaiting_approval"
        assert await queue.start_due(store, ["telegram"]) == []
        with pytest.raises(queue.BroadcastError):
            await queue.approve(store, strict, b.id, "doan-thanh-nien")  # not an approver
        approved = await queue.approve(store, strict, b.id, "ubnd-xa")
        assert approved.status == "scheduled" and approved.approved_by == "ubnd-xa"
        later = await queue.create(store, ROLES, "ubnd-xa", villages=[], due_at=time.time() + 3600,
                                   **kw)  # type: ignore[arg-type]
        assert await queue.start_due(store, ["telegram"]) == [b.id]
        assert (await queue.get(store, later.id)).status == "scheduled"  # type: ignore[union-attr]
        await queue.cancel(store, later.id)
        assert (await queue.get(store, later.id)).status == "cancelled"  # type: ignore[union-attr]
    finally:
        await store.engine.dispose()


def test_settings_and_roles_from_files(tmp_path: Path) -> None:
    bs = broadcast_settings(load_settings(ROOT / "config.yml", env={"BROADCAST_RATE_TELEGRAM": "300"}))
    assert bs.limits["telegram"].per_second == 300 and bs.limits["telegram"].per_chat_seconds == 1.0
    assert broadcast_settings(load_settings(ROOT / "config.yml", env={})).limits["telegram"].per_second == 20
    bad = tmp_path / "config.yml"
    bad.write_text("broadcast:\n  rate_limits:\n    telegram: {per_second: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broadcast.rate_limits.telegram.per_second"):
        load_settings(bad, env={})
    member = ROLES.member("doan-thanh-nien")
    assert member is not None and ROLES.may_send(member, []) and not member.approver


async def test_claims_on_postgresql_skip_rows_locked_by_another_worker(postgres_url: str) -> None:
    store = await open_store(postgres_url)
    try:
        await add_residents(store, 10)
        await queue.create(store, ROLES, "ubnd-xa", topic="t", text_vi="Tin", text_en=None, villages=[],
                           known_villages=VILLAGES)
        await queue.start_due(store, ["telegram"])
        limit = PlatformLimit(1000.0)
        first, second = await asyncio.gather(  # each may take 6 slots within a 1 s lookahead
            queue.claim(store, "telegram", limit, 6, "a", 30, 1.0),
            queue.claim(store, "telegram", limit, 6, "b", 30, 1.0))
        ids_a = {c.delivery_id for c in first[0]}
        ids_b = {c.delivery_id for c in second[0]}
        assert not ids_a & ids_b and len(ids_a | ids_b) == 10
        async with store.session() as s:
            claimed = (await s.execute(select(Delivery.worker).where(Delivery.status == CLAIMED))).scalars().all()
        assert sorted(claimed, key=str) == sorted(["a"] * len(ids_a) + ["b"] * len(ids_b))
    finally:
        await store.engine.dispose()
