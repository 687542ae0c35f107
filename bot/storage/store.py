"""Storage of residents, conversation state, the redacted message log and analytics (one transaction a turn)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, delete, false, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.checkpoint import Checkpoints
from bot.storage.db import READ_ONLY, AnalyticsEvent, Conversation, Message, Resident, RollupState, utcnow
from kernel.messages import ResidentKey


def _turn(seen: ColumnElement[bool]) -> Select[Resident, Conversation, bool]:
    return (select(Resident, Conversation, seen).outerjoin(Conversation, Conversation.resident_id == Resident.id)
            .where(Resident.channel == bindparam("channel"), Resident.platform_id == bindparam("user")))


# A turn's first query, built once: building and keying a statement costs more than SQLite running it.
_TURN = _turn(false())
_TURN_SEEN = _turn(select(Message.id).where(Message.resident_id == Resident.id,
                                            Message.platform_message_id == bindparam("message")).exists())
_LOG = insert(cast(Table, Message.__table__))
_KNOWN = select(Resident.id).where(Resident.channel == bindparam("channel"), Resident.platform_id == bindparam("user"))
# PostgreSQL: one resident's turns run one at a time across every process sharing the database. The lock
# is the transaction's (released at commit or rollback, or when a dead process's connection closes); the
# first number keeps these keys apart from other advisory locks (bot/storage/leader.py).
RESIDENT_LOCKS = 0x5457  # "TW"
_HOLD_RESIDENT = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")


@dataclass(frozen=True)
class ResidentView:
    """A resident as the rest of the app sees them (a snapshot, not a live row)."""

    id: int
    channel: str
    platform_id: str
    language: str | None
    village: str | None
    subscribed: bool
    consent_at: datetime | None


def view(row: Resident) -> ResidentView:
    return ResidentView(row.id, row.channel, row.platform_id, row.language, row.village, bool(row.subscribed),
                        row.consent_at)


class Store:
    """Typed access to the database for the turn pipeline and the tools around it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # `session()` is for reading (on SQLite its transactions never wait for a writer);
        # every write goes through `writing()`.
        self._reader = engine.execution_options(**READ_ONLY)
        self.session = async_sessionmaker(self._reader, expire_on_commit=False)
        self._writer = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has a single writer: queue this process's write transactions here rather than
        # in SQLite's busy handler. PostgreSQL needs no such lock.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # On SQLite the single writer already serialises every turn of every process.
        self._turn_lock = engine.dialect.name == "postgresql"
        # SQLite: the WAL is copied into the database file beside the event loop, not inside a commit.
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self.checkpoints = Checkpoints(path) if path and path != ":memory:" else None

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success (serialised on SQLite)."""
        if self._write_lock is None:
            async with self._writer() as s, s.begin():
                yield s
            return
        async with self._write_lock, self._writer() as s, s.begin():
            yield s
        if self.checkpoints is not None:
            self.checkpoints.committed()

    async def load_turn(self, s: AsyncSession, who: ResidentKey) -> tuple[Resident, Conversation]:
        """The resident's row and conversation in this session (one query), created on first contact."""
        resident, conv, _seen = await self.open_turn(s, who)
        return resident, conv

    async def open_turn(self, s: AsyncSession, who: ResidentKey,
                        message_id: str | None = None) -> tuple[Resident, Conversation, bool]:
        """The resident's row, their conversation and whether `message_id` was processed already, in one
        query (each statement is a hop to the database: a turn makes as few as it can), created on first
        contact. On PostgreSQL the resident's turn lock is taken first, held until the transaction ends."""
        if self._turn_lock:
            # Taken before the first read: under READ COMMITTED the next statements then see what the
            # resident's previous turn committed, whichever process ran it.
            await s.execute(_HOLD_RESIDENT, {"space": RESIDENT_LOCKS, "key": f"{who.channel}:{who.user_id}"})
        params = {"channel": who.channel, "user": who.user_id, "message": message_id}
        found = (await s.execute(_TURN_SEEN if message_id else _TURN, params)).first()
        if found is None:
            resident = await self.resident_for_update(s, who)
            return resident, await self.conversation(s, resident.id), False
        resident, conv, was_seen = found
        return resident, conv if conv is not None else await self.conversation(s, resident.id), bool(was_seen)

    async def resident_for_update(self, s: AsyncSession, who: ResidentKey) -> Resident:
        """The resident's row in this session, created on first contact."""
        stmt = select(Resident).where(Resident.channel == who.channel, Resident.platform_id == who.user_id)
        row = (await s.execute(stmt)).scalar_one_or_none()
        if row is not None:
            return row
        try:
            async with s.begin_nested():
                row = Resident(channel=who.channel, platform_id=who.user_id, subscribed=False, blocked=False,
                               created_at=utcnow())
                s.add(row)
                await s.flush()
        except IntegrityError:
            # Another process created the same resident a moment ago.
            row = (await s.execute(stmt)).scalar_one()
        return row

    @staticmethod
    async def conversation(s: AsyncSession, resident_id: int) -> Conversation:
        row = await s.get(Conversation, resident_id)
        if row is None:
            row = Conversation(resident_id=resident_id, state="{}", turns=0, updated_at=utcnow())
            s.add(row)
        return row

    @staticmethod
    async def append_messages(s: AsyncSession, resident_id: int,
                              rows: list[tuple[str, str | None, str | None, str | None, str | None]]) -> None:
        """Log (direction, text, payload, intent, platform_message_id) rows in one statement."""
        now = utcnow()
        await s.execute(_LOG, [
            {"resident_id": resident_id, "direction": d, "text": t, "payload": p, "intent": i,
             "platform_message_id": m, "created_at": now} for d, t, p, i, m in rows])

    @staticmethod
    def track(s: AsyncSession, resident_id: int | None, kind: str, flow: str | None = None,
              step: str | None = None, data: dict[str, object] | None = None) -> None:
        s.add(AnalyticsEvent(resident_id=resident_id, kind=kind, flow=flow, step=step, data=data,
                             created_at=utcnow()))

    async def first(self, statement: Select[Any], params: dict[str, Any]) -> Row[Any] | None:
        """The first row of a read on a bare connection: no ORM session for the hot path's small reads (a
        statement built once, with bind parameters, so it is not built and keyed again every call)."""
        async with self._reader.connect() as conn:
            return (await conn.execute(statement, params)).first()

    async def exists(self, who: ResidentKey) -> bool:
        """Whether the resident has a row (the web chat asks it for every message)."""
        return await self.first(_KNOWN, {"channel": who.channel, "user": who.user_id}) is not None

    async def find(self, who: ResidentKey) -> ResidentView | None:
        async with self.session() as s:
            stmt = select(Resident).where(Resident.channel == who.channel, Resident.platform_id == who.user_id)
            row = (await s.execute(stmt)).scalar_one_or_none()
            return view(row) if row else None

    async def state_of(self, who: ResidentKey) -> str | None:
        async with self.session() as s:
            stmt = (select(Conversation.state).join(Resident, Resident.id == Conversation.resident_id)
                    .where(Resident.channel == who.channel, Resident.platform_id == who.user_id))
            return (await s.execute(stmt)).scalar_one_or_none()

    async def recent_messages(self, resident_id: int, limit: int = 10) -> list[tuple[str, str | None]]:
        """The last messages both ways (redacted), oldest first: (direction, text or payload)."""
        async with self.session() as s:
            stmt = (select(Message.direction, Message.text, Message.payload)
                    .where(Message.resident_id == resident_id).order_by(Message.id.desc()).limit(limit))
            rows = (await s.execute(stmt)).all()
        return [(d, t if t is not None else f"[{p}]") for d, t, p in reversed(rows)]

    async def forget(self, s: AsyncSession, resident_id: int) -> None:
        """Delete everything stored about a resident (messages, state, analytics links, the row)."""
        await s.execute(delete(Message).where(Message.resident_id == resident_id))
        await s.execute(delete(Conversation).where(Conversation.resident_id == resident_id))
        await s.execute(delete(AnalyticsEvent).where(AnalyticsEvent.resident_id == resident_id))
        await s.execute(delete(RollupState))  # the funnel's roll-up counted them: rebuilt without them (rollup.py)
        await s.execute(delete(Resident).where(Resident.id == resident_id))

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True
