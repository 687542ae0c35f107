"""A turn's replies through the outbox: written in the turn's transaction, sent right after commit.

Push channels (Telegram, Zalo: a registered Sender): the replies are outbox rows (kind "reply") written
in the turn's transaction, leased to this process for one lease. Right after the commit they are sent
from a task of their own (no wait for the worker's poll), one resident's turns in order, and marked
delivered; the marks of turns sent together are written in one transaction. A failed send leaves the
rows to the hand-off outbox worker (bot/handoff/outbox.py), which retries them with back-off, in order
per resident; so does a process killed before sending (after the lease). A turn whose resident still has
replies on the way (after a failed send; on PostgreSQL, where another process may be sending them, any
pending reply) leaves its own to the worker too, so they never overtake. A redelivered message whose
turn was saved gets its replies not delivered yet (`replay`), not a second turn and not silence.

Pull channels (the web chat): with a client message id the replies are saved pending in the same
transaction, and the page collects them from the outbox's mailbox (bot/handoff/outbox.py `take`) with the
answer, again and again until a later request acknowledges their cursor; a page that reloads is shown them
by the history (`shown`), a client that sends no cursor gets them in that answer only. A retried request
gets its replies again. Unacknowledged ones are pruned after KEEP like the delivered ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.senders import SenderRegistry
from bot.storage.db import utcnow
from bot.storage.outbox import DELIVERED, FAILED, PENDING, REPLY, Outbox
from bot.storage.prepared import Prepared
from bot.storage.store import Store
from bot.storage.turns import Executor
from kernel.locks import KeyedLocks
from kernel.messages import Button, Reply, ResidentKey
from kernel.ports import DeliveryError

log = logging.getLogger(__name__)
_ROWS = insert(cast(Table, Outbox.__table__))
_ROWS_IDS = _ROWS.returning(cast(Table, Outbox.__table__).c.id)
_SAVED = Prepared(_ROWS)
PULL = ("web",)  # channels whose replies are the response to the request (kept for a retried request)
KEEP = timedelta(days=1)  # delivered replies are kept this long for redelivered messages, then deleted
PRUNE_EVERY = timedelta(hours=1)
BEHIND_MAX = 10_000  # residents remembered as waiting behind a failed send (a platform outage, not more)
SETTLE_AFTER = 0.5  # seconds: the pages' acknowledgements gathered into one write


def _waiting(channel: object, user: object) -> tuple[ColumnElement[bool], ...]:
    """A pull channel's turn replies not collected yet."""
    return (Outbox.channel == channel, Outbox.chat_id == user, Outbox.case_id.is_(None), Outbox.kind == REPLY,
            Outbox.status == PENDING)


_WAITING = Prepared(select(Outbox.id).where(*_waiting(bindparam("channel"), bindparam("user"))).limit(1))


@dataclass(frozen=True)
class Staged:
    """A turn's replies written to the outbox, to send after the commit."""

    who: ResidentKey
    ids: tuple[int, ...]
    replies: tuple[Reply, ...]
    at: str | None
    queued: bool = False  # behind undelivered replies: left to the worker, which keeps the order
    pulled: bool = False  # a pull channel's: waiting in the mailbox, nothing to send


def _buttons(reply: Reply) -> list[list[list[str]]]:
    return [[[b.label, b.payload] for b in row] for row in reply.buttons]


def _reply(row: Outbox) -> Reply:
    return Reply(row.text, tuple(tuple(Button(label, payload) for label, payload in r) for r in row.buttons or ()))


