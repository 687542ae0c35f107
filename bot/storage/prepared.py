"""Statements of the turn's hot path compiled once and run straight on the driver (sqlite3, asyncpg).

Through SQLAlchemy each statement costs about 80 µs of CPU (execution context, parameter processing, result
set-up, the greenlet hop) where sqlite3 on the loop's thread (inline_sqlite.py) takes 10-20 µs; a web chat
message made about eight of them. A `Prepared` statement keeps its SQL, parameter order and the types'
converters (datetimes as SQLite stores them, JSON) per set of parameter names, and runs on the driver's
connection under the SQLAlchemy connection given, so in its transaction; errors are SQLAlchemy's (an
IntegrityError is still one, with the parameters hidden as the engine hides them). On PostgreSQL that is
asyncpg's connection once SQLAlchemy's adapter has begun the transaction (it begins lazily, at its first
statement: before that, and on other drivers, the statement goes through SQLAlchemy, its compiled cache).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from bot.storage.inline_sqlite import Connection as InlineConnection

Convert = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Form:
    """The statement compiled for SQLite with one set of parameter names."""

    sql: str
    binds: tuple[tuple[str, Any, Convert], ...]  # name, default (a literal of the statement), converter
    results: tuple[Convert, ...]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, default, convert in self.binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the parameter {name!r}")
            out.append(value if convert is None or value is None else convert(value))
        return tuple(out)

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v if f is None or v is None else f(v) for f, v in zip(self.results, raw, strict=True))


_REQUIRED = object()


def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Form:
    compiled = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
    processors = compiled._bind_processors
    binds: list[tuple[str, Any, Convert]] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required else bind.effective_value
        binds.append((name, default, processors.get(name)))  # type: ignore[arg-type]  # one per name here
    results = tuple(entry[3]._cached_result_processor(dialect, None) for entry in compiled._result_columns)
    return _Form(compiled.string, tuple(binds), results)


def _driver(conn: AsyncConnection) -> tuple[sqlite3.Connection | None, Any]:
    """(sqlite3 connection, None), (None, SQLAlchemy's asyncpg adapter in a begun transaction or autocommit),
    or (None, None): through SQLAlchemy."""
    fairy = conn.sync_connection.connection if conn.sync_connection is not None else None
    if fairy is None:
        return None, None
    driver = fairy.driver_connection
    if isinstance(driver, InlineConnection):
        return driver._conn, None
    adapted = fairy.dbapi_connection
    if conn.dialect.driver == "asyncpg" and (getattr(adapted, "_transaction", None) is not None
                                             or getattr(adapted, "isolation_level", None) == "autocommit"):
        return None, adapted
    return None, None


class Prepared:
    """A statement built once, run straight on SQLite's driver (see the module doc)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, ...], _Form] = {}

    def _form(self, dialect: Dialect, params: Mapping[str, Any]) -> _Form:
        keys = (dialect.name, *params)
        form = self._forms.get(keys)
        if form is None:
            form = self._forms[keys] = _compile(self.statement, dialect, keys[1:])
        return form

    def all_on(self, raw: sqlite3.Connection, dialect: Dialect, params: Mapping[str, Any],
               first: bool = False) -> list[tuple[Any, ...]]:
        """Every row (`first`: at most one), read on a sqlite3 connection outside any transaction."""
        form = self._form(dialect, params)
        args = form.args(params)
        try:
            cursor = raw.execute(form.sql, args)
            rows = cursor.fetchmany(1) if first else cursor.fetchall()
        except sqlite3.Error as exc:
            raise _error(dialect, form.sql, args, exc, sqlite3.Error) from exc
        return [form.row(r) for r in rows]

    async def all(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row, as tuples of Python values."""
        raw, pg = _driver(conn)
        if raw is None and pg is None:
            return (await conn.execute(self.statement, params)).all()
        form = self._form(conn.dialect, params)
        args = form.args(params)
        try:
            rows = raw.execute(form.sql, args).fetchall() if raw is not None else \
                await pg._connection.fetch(form.sql, *args)
        except sqlite3.Error as exc:
            raise _error(conn.dialect, form.sql, args, exc, sqlite3.Error) from exc
        except Exception as exc:
            raise _pg_error(conn, pg, form.sql, args, exc) from exc
        return [form.row(tuple(r)) for r in rows]

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        rows = await self.all(conn, params)
        return rows[0] if rows else None

    async def run(self, conn: AsyncConnection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        """Run an INSERT, UPDATE or DELETE once, or once per row of parameters (rows with the same names)."""
        raw, pg = _driver(conn)
        if raw is None and pg is None:
            await conn.execute(self.statement, params)
            return
        rows = [params] if isinstance(params, Mapping) else params
        if not rows:
            return
        form = self._form(conn.dialect, rows[0])
        args = [form.args(p) for p in rows]
        try:
            if raw is not None:
                raw.execute(form.sql, args[0]) if len(args) == 1 else raw.executemany(form.sql, args)
            elif len(args) == 1:
                await pg._connection.execute(form.sql, *args[0])
            else:
                await pg._connection.executemany(form.sql, args)
        except sqlite3.Error as exc:
            raise _error(conn.dialect, form.sql, args, exc, sqlite3.Error) from exc
        except Exception as exc:
            raise _pg_error(conn, pg, form.sql, args, exc) from exc


def _error(dialect: Dialect, sql: str, args: Sequence[Any], exc: Exception,
           base: type[Exception]) -> BaseException:
    # As SQLAlchemy raises them (callers catch IntegrityError), never showing a resident's text.
    return DBAPIError.instance(sql, args, exc, base, hide_parameters=True, dialect=dialect,
                               ismulti=isinstance(args, list))


def _pg_error(conn: AsyncConnection, adapted: Any, sql: str, args: Sequence[Any], exc: Exception) -> BaseException:
    # asyncpg's exception as SQLAlchemy's adapter names it (UniqueViolationError -> IntegrityError), then wrapped.
    try:
        adapted._handle_exception(exc)
    except Exception as translated:
        return _error(conn.dialect, sql, args, translated, conn.dialect.loaded_dbapi.Error)
    return exc


__all__ = ["Prepared"]
