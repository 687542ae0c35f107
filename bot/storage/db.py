"""Database schema (SQLAlchemy 2 declarative) and the engine factory; migrations live in bot/storage/migrations."""

from __future__ import annotations

import ast
import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.expression import text as sql_text
from sqlalchemy.util import await_only

from bot.storage.inline_sqlite import BUSY_MS, connector

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_WAIT_SECONDS = 10.0  # how long a write transaction waits for another process's writer (SQLite)
IDLE_PING_SECONDS = 2.0  # PostgreSQL: a connection unused this long is pinged before it is used again


class Session(AsyncSession):
    """An AsyncSession that an `async with` closes in the caller's task. SQLAlchemy 2.1 closes it in a task
    of its own (shielded from cancellation): a task, and a pass of the event loop with the connection still
    checked out (on SQLite, with the write lock still held), for every session; under 100 residents at once
    SQLite's pool ran out of connections on that alone. Closing a session that committed or only read does
    no I/O, so there is nothing for a cancellation to cut short."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


@asynccontextmanager
async def connection(engine: AsyncEngine, begin: bool = False) -> AsyncIterator[AsyncConnection]:
    """`engine.connect()` (`begin`: `engine.begin()`), closed in the caller's task as Session is."""
    conn = await engine.connect()
    try:
        if begin:
            async with conn.begin():
                yield conn
        else:
            yield conn
    finally:
        await conn.close()


def utcnow() -> datetime:
    return datetime.now(UTC)


async def changed(session: AsyncSession, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in the session; the number of rows it changed (compare-and-set checks).

    SQLAlchemy types `execute` as returning a plain Result; for DML it is a CursorResult, which has
    the row count."""
    result = cast(CursorResult[Any], await session.execute(statement))
    return int(result.rowcount or 0)


class Base(DeclarativeBase):
    pass


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "platform_id", name="uq_resident_channel_platform"),
                      Index("ix_residents_village", "village"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8))  # explicit choice only
    village: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)  # the resident blocked the bot
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(Text, default="{}")
    turns: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The dashboard's unanswered messages: what the message log keeps for them in place of an intent (dialogues
# Outcome). bot/staff/figures.py reads them with this condition as written (literal values: PostgreSQL's plan,
# even a cached one, can then use the partial index of migration 0455).
UNANSWERED_KINDS = ("out_of_scope", "low_confidence")
UNANSWERED_WHERE = f"direction = 'in' AND intent IN {UNANSWERED_KINDS!r} AND text IS NOT NULL"


class Message(Base):
    """The redacted message log: what residents typed (after the safety filter) and what we answered."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("resident_id", "platform_message_id", name="uq_message_platform_id"),
        Index("ix_messages_resident_created", "resident_id", "id"),
        # The dashboard (migration 0410_unanswered): unanswered messages by period; who wrote in a period.
        Index("ix_messages_intent", "intent", "created_at"),
        # Two partial indexes live in the migrations alone: ix_messages_inbound (0410, inbound messages by time
        # and resident) and ix_messages_unanswered (0455, the unanswered ones newest first, covering). Declared
        # here, their dialect options (postgresql_where, sqlite_where) loaded both SQL dialects in every
        # process (PostgreSQL's is 2.3 MB); the schema is made by the migrations, never from these classes.
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(String(128))
    intent: Mapped[str | None] = mapped_column(String(64))
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnalyticsEvent(Base):
    """Funnel events; never message text."""

    __tablename__ = "analytics_events"
    # The funnel's filters and counted columns in one index (migration 0400_dashboard).
    __table_args__ = (Index("ix_events_funnel", "flow", "kind", "created_at", "step", "resident_id"),
                      Index("ix_events_time", "created_at"))  # a day's events for the daily roll-up (0440)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FunnelDay(Base):
    """The funnel's daily roll-up (bot/rollup.py), for closed days in the commune's time zone: per guide, measure
    (started, reached, stuck, complete, cancel, handoff) and step, the residents it counted that day, grouped by
    the day each of them last counted there before (`prev_day`; FIRST_DAY when never). A period [a, b] then counts
    each resident once: the rows of its days whose prev_day is before a."""

    __tablename__ = "funnel_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date, primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)


class FunnelMonth(Base):
    """funnel_days summed per month (`month`: its first day): a period reads its whole months from here."""

    __tablename__ = "funnel_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date, primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)


class FunnelSeen(Base):
    """The last closed day each resident counted in a guide's measure and step (the roll-up's memory)."""

    __tablename__ = "funnel_seen"

    flow: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)


