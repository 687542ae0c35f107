"""Storage of residents, conversation state, the redacted message log and analytics (one transaction a turn)."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, delete, false, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.checkpoint import Checkpoints
from bot.storage.db import (
    AnalyticsEvent,
    Conversation,
    Message,
    Resident,
    RollupState,
    Session,
    connection,
    reader,
    utcnow,
)
from bot.storage.inline_sqlite import BUSY_MS
from bot.storage.prepared import Prepared
from bot.storage.turns import Executor, TurnConversation, TurnResident, TurnTx
from kernel.messages import ResidentKey

_R, _C = cast(Table, Resident.__table__).c, cast(Table, Conversation.__table__).c


def _turn(seen: ColumnElement[bool]) -> Select[Any]:
    # Columns, not entities: a turn reads plain values (bot/storage/turns.py), no ORM object is loaded.
    return (select(_R.id, _R.channel, _R.platform_id, _R.language, _R.village, _R.subscribed, _R.consent_at,
                   _C.resident_id, _C.state, _C.turns, _C.updated_at, seen)
            .select_from(cast(Table, Resident.__table__)).outerjoin(cast(Table, Conversation.__table__),
                                                                    _C.resident_id == _R.id)
            .where(_R.channel == bindparam("channel"), _R.platform_id == bindparam("user")))


# A turn's first query, built once: building and keying a statement costs more than SQLite running it.
_TURN = Prepared(_turn(false()))
_TURN_SEEN = Prepared(_turn(select(Message.id).where(Message.resident_id == _R.id,
                                                     Message.platform_message_id == bindparam("message")).exists()))
_NEW_RESIDENT = insert(cast(Table, Resident.__table__)).returning(_R.id)
_LOG = Prepared(insert(cast(Table, Message.__table__)))
_KNOWN_ID = select(_R.id).where(_R.channel == bindparam("channel"), _R.platform_id == bindparam("user"))
_KNOWN = Prepared(_KNOWN_ID)
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
        self._reader = reader(engine)
        self.session = async_sessionmaker(self._reader, expire_on_commit=False, class_=Session)
        self._writer = async_sessionmaker(engine, expire_on_commit=False, class_=Session)
        # SQLite has a single writer: queue this process's write transactions here rather than
        # in SQLite's busy handler. PostgreSQL needs no such lock.
        self._turn_conn: AsyncConnection | None = None  # SQLite: kept between turns (_sqlite_turn)
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # On SQLite the single writer already serialises every turn of every process.
        self._turn_lock = engine.dialect.name == "postgresql"
        # SQLite: the WAL is copied into the database file beside the event loop, not inside a commit.
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self.checkpoints = Checkpoints(path) if path and path != ":memory:" else None
        # SQLite: the web chat's reads at every message (does the resident exist, does anything wait) on a
        # connection of their own, each statement alone (WAL: it sees what was committed, never waits for a
        # writer): no pool checkout and no transaction around a single read.
        self._quick = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None,
                                      check_same_thread=False) if path and path != ":memory:" else None
        if self._quick is not None:
            weakref.finalize(self, self._quick.close)

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

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[TurnTx]:
        """A turn's write transaction on a Core connection (serialised on SQLite), committed on success."""
        if self._write_lock is not None:
            async with self._write_lock, self._sqlite_turn() as tx:
                yield tx
            if self.checkpoints is not None:
                self.checkpoints.committed()
            return
        async with AsyncExitStack() as stack:
            tx = TurnTx(await stack.enter_async_context(connection(self.engine, begin=True)))
            stack.push_async_callback(tx.close)
            yield tx
            await tx.finish()

    @asynccontextmanager
    async def _sqlite_turn(self) -> AsyncIterator[TurnTx]:
        """SQLite's turns (one at a time, under the write lock) on one connection kept between them: checking a
        connection out of the pool and back for every turn was a fifth of a turn's CPU. A turn that failed
        (rolled back) leaves it usable; one cut short (cancelled) or broken closes it, and the next opens one."""
        conn, self._turn_conn = self._turn_conn or await self.engine.connect(), None
        keep = False
        try:
            async with conn.begin():
                tx = TurnTx(conn)
                try:
                    yield tx
                    await tx.finish()
                finally:
                    await tx.close()
            keep = True
        except Exception:
            keep = not conn.invalidated and not conn.in_transaction()
            raise
        finally:
            if keep:
                self._turn_conn = conn
            else:
                await conn.close()

    async def close(self) -> None:
        """Give back the connection kept for SQLite's turns (before the engine is disposed)."""
        conn, self._turn_conn = self._turn_conn, None
        if conn is not None:
            await conn.close()

    async def open_turn(self, tx: TurnTx, who: ResidentKey,
                        message_id: str | None = None) -> tuple[TurnResident, TurnConversation, bool]:
        """The resident, their conversation and whether `message_id` was processed already, in one query
        (each statement is a hop to the database: a turn makes as few as it can), the resident created on
        first contact. On PostgreSQL the resident's turn lock is taken first, held until the transaction ends."""
        if self._turn_lock:
            # Taken before the first read: under READ COMMITTED the next statements then see what the
            # resident's previous turn committed, whichever process ran it.
            await tx.conn.execute(_HOLD_RESIDENT, {"space": RESIDENT_LOCKS, "key": f"{who.channel}:{who.user_id}"})
        params = {"channel": who.channel, "user": who.user_id, "message": message_id}
        found = await (_TURN_SEEN if message_id else _TURN).first(tx.conn, params)
        if found is None:
            return TurnResident(await self._new_resident(tx.conn, who), who.channel, who.user_id), \
                TurnConversation(), False
        rid, channel, platform_id, language, village, subscribed, consent_at, stored, state, turns, at, seen = found
        conv = TurnConversation(state, turns or 0, at, True) if stored is not None else TurnConversation()
        return TurnResident(rid, channel, platform_id, language, village, bool(subscribed), consent_at), conv, \
            bool(seen)

    @staticmethod
    async def _new_resident(conn: AsyncConnection, who: ResidentKey) -> int:
        try:
            async with conn.begin_nested():
                return int((await conn.execute(_NEW_RESIDENT, {
                    "channel": who.channel, "platform_id": who.user_id, "subscribed": False, "blocked": False,
                    "created_at": utcnow()})).scalar_one())
        except IntegrityError:  # another process created the same resident a moment ago
            return int((await conn.execute(_KNOWN_ID, {"channel": who.channel, "user": who.user_id})).scalar_one())

    @staticmethod
    async def append_messages(conn: AsyncConnection, resident_id: int,
                              rows: list[tuple[str, str | None, str | None, str | None, str | None]]) -> None:
        """Log (direction, text, payload, intent, platform_message_id) rows in one statement."""
        now = utcnow()
        await _LOG.run(conn, [
            {"resident_id": resident_id, "direction": d, "text": t, "payload": p, "intent": i,
             "platform_message_id": m, "created_at": now} for d, t, p, i, m in rows])

    @staticmethod
    def track(s: AsyncSession, resident_id: int | None, kind: str, flow: str | None = None,
              step: str | None = None, data: dict[str, object] | None = None) -> None:
        s.add(AnalyticsEvent(resident_id=resident_id, kind=kind, flow=flow, step=step, data=data,
                             created_at=utcnow()))

    async def rows(self, statement: Prepared, params: dict[str, Any],
                   first: bool = False) -> Sequence[Sequence[Any]]:
        """The rows (`first`: at most one) of a read on a bare connection: no ORM session for the hot path's
        small reads (a statement built once, with bind parameters, so it is not built and keyed again every
        call); on SQLite the Store's own autocommit connection, without a pool checkout."""
        if self._quick is not None:
            return statement.all_on(self._quick, self.engine.dialect, params, first=first)
        async with connection(self._reader) as conn:
            return await statement.all(conn, params)

    async def first(self, statement: Prepared, params: dict[str, Any]) -> Sequence[Any] | None:
        rows = await self.rows(statement, params, first=True)
        return rows[0] if rows else None

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

    async def forget(self, s: Executor, resident_id: int) -> None:
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