class ReplyOutbox:
    """Stages a turn's replies in its transaction and delivers them after commit (see the module doc)."""

    def __init__(self, store: Store, senders: SenderRegistry, lease: timedelta = timedelta(seconds=60),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.senders = senders
        self.lease = lease
        self.clock = clock
        self.kick: Callable[[], None] = lambda: None  # wakes the outbox worker (set by the composition root)
        self._order = KeyedLocks()  # one resident's deliveries in the order their turns committed
        self._sending: set[asyncio.Task[None]] = set()
        self._marks: list[int] = []
        self._marking: asyncio.Task[None] | None = None
        # Residents whose replies were left to the worker (a failed send): their next turns' replies queue
        # behind them instead of overtaking, until none is pending.
        self._behind: set[ResidentKey] = set()
        # Several processes on one database (PostgreSQL) may serve one resident's turns one after the other
        # (the turn holds the resident's lock): a turn's replies queue behind any still being sent.
        self._shared = store.engine.dialect.name == "postgresql"
        self._kick_after_marks = False
        self._pruned_at: datetime | None = None
        self._settled: list[int] = []  # rows a page acknowledged, to mark delivered together (`settle`)
        self._settling: asyncio.Task[None] | None = None

    def pushes(self, channel: str) -> bool:
        return self.senders.get(channel) is not None

    async def stage(self, s: Executor, who: ResidentKey, message_id: str | None, replies: Sequence[Reply],
                    at: str | None) -> Staged | None:
        """Write the turn's replies in its transaction: leased to this process on a push channel; pending in
        the mailbox on a pull channel when the message has an id to retry with."""
        if not replies:
            return None
        push = self.pushes(who.channel)
        if not push and (message_id is None or who.channel not in PULL):
            return None
        now = self.clock()
        queued = push and (self._shared or who in self._behind) and await self._still_behind(s, who)
        lease = timedelta(0) if queued else self.lease
        rows = [{"case_id": None, "audience": "resident", "team": None, "channel": who.channel,
                 "chat_id": who.user_id, "kind": REPLY, "text": r.text, "buttons": _buttons(r) or None,
                 "status": PENDING, "attempts": 1 if push else 0,
                 # A pull channel's rows are never due: the page collects them, no worker should scan them.
                 "next_attempt_at": now + lease if push else now + KEEP, "platform_message_id": None,
                 "source": message_id, "at": at, "error": None, "created_at": now,
                 "delivered_at": None} for r in replies]
        if not push:
            await (_SAVED.run(s, rows) if isinstance(s, AsyncConnection) else s.execute(_ROWS, rows))
            return Staged(who, (), tuple(replies), at, pulled=True)
        ids = tuple((await s.execute(_ROWS_IDS, rows)).scalars())
        return Staged(who, ids, tuple(replies), at, queued)

    async def _still_behind(self, s: Executor, who: ResidentKey) -> bool:
        pending = (await s.execute(select(Outbox.id).where(
            Outbox.channel == who.channel, Outbox.chat_id == who.user_id, Outbox.audience == "resident",
            Outbox.status == PENDING).limit(1))).first()
        if pending is None:
            self._behind.discard(who)
        return pending is not None

    async def replay(self, s: AsyncSession, who: ResidentKey,
                     message_id: str) -> tuple[tuple[Reply, ...], str | None, Staged | None]:
        """A redelivered message's saved replies: on a push channel those not delivered yet and not being
        sent by anyone (their lease has run out), leased again to send now; on a pull channel all of them
        (marked `pulled`: those not acknowledged yet are in the mailbox too)."""
        mine = (Outbox.channel == who.channel, Outbox.chat_id == who.user_id, Outbox.source == message_id,
                Outbox.kind == REPLY)
        if not self.pushes(who.channel):
            if who.channel not in PULL:
                return (), None, None
            rows = list((await s.execute(select(Outbox).where(*mine).order_by(Outbox.id))).scalars())
            if not rows:
                return (), None, None
            replies = tuple(_reply(r) for r in rows)
            return replies, rows[-1].at, Staged(who, (), replies, rows[-1].at, pulled=True)
        now = self.clock()
        rows = list((await s.execute(select(Outbox).where(*mine, Outbox.status == PENDING)
                                     .order_by(Outbox.id))).scalars())
        if not rows or any(r.next_attempt_at.replace(tzinfo=now.tzinfo) > now for r in rows):
            return (), None, None  # nothing left, or someone holds them: the worker finishes the job
        for row in rows:
            row.next_attempt_at, row.attempts = now + self.lease, row.attempts + 1
        replies = tuple(_reply(r) for r in rows)
        return replies, rows[-1].at, Staged(who, tuple(r.id for r in rows), replies, rows[-1].at)

    async def forget(self, s: Executor, who: ResidentKey) -> None:
        """A resident asked to be forgotten: their saved replies go too (this turn's answer is written after)."""
        await s.execute(delete(Outbox).where(Outbox.channel == who.channel, Outbox.chat_id == who.user_id,
                                             Outbox.case_id.is_(None)))

    # --- after commit ---------------------------------------------------------

    def deliver(self, staged: Staged) -> None:
        """Send the staged replies now, from a task of their own (a resident's turns in commit order)."""
        if staged.pulled:
            return  # the page collects them
        if staged.queued:
            self._kick_after_marks = True  # the rows ahead may be this process's, marked in a moment
            self.kick()
            return
        task = asyncio.get_running_loop().create_task(self._send(staged))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, staged: Staged) -> None:
        async with self._order[staged.who]:
            sender = self.senders.get(staged.who.channel)
            try:
                if sender is None:
                    raise DeliveryError(f"no sender for channel {staged.who.channel}")
                await sender.send(staged.who.user_id, staged.replies, at=staged.at)
            except DeliveryError as exc:
                await self._failed(staged, exc)
                return
            except Exception:  # a bug: the rows stay leased and the worker takes them after the lease
                log.exception("reply to %s not sent; left to the outbox worker", staged.who)
                return
            self._mark(staged.ids)

    async def _failed(self, staged: Staged, exc: DeliveryError) -> None:
        log.warning("reply to %s not delivered (%s); the outbox worker retries", staged.who, exc)
        if not exc.permanent and len(self._behind) < BEHIND_MAX:
            self._behind.add(staged.who)
        values: dict[str, object] = {"error": str(exc)[:250]}
        if exc.permanent:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = self.clock() + timedelta(seconds=max(2.0, exc.retry_after or 0.0))
        try:
            async with self.store.writing() as s:
                await s.execute(update(Outbox).where(Outbox.id.in_(staged.ids), Outbox.status == PENDING)
                                .values(**values))
        except Exception:  # the database is away: the lease runs out and the worker retries anyway
            log.exception("outbox rows %s not rescheduled", staged.ids)
        self.kick()

    def _mark(self, ids: Sequence[int]) -> None:
        """Mark rows delivered; marks arriving while a write is under way go in the next one together."""
        self._marks.extend(ids)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.get_running_loop().create_task(self._write_marks())

    async def _write_marks(self) -> None:
        while self._marks:
            ids, self._marks = self._marks, []
            try:
                async with self.store.writing() as s:
                    await s.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.status == PENDING)
                                    .values(status=DELIVERED, delivered_at=self.clock()))
            except Exception:  # left pending: sent again after the lease (a repeat rather than a loss)
                log.exception("outbox rows %s sent but not marked delivered", ids)
            if self._kick_after_marks:  # replies queued behind these can go now
                self._kick_after_marks = False
                self.kick()

    async def drain(self) -> None:
        """Wait for the sends under way and their marks (tests, shutdown)."""
        while self._sending or any(t is not None and not t.done() for t in (self._marking, self._settling)):
            await asyncio.gather(*self._sending, *(t for t in (self._marking, self._settling) if t is not None),
                                 return_exceptions=True)

    async def stop(self, grace: float = 5.0) -> None:
        """Let sends under way finish for up to `grace` seconds; the rest is the worker's after the lease."""
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            log.warning("stopping with %d replies still being sent (delivered after restart)", len(self._sending))
            for task in list(self._sending):
                task.cancel()

    async def prune(self, before: datetime | None = None) -> None:
        """Delete turn replies settled longer ago than KEEP, and a pull channel's never collected (the worker's
        tick; a scan, so once an hour)."""
        now = self.clock()
        if before is None and self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        cutoff = before or now - KEEP
        async with self.store.writing() as s:
            await s.execute(delete(Outbox).where(Outbox.case_id.is_(None), Outbox.created_at < cutoff,
                                                 (Outbox.status != PENDING) | Outbox.channel.in_(PULL)))

    # --- pull channels ----------------------------------------------------------

    def settle(self, ids: Sequence[int]) -> None:
        """A page acknowledged these rows (its cursor covers them): marked delivered within SETTLE_AFTER, with
        every other acknowledgement meanwhile, in one write. Until then, and if the process dies first, the
        cursor keeps them from coming again (the next one covers them too; `prune` takes the rest)."""
        self._settled.extend(ids)
        if self._settling is None or self._settling.done():
            self._settling = asyncio.get_running_loop().create_task(self._write_settled())

    async def _write_settled(self) -> None:
        await asyncio.sleep(SETTLE_AFTER)
        ids, self._settled = self._settled, []
        try:
            async with self.store.writing() as s:
                await s.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.status == PENDING)
                                .values(status=DELIVERED, delivered_at=self.clock()))
        except Exception:  # left pending: the next acknowledgement covers them again
            log.exception("acknowledged outbox rows %s not marked delivered", ids[:10])

    async def shown(self, who: ResidentKey) -> None:
        """The page showed the resident's conversation again (the history, after a reload): the turn replies
        still waiting in the mailbox are in it, so they count as delivered and are not collected again."""
        if who.channel not in PULL or await self.store.first(_WAITING, {"channel": who.channel,
                                                                         "user": who.user_id}) is None:
            return
        async with self.store.writing() as s:
            await s.execute(update(Outbox).where(*_waiting(who.channel, who.user_id))
                            .values(status=DELIVERED, delivered_at=self.clock()))


__all__ = ["ReplyOutbox", "Staged", "KEEP"]
