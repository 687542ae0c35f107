"""The durable delivery queue: composing a broadcast, expanding it to one row per recipient,
claiming rows under a lease, settling them, taking back abandoned claims, and counting."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, true, update
from sqlalchemy.orm import aliased

from bot.broadcast.config import PlatformLimit, Roles
from bot.broadcast.models import (
    AWAITING_APPROVAL,
    CANCELLED,
    CLAIMED,
    DONE,
    DRAFT,
    FAILED,
    PENDING,
    SCHEDULED,
    SENDING,
    SENT,
    Broadcast,
    Delivery,
)
from bot.broadcast.ratelimit import free_slots, pause, schedule_for_update, take
from bot.storage.db import Resident, changed, upsert
from bot.storage.store import Store

log = logging.getLogger(__name__)
SKIPPED = "skipped"  # the resident unsubscribed (or was forgotten) before their turn came


class BroadcastError(ValueError):
    """A broadcast request that cannot be carried out; the message says why (shown to staff)."""


@dataclass(frozen=True)
class Counts:
    recipients: int
    sent: int
    failed: int
    pending: int  # waiting or being sent right now
    skipped: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


@dataclass(frozen=True)
class Claim:
    """A delivery row this worker now holds: who to send what."""

    delivery_id: int
    broadcast_id: int
    platform_id: str
    language: str | None
    attempts: int
    slot: float  # when it may be sent (Unix time), from the shared schedule


@dataclass(frozen=True)
class Outcome:
    """How one claimed send ended."""

    delivery_id: int
    resident_id: int | None = None
    sent: bool = False
    permanent: bool = False
    retry_after: float | None = None
    error: str | None = None


# --- composing -----------------------------------------------------------

async def create(store: Store, roles: Roles, author: str, *, topic: str, text_vi: str | None, text_en: str | None,
                 villages: list[str], known_villages: set[str], buttons: list[list[dict[str, str]]] | None = None,
                 due_at: float | None = None, report_channel: str | None = None,
                 report_chat: str | None = None, draft: bool = False, channels: list[str] | None = None) -> Broadcast:
    """Record a broadcast after checking the author's rights; it waits for approval when required
    (a draft waits for `confirm` first)."""
    member = roles.member(author)
    if member is None:
        raise BroadcastError(f"{author!r} is not listed in staff.yml, so may not broadcast")
    if not (text_vi or "").strip() and not (text_en or "").strip():
        raise BroadcastError("an announcement needs its text in Vietnamese or English (or both)")
    unknown = sorted(set(villages) - known_villages)
    if unknown:
        raise BroadcastError(f"unknown villages: {', '.join(unknown)}")
    if not roles.may_send(member, villages):
        where = ", ".join(member.villages or ()) or "no village"
        raise BroadcastError(f"{member.id} may broadcast only to: {where}")
    for button_row in buttons or ():
        for b in button_row:
            if not b.get("payload") or not (b.get("vi") or b.get("en")):
                raise BroadcastError("every button needs a payload and a label")
    now = time.time()
    row = Broadcast(author=member.id, report_channel=report_channel, report_chat=report_chat, topic=topic,
                    text_vi=(text_vi or "").strip() or None, text_en=(text_en or "").strip() or None,
                    villages=sorted(set(villages)), buttons=buttons or [],
                    channels=sorted(set(channels)) if channels else None,
                    status=DRAFT if draft else AWAITING_APPROVAL if roles.needs_approval(member) else SCHEDULED,
                    due_at=due_at if due_at is not None else now, created_at=now,
                    approved_by=None if roles.needs_approval(member) else member.id, recipients=0)
    async with store.writing() as s:
        s.add(row)
    log.info("broadcast %s by %s to %s: %s", row.id, member.id, row.villages or "all", row.status)
    return row


async def confirm(store: Store, roles: Roles, broadcast_id: int, author: str) -> Broadcast:
    """The author confirms a draft after seeing the preview: it is queued (or waits for approval)."""
    member = roles.member(author)
    async with store.writing() as s:
        row = await s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError(f"no broadcast {broadcast_id}")
        if member is None or row.author != member.id:
            raise BroadcastError("only the author can confirm an announcement")
        if row.status != DRAFT:
            raise BroadcastError(f"broadcast {broadcast_id} is {row.status}, not a draft")
        row.status = AWAITING_APPROVAL if roles.needs_approval(member) else SCHEDULED
        row.due_at = max(row.due_at, time.time()) if row.due_at else time.time()
    return row


async def approve(store: Store, roles: Roles, broadcast_id: int, approver: str) -> Broadcast:
    member = roles.member(approver)
    if member is None or not member.approver:
        raise BroadcastError(f"{approver!r} may not approve broadcasts")
    async with store.writing() as s:
        row = await s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError(f"no broadcast {broadcast_id}")
        if row.status != AWAITING_APPROVAL:
            raise BroadcastError(f"broadcast {broadcast_id} is {row.status}, not awaiting approval")
        if row.author == member.id:
            raise BroadcastError("an announcement is approved by someone other than its author")
        row.status, row.approved_by = SCHEDULED, member.id
    return row


async def cancel(store: Store, broadcast_id: int, roles: Roles | None = None, by: str | None = None) -> Broadcast:
    """Stop a broadcast: rows not yet sent are dropped from the queue. With `roles`, only its author or an
    approver listed in staff.yml (`by`) may (the Telegram desk checks the author itself)."""
    member = roles.member(by) if roles is not None and by else None
    if roles is not None and member is None:
        raise BroadcastError(f"{by!r} is not listed in staff.yml, so may not cancel broadcasts")
    async with store.writing() as s:
        row = await s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastError(f"no broadcast {broadcast_id}")
        if member is not None and row.author != member.id and not member.approver:
            raise BroadcastError(f"{member.id} may cancel only their own announcements")
        if row.status in (DONE, CANCELLED):
            raise BroadcastError(f"broadcast {broadcast_id} is already {row.status}")
        row.status, row.finished_at = CANCELLED, time.time()
        await s.execute(update(Delivery).where(Delivery.broadcast_id == broadcast_id, Delivery.status == PENDING)
                        .values(status=SKIPPED, error="cancelled"))
    return row


async def get(store: Store, broadcast_id: int) -> Broadcast | None:
    async with store.session() as s:
        return await s.get(Broadcast, broadcast_id)


async def awaiting(store: Store, limit: int = 50) -> list[Broadcast]:
    """Announcements waiting for an approver, oldest first."""
    async with store.session() as s:
        stmt = select(Broadcast).where(Broadcast.status == AWAITING_APPROVAL).order_by(Broadcast.id).limit(limit)
        return list((await s.execute(stmt)).scalars())


async def recent(store: Store, limit: int = 20) -> list[Broadcast]:
    async with store.session() as s:
        return list((await s.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))).scalars())


# --- expanding -----------------------------------------------------------

def _insert(dialect: str) -> Any:
    return upsert(dialect)(Delivery)


async def start_due(store: Store, channels: list[str], now: float | None = None) -> list[int]:
    """Turn every due, approved broadcast into delivery rows (once, whichever worker gets there first)."""
    now = time.time() if now is None else now
    started = []
    async with store.session() as s:
        due = list((await s.execute(select(Broadcast.id).where(Broadcast.status == SCHEDULED,
                                                                Broadcast.due_at <= now))).scalars())
    for broadcast_id in due:
        async with store.writing() as s:
            # Compare-and-set: only one worker expands a broadcast.
            taken = await changed(s, update(Broadcast).where(Broadcast.id == broadcast_id,
                                                             Broadcast.status == SCHEDULED)
                                  .values(status=SENDING, started_at=now))
            if taken != 1:
                continue
            row = await s.get(Broadcast, broadcast_id)
            villages = row.villages  # type: ignore[union-attr]
            chosen = [c for c in channels if not row.channels or c in row.channels]  # type: ignore[union-attr]
            who = select(literal(broadcast_id), Resident.id, Resident.channel, literal(PENDING), literal(0),
                         literal(now), literal(False)).where(
                Resident.subscribed.is_(True), Resident.blocked.is_(False), Resident.channel.in_(chosen),
                Resident.village.in_(villages) if villages else true())
            stmt = _insert(store.engine.dialect.name).from_select(
                ["broadcast_id", "resident_id", "channel", "status", "attempts", "available_at", "in_doubt"], who)
            await s.execute(stmt.on_conflict_do_nothing(index_elements=["broadcast_id", "resident_id"]))
            n = (await s.execute(select(func.count()).select_from(Delivery)
                                 .where(Delivery.broadcast_id == broadcast_id))).scalar_one()
            await s.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(recipients=n))
        log.info("broadcast %s started: %d recipients", broadcast_id, n)
        started.append(broadcast_id)
    return started


# --- claiming and settling ----------------------------------------------

async def claim(store: Store, channel: str, limit: PlatformLimit, want: int, worker: str, lease_seconds: float,
                lookahead: float = 0.25, now: float | None = None,
                pauses: dict[str, float] | None = None) -> tuple[list[Claim], float]:
    """Claim up to `want` rows of the channel, each with its slot in the shared send schedule.

    Returns the claims and, when the schedule is full for the next `lookahead` seconds, how
    long to wait. Rows are locked with FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent
    transactions never wait on each other's rows; SQLite runs one write transaction at a time.
    """
    fixed = now
    async with store.writing() as s:
        now = time.time() if fixed is None else fixed  # after waiting for the write lock
        schedule = await schedule_for_update(s, channel, now)
        n, wait = free_slots(schedule, limit, want, now, lookahead)
        if pauses is not None:  # tell the worker at once, so its slots already taken wait too
            pauses[channel] = max(pauses.get(channel, 0.0), schedule.paused_until)
        if n <= 0:
            return [], wait
        other = aliased(Delivery)
        busy_chat = select(other.id).where(
            other.resident_id == Delivery.resident_id,
            or_(other.status == CLAIMED, other.sent_at > now - limit.per_chat_seconds)).exists()
        stmt = (select(Delivery.id, Delivery.resident_id, Delivery.broadcast_id, Delivery.attempts)
                .where(Delivery.status == PENDING, Delivery.channel == channel, Delivery.available_at <= now,
                       ~busy_chat)
                .order_by(Delivery.id).limit(n)  # rows of older broadcasts have lower ids
                .with_for_update(skip_locked=True, of=Delivery))
        rows = (await s.execute(stmt)).all()
        # Two broadcasts to one resident in the same batch: the later one waits for the per-chat gap.
        firsts: dict[int, Any] = {}
        for r in rows:
            firsts.setdefault(r.resident_id, r)
        rows = list(firsts.values())
        if not rows:
            return [], 0.0
        people = {r.id: r for r in (await s.execute(
            select(Resident.id, Resident.platform_id, Resident.language, Resident.subscribed, Resident.blocked)
            .where(Resident.id.in_([r.resident_id for r in rows])))).all()}
        live = [r for r in rows if r.resident_id in people and people[r.resident_id].subscribed
                and not people[r.resident_id].blocked]
        gone = [r.id for r in rows if r not in live]
        if gone:
            await s.execute(update(Delivery).where(Delivery.id.in_(gone)).values(status=SKIPPED,
                                                                                 error="unsubscribed"))
        if not live:
            return [], 0.0
        slots = take(schedule, limit, len(live), now)
        await s.execute(update(Delivery).where(Delivery.id.in_([r.id for r in live])).values(
            status=CLAIMED, worker=worker, lease_until=slots[-1] + lease_seconds, attempts=Delivery.attempts + 1))
    return [Claim(r.id, r.broadcast_id, people[r.resident_id].platform_id, people[r.resident_id].language,
                  r.attempts + 1, slot) for r, slot in zip(live, slots, strict=True)], 0.0


async def reserve(store: Store, channel: str, limit: PlatformLimit, k: int = 1) -> list[float]:
    """k fresh slots of the shared schedule (for sends that missed theirs, and reports to staff)."""
    async with store.writing() as s:
        now = time.time()
        return take(await schedule_for_update(s, channel, now), limit, k, now)


def backoff(attempts: int, base: float, cap: float) -> float:
    return min(cap, base * 2 ** max(0, attempts - 1))


async def settle(store: Store, worker: str, outcomes: list[Outcome], *, channel: str, max_attempts: int,
                 backoff_base: float, backoff_cap: float, now: float | None = None) -> None:
    """Record how claimed sends ended, all in one transaction (group commit)."""
    if not outcomes:
        return
    now = time.time() if now is None else now
    mine = and_(Delivery.worker == worker, Delivery.status == CLAIMED)
    async with store.writing() as s:
        sent = [o.delivery_id for o in outcomes if o.sent]
        if sent:
            await s.execute(update(Delivery).where(Delivery.id.in_(sent), mine)
                            .values(status=SENT, sent_at=now, lease_until=None, error=None))
        failed = [o for o in outcomes if not o.sent]
        if not failed:
            return
        attempts = dict((await s.execute(select(Delivery.id, Delivery.attempts)
                                          .where(Delivery.id.in_([o.delivery_id for o in failed])))).all())
        pause_until = 0.0
        for o in failed:
            error = (o.error or "")[:200]
            n = attempts.get(o.delivery_id, 1)
            if o.permanent:
                await s.execute(update(Delivery).where(Delivery.id == o.delivery_id, mine)
                                .values(status=FAILED, error=error, lease_until=None))
                resident = (await s.execute(select(Delivery.resident_id)
                                            .where(Delivery.id == o.delivery_id))).scalar_one_or_none()
                if resident is not None:
                    # Blocked the bot or the chat is gone: stop sending to them at all.
                    await s.execute(update(Resident).where(Resident.id == resident)
                                    .values(subscribed=False, blocked=True, consent_at=None))
            elif o.retry_after is not None:
                # The platform's flood control: not the resident's fault, so the attempt does not count.
                pause_until = max(pause_until, now + o.retry_after)
                await s.execute(update(Delivery).where(Delivery.id == o.delivery_id, mine).values(
                    status=PENDING, available_at=now + o.retry_after, attempts=Delivery.attempts - 1,
                    error=error, lease_until=None))
            elif n >= max_attempts:
                await s.execute(update(Delivery).where(Delivery.id == o.delivery_id, mine)
                                .values(status=FAILED, error=error, lease_until=None))
            else:
                await s.execute(update(Delivery).where(Delivery.id == o.delivery_id, mine).values(
                    status=PENDING, available_at=now + backoff(n, backoff_base, backoff_cap), error=error,
                    lease_until=None))
        if pause_until:
            from bot.broadcast.models import RateBucket

            schedule = await s.get(RateBucket, channel, with_for_update=True)
            if schedule is not None:
                pause(schedule, pause_until)


async def reclaim(store: Store, resend_in_doubt: bool, now: float | None = None) -> int:
    """Take back claims whose lease ran out (their worker died or hung); returns how many."""
    now = time.time() if now is None else now
    expired = and_(Delivery.status == CLAIMED, Delivery.lease_until < now)
    async with store.writing() as s:
        if resend_in_doubt:
            taken = await changed(s, update(Delivery).where(expired).values(
                status=PENDING, in_doubt=True, worker=None, lease_until=None, available_at=now))
        else:
            taken = await changed(s, update(Delivery).where(expired).values(
                status=FAILED, in_doubt=True, error="worker stopped mid-send; not repeated", lease_until=None))
    if taken:
        log.warning("took back %d deliveries from a worker that stopped", taken)
    return taken


# --- reporting -----------------------------------------------------------

async def counts(store: Store, broadcast_id: int) -> Counts:
    async with store.session() as s:
        rows = dict((await s.execute(select(Delivery.status, func.count()).where(Delivery.broadcast_id == broadcast_id)
                                     .group_by(Delivery.status))).all())
    return Counts(recipients=sum(rows.values()), sent=rows.get(SENT, 0), failed=rows.get(FAILED, 0),
                  pending=rows.get(PENDING, 0) + rows.get(CLAIMED, 0), skipped=rows.get(SKIPPED, 0))


async def finish(store: Store, broadcast_id: int, now: float | None = None) -> bool:
    """Mark a sending broadcast done when nothing is left; True for the one caller that did it."""
    now = time.time() if now is None else now
    left = select(Delivery.id).where(Delivery.broadcast_id == broadcast_id,
                                     Delivery.status.in_([PENDING, CLAIMED])).exists()
    async with store.writing() as s:
        done = await changed(s, update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == SENDING,
                                                        ~left).values(status=DONE, finished_at=now))
    return done == 1


async def report_due(store: Store, broadcast_id: int, every: float, now: float | None = None) -> bool:
    """Whether this worker should push a progress report now (one worker per interval)."""
    now = time.time() if now is None else now
    async with store.writing() as s:
        due = await changed(s, update(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.status == SENDING,
            or_(Broadcast.reported_at.is_(None), Broadcast.reported_at <= now - every)).values(reported_at=now))
    return due == 1


async def sending(store: Store) -> list[int]:
    async with store.session() as s:
        return list((await s.execute(select(Broadcast.id).where(Broadcast.status == SENDING))).scalars())


__all__ = ["BroadcastError", "Counts", "Claim", "Outcome", "create", "confirm", "approve", "cancel", "get", "recent",
           "start_due", "claim", "reserve", "settle", "reclaim", "counts", "finish", "report_due", "sending",
           "SKIPPED", "FAILED"]