class WriterDay(Base):
    """A resident wrote on this closed day (bot/rollup_writers.py), and the day they last wrote before it."""

    __tablename__ = "writer_days"
    # By resident (the day they wrote before, today's already counted), by prev_day (a long period's first days).
    __table_args__ = (Index("ix_writer_days_resident", "resident_id", "day"),
                      Index("ix_writer_days_prev", "prev_day", "day", "resident_id"))

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date)


class RollupState(Base):
    """How far the roll-up has gone (`through`, a closed day) and in which time zone; no row: (re)build it."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    through: Mapped[date] = mapped_column(Date)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # No checkpoint inside a commit (it syncs and writes back on the event loop's thread): the Store runs
    # them on a thread of its own (checkpoint.py); the last connection to close checkpoints too.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A statement waits at most this long inside SQLite (on the event loop's thread, inline_sqlite.py);
    # the lock a write transaction begins with is waited for asynchronously (_sqlite_begin).
    cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    cursor.close()


READ_ONLY = {"sqlite_read_only": True}  # execution options of an engine used only for reading


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reading only. PostgreSQL: in autocommit, so a read is its statements alone, without the
    BEGIN and ROLLBACK round trips around them (under READ COMMITTED each statement saw its own snapshot
    anyway). SQLite: its transactions begin deferred and never wait for a writer (_sqlite_begin)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**READ_ONLY)


def _sqlite_begin(conn: Connection) -> None:
    # Take the write lock at the start of every transaction that may write. With a deferred
    # BEGIN, a transaction that read first and writes later fails at once ("database is
    # locked") when another connection wrote in between; IMMEDIATE waits for the lock instead,
    # and savepoints work as SQLAlchemy expects. Readers (engines with READ_ONLY options) begin
    # deferred: in WAL mode they never wait for a writer.
    # Straight to the driver (sqlite3, on the loop's thread): a statement through SQLAlchemy costs more
    # than SQLite running it, and every read of the web chat begins one.
    raw = conn.connection.driver_connection._conn  # type: ignore[union-attr]
    if conn.get_execution_options().get("sqlite_read_only", False):
        raw.execute("BEGIN")
        return
    # The lock is held by another process's writer: wait for it without blocking the event loop
    # (statements run on the loop's thread), up to WRITE_WAIT_SECONDS as busy_timeout did before.
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    pause = 0.001
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await_only(asyncio.sleep(pause))
        pause = min(pause * 2, 0.05)


def make_engine(url: str) -> AsyncEngine:
    """An async engine for the URL; a SQLite file's folder is created, WAL mode is on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True,
                                     async_creator=connector(make_url(url).database or ":memory:"))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # A `search_path` query parameter (used by tests to isolate runs in schemas) becomes a server setting.
    parsed = make_url(url)
    connect_args: dict[str, object] = {}
    if "search_path" in parsed.query:
        connect_args["server_settings"] = {"search_path": parsed.query["search_path"]}
        parsed = parsed.difference_update_query(["search_path"])
    engine = create_async_engine(parsed, pool_size=10, max_overflow=10,
                                 hide_parameters=True,  # a failed insert's error must not log resident text
                                 connect_args=connect_args)
    event.listen(engine.sync_engine.pool, "checkin", _idle_from)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


def _idle_from(_dbapi_conn: object, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
    # pool_pre_ping, but only for a connection that sat unused for a while (the database may have restarted
    # meanwhile): busy connections come back within milliseconds, and asyncpg's ping is three round trips
    # (BEGIN, ";", ROLLBACK), which on every checkout cost more than a turn's own statements.
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_conn.ping()
    except Exception as exc:  # the pool drops this connection and checks out another (or a new one)
        raise DisconnectionError(f"an idle connection is gone: {type(exc).__name__}") from exc


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


_FIELD = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def heads() -> set[str]:
    """The migration history's heads, read from the revision files (Alembic is imported only to migrate)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        fields = dict(_FIELD.findall(path.read_text(encoding="utf-8")))
        revisions.add(ast.literal_eval(fields["revision"]))
        down = ast.literal_eval(fields["down_revision"])
        parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


def _versions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {str(v) for v in connection.execute(sql_text("SELECT version_num FROM alembic_version")).scalars()}


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema up to date (the one Alembic head). A database already there is left alone without
    importing Alembic, which would stay in the server's memory (16 MB) for nothing."""
    async with engine.connect() as conn:
        if await conn.run_sync(_versions) == heads():
            return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def upsert(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT that takes ON CONFLICT clauses, imported when first asked for: a server on SQLite
    never loads PostgreSQL's dialect (2.3 MB), nor the other way round."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


__all__ = ["Base", "Resident", "Conversation", "Message", "AnalyticsEvent", "make_engine", "migrate", "utcnow",
           "asyncio"]

