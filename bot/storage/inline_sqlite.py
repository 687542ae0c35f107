"""SQLite for SQLAlchemy's asyncio engine without a thread hop per call: the driver-level connection that
`create_async_engine(..., async_creator=...)` expects (aiosqlite's interface), running each sqlite3 call at
once on the event loop's thread.

aiosqlite hands every call (cursor, execute, fetch, close) to its own thread and wakes the loop for the
answer: a turn of seven statements made about twenty such hops, which cost more than the statements
themselves (a statement on a local WAL file takes microseconds). Batches (`executemany`) still run in a
thread. Only a transaction's first write lock can wait, for another process's writer: `db.py` takes it
without blocking and waits asynchronously.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# A statement that finds the database locked waits this long inside SQLite (blocking the loop); the lock
# a write transaction starts with is waited for asynchronously instead (db.py).
BUSY_MS = 50
BATCH_IN_THREAD = 50  # rows of an executemany from which it runs in a thread


class _Calls:
    """What SQLAlchemy's adapter puts on aiosqlite's queue of calls: run at once, answer the future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Cursor:
    """aiosqlite's cursor interface over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        # A big batch (a broadcast's deliveries settled at once) may take milliseconds: SQLite releases
        # the GIL while it works, so it runs beside the loop (calls on a connection never overlap:
        # SQLAlchemy holds the connection's mutex).
        rows = list(parameters)
        if len(rows) < BATCH_IN_THREAD:
            self._cursor.executemany(sql, rows)  # a turn's few log rows
        else:
            await asyncio.to_thread(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """aiosqlite's connection interface over a sqlite3 connection used from the loop's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Calls()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(path: str) -> Callable[[], Any]:
    """The `async_creator` of an engine on the SQLite file at `path` (or ":memory:")."""

    async def connect() -> Connection:
        connection = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_MS / 1000)
        return Connection(connection)

    return connect


__all__ = ["Connection", "Cursor", "connector", "BUSY_MS"]
