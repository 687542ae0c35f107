"""Delivering the outbox: team messages to a staff desk, resident messages (the team's answers, and the turns'
replies their quick send after commit could not deliver: bot/replies.py) to their channel.

Guarantee. A row is written in the same transaction as the decision (turn, claim, reply), so
nothing accepted is lost. A worker takes a due row by moving its due time one lease ahead
(committed), sends it, and marks it delivered with the platform's message id in a second
transaction. A worker killed before sending leaves the row to come due again after the lease: it
is sent once. Only a crash in the instant between the platform accepting the message and our
commit (or a timeout after the platform accepted it) can send it twice; we prefer that to losing
it, since the platform offers no idempotency key. A team row goes to the desk its `channel` names (the
Telegram staff groups: "telegram") at its place (the group) and is taken only when the place's turn
has come (the desk's `place_interval`: Telegram allows about 20 messages a minute to a group): the
place's pace is a row of the shared schedule table (bot/broadcast/ratelimit.py), locked while a worker
takes the slot, so several servers on one database keep the limit together, and no row waits for the
pace while leased (it would outlive its lease and be posted twice, or hold the notices behind it for a
whole lease after a kill).
Rows go out in order: a row to a resident waits while an earlier one to that resident is undelivered, a
team's row while an earlier one of the case to that team is. Web chat rows are not pushed: the resident's page
takes them (`take`): marked delivered once the page acknowledges them (or as they are read, for a
client that sends no acknowledgement).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.broadcast.ratelimit import schedule_for_update
from bot.desks import DeskRegistry
from bot.handoff.book import CLOSE
from bot.handoff.card import buttons_of
from bot.handoff.cases import Escalation
from bot.handoff.models import DELIVERED, FAILED, PENDING, CaseThread, Outbox
from bot.replies import ReplyOutbox
from bot.senders import SenderRegistry
from bot.storage.db import utcnow
from bot.storage.outbox import REPLY
from bot.storage.prepared import Prepared
from bot.storage.store import Store
from kernel.edge import ascii_id
from kernel.messages import Reply
from kernel.ports import DeliveryError

log = logging.getLogger(__name__)
PULL_CHANNELS = ("web",)
# What waits for a web chat resident: asked on every message, so built once. The turns' own replies wait
# too (bot/replies.py), for a client that acknowledges; one that does not gets them in its answer only.
_MINE = (Outbox.audience == "resident", Outbox.channel == bindparam("channel"), Outbox.chat_id == bindparam("user"),
         Outbox.status == PENDING)
_WAITING = Prepared(select(Outbox.id, Outbox.text, Outbox.buttons).where(*_MINE).order_by(Outbox.id))
_WAITING_CASES = Prepared(select(Outbox.id).where(*_MINE, Outbox.kind != REPLY).limit(1))


class OutboxWorker:
    """Delivers due outbox rows after commit; woken by `kick()`, polling the database as a safety net."""

    def __init__(self, store: Store, escalation: Escalation, senders: SenderRegistry, desks: DeskRegistry,
                 clock: Callable[[], datetime] = utcnow,
                 lease: timedelta = timedelta(seconds=60), poll_seconds: float = 5.0,
                 tick_seconds: float = 30.0, concurrency: int = 16) -> None:
        self.store = store
        self.escalation = escalation
        self.senders = senders
        self.desks = desks
        self.clock = clock
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.tick_seconds = tick_seconds
        self._wake = asyncio.Event()
        self._concurrency = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        # Stopping is a flag as well as a cancel: on Python 3.11 `asyncio.wait_for` loses a cancel that arrives
        # as the event it waits on is set (a `kick()` at shutdown), and the loop would run on for ever.
        self._stopping = False
        self._paced_until = 0.0  # wall-clock time the next paced group slot opens (for the run loop)
        escalation.kick = self.kick
        # The turns' replies (bot/replies.py): this worker retries what their quick send could not deliver.
        self.replies: ReplyOutbox | None = None

    def kick(self) -> None:
        self._wake.set()

    def _push_channels(self) -> list[str]:
        return [c for c in self.senders.channels() if c not in PULL_CHANNELS]

    async def claim(self, limit: int = 50) -> list[Outbox]:
        """Take the due rows (each the first undelivered one of its case and audience) for one lease."""
        now = self.clock()
        earlier = aliased(Outbox)
        # A team's rows wait for the case's earlier ones in that team; a resident's for every earlier row to
        # that resident (the turns' replies and the team's answers alike).
        same_case = ((Outbox.audience == "team") & (earlier.case_id == Outbox.case_id)
                     & earlier.team.is_not_distinct_from(Outbox.team))
        same_resident = ((Outbox.audience == "resident") & (earlier.chat_id == Outbox.chat_id)
                         & (earlier.channel == Outbox.channel))
        blocked = (select(earlier.id).where(earlier.audience == Outbox.audience, earlier.status == PENDING,
                                            earlier.id < Outbox.id, same_case | same_resident).exists())
        audiences: list[ColumnElement[bool]] = [Outbox.channel.in_(self._push_channels())
                                                & (Outbox.audience == "resident")]
        if self.desks.names():
            audiences.append((Outbox.audience == "team") & Outbox.channel.in_(self.desks.names()))
        stmt = (select(Outbox).where(Outbox.status == PENDING, Outbox.next_attempt_at <= now, or_(*audiences),
                                     ~blocked).order_by(Outbox.id).limit(limit))
        async with self.store.writing() as s:
            if self.store.engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=Outbox)
            rows = [row for row in (await s.execute(stmt)).scalars()
                    if row.audience != "team" or await self._place_slot(s, row)]
            for row in rows:
                row.next_attempt_at = now + self.lease
                row.attempts += 1
        return rows

    async def _place_slot(self, s: AsyncSession, row: Outbox) -> bool:
        """Take the place's next slot if it is open now (one row per place per claim); else leave the row
        unleased and note when the slot opens. Real time: the pace is the platform's, not the cases' clock."""
        desk = self.desks.get(row.channel)
        interval = desk.place_interval if desk is not None else 0.0
        if not interval:
            return True
        now = time.time()
        pace = await schedule_for_update(s, _pace_key(row), now)
        if pace.next_at > now:
            self._paced_until = min(self._paced_until, pace.next_at) if self._paced_until > now else pace.next_at
            return False
        pace.next_at = now + interval
        return True

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were delivered."""
        delivered = 0
        while True:
            rows = await self.claim()
            if not rows:
                return delivered
            # Each claimed row is the first undelivered one of its case and audience, so the rows of a
            # batch are independent: send them concurrently (the platform's rate limiter paces them).
            results = await asyncio.gather(*(self._deliver_limited(row) for row in rows))
            delivered += sum(results)
            if not any(results):
                return delivered

    async def _deliver_limited(self, row: Outbox) -> bool:
        async with self._concurrency:
            return await self._deliver(row)

    async def _deliver(self, row: Outbox) -> bool:
        message_id: str | None = None
        try:
            if row.audience == "team":
                message_id = await self._post_to_team(row)
            else:
                sender = self.senders.get(row.channel)
                if sender is None:
                    raise DeliveryError(f"no sender for channel {row.channel}")
                await sender.send(row.chat_id, [Reply(row.text, buttons_of(row.buttons))], at=row.at)
        except DeliveryError as exc:
            await self._failed(row, exc)
            return False
        async with self.store.writing() as s:
            await s.execute(update(Outbox).where(Outbox.id == row.id).values(
                status=DELIVERED, delivered_at=self.clock(),
                platform_message_id=message_id))
        return True

    async def _failed(self, row: Outbox, exc: DeliveryError) -> None:
        backoff = min(300.0, 2.0 ** min(row.attempts, 8))
        wait = max(backoff, exc.retry_after or 0.0)
        log.warning("outbox row %s (case %s, %s) not delivered (attempt %s): %s", row.id, row.case_id,
                    row.audience, row.attempts, exc)
        async with self.store.writing() as s:
            values: dict[str, object] = {"error": str(exc)[:250]}
            if exc.permanent or row.attempts >= 20:
                values["status"] = FAILED
            else:
                values["next_attempt_at"] = self.clock() + timedelta(seconds=wait)
            await s.execute(update(Outbox).where(Outbox.id == row.id).values(**values))

    async def _post_to_team(self, row: Outbox) -> str | None:
        desk = self.desks.get(row.channel)
        if desk is None:
            raise DeliveryError(f"no staff desk {row.channel}")
        async with self.store.session() as s:
            thread = (await s.execute(select(CaseThread).where(CaseThread.case_id == row.case_id,
                                                               CaseThread.team == row.team))).scalar_one_or_none()
        if row.kind == CLOSE:  # the case has ended: close its topic (a plain group has nothing to close)
            if thread is not None and thread.topic_id is not None:
                await desk.close_thread(row.chat_id, str(thread.topic_id))
            return None
        if thread is None:
            # The first message of a case in this group (its card): open a topic if the group is a forum.
            # (A crash between creating the topic and saving it leaves an empty topic; the card goes once.)
            topic = await desk.open_thread(row.chat_id, self.escalation.tr("Yêu cầu {case}", case=row.case_id))
            async with self.store.writing() as s:
                thread = CaseThread(case_id=row.case_id, team=row.team or "", chat_id=_number(row.chat_id),
                                    topic_id=_number(topic) if topic is not None else None)
                s.add(thread)
        reply_to = str(thread.card_message_id) if thread.topic_id is None and thread.card_message_id else None
        message_id = await desk.post(row.chat_id, row.text, buttons_of(row.buttons),
                                     thread=str(thread.topic_id) if thread.topic_id is not None else None,
                                     reply_to=reply_to)
        if thread.card_message_id is None and row.kind == "card":
            async with self.store.writing() as s:
                await s.execute(update(CaseThread).where(CaseThread.id == thread.id).values(
                    card_message_id=_number(message_id)))
        return message_id

    # --- the web chat's mailbox ---------------------------------------------

    name = "handoff"

    async def take(self, channel: str, user_id: str, after: int | None) -> tuple[list[Reply], int | None]:
        """Messages waiting for a web chat resident, oldest first (see bot.senders.Mailbox)."""
        if channel not in PULL_CHANNELS:
            return [], after
        params = {"channel": channel, "user": user_id}
        if after is not None:
            # One read on a bare connection; what the cursor acknowledges (usually the previous answer's
            # replies) is marked delivered after the answer, with other answers' marks: until then the cursor
            # itself keeps it from coming again.
            rows = await self.store.rows(_WAITING, params)
            settled = [r[0] for r in rows if r[0] <= after]
            if settled and self.replies is not None:
                self.replies.settle(settled)
            elif settled:
                async with self.store.writing() as s:
                    await s.execute(update(Outbox).where(Outbox.id.in_(settled), Outbox.status == PENDING)
                                    .values(status=DELIVERED, delivered_at=self.clock()))
            fresh = [(at, Reply(text, buttons_of(buttons))) for at, text, buttons in rows if at > after]
            return [reply for _, reply in fresh], max((at for at, _ in fresh), default=after)
        # Almost always nothing waits: answer without the write lock.
        if await self.store.first(_WAITING_CASES, params) is None:
            return [], None
        async with self.store.writing() as s:
            taken = list((await s.execute(select(Outbox).where(
                Outbox.audience == "resident", Outbox.channel == channel, Outbox.chat_id == user_id,
                Outbox.status == PENDING, Outbox.kind != REPLY).order_by(Outbox.id))).scalars())
            for row in taken:
                row.status, row.delivered_at, row.attempts = DELIVERED, self.clock(), row.attempts + 1
        return [Reply(r.text, buttons_of(r.buttons)) for r in taken], None

    # --- running ------------------------------------------------------------

    async def run(self) -> None:
        """Deliver and raise reminders until cancelled."""
        last_tick = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            try:
                if loop.time() - last_tick >= self.tick_seconds:
                    last_tick = loop.time()
                    await self.escalation.tick()
                    if self.replies is not None:
                        await self.replies.prune()
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unreachable; keep the worker alive
                log.exception("hand-off outbox worker failed; retrying")
            wait = self.poll_seconds
            if self._paced_until > time.time():  # a group's next slot opens before the next poll
                wait = min(wait, self._paced_until - time.time() + 0.01)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self.run(), name="handoff-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _pace_key(row: Outbox) -> str:
    """The schedule row pacing one place of a desk (Telegram's groups keep their earlier key)."""
    key = f"tg-group:{row.chat_id}" if row.channel == "telegram" else f"desk:{row.channel}:{row.chat_id}"
    return key[:32]


def _number(desk_id: str) -> int:
    """A desk's id for a place, thread or message as the case thread stores it (a number, maybe negative)."""
    value = ascii_id(desk_id)
    if value is None:
        raise DeliveryError(f"{desk_id!r}: the desk's ids must be numbers", permanent=True)
    return value
