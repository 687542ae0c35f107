"""Test databases migrated once a session: a SQLite file copied per test, a PostgreSQL schema cloned per test.

Alembic's upgrade costs ~0.1 s of CPU here and more in PostgreSQL per database; the tests of the migrations
themselves (tests/bot/storage/test_migrations.py) still run it, on empty and on old databases.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import asyncpg

from bot.storage.db import make_engine, migrate

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
log = logging.getLogger(__name__)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def postgres_url(schema: str) -> str:
    """An asyncpg URL of the `test` database selecting the schema (bot.storage.db.make_engine reads search_path)."""
    return f"{PG_ADMIN_URL.replace('postgresql://', 'postgresql+asyncpg://', 1)}?search_path={schema}"


def new_schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def admin(sql: str) -> None:
    """Run SQL (several statements may be given) on the `test` database, outside any schema of a test."""
    asyncio.run(_admin(sql))


class SqliteTemplate:
    """A SQLite file migrated to the head once; each test gets a copy (the last connection's close folded the
    WAL into the file)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        asyncio.run(_migrate(sqlite_url(self.path)))

    def copy(self, path: Path) -> str:
        shutil.copyfile(self.path, path)
        return sqlite_url(path)


class PostgresTemplate:
    """A schema migrated to the head once, and its `pg_dump` with the schema's name replaced: a new schema is
    made in one round trip. Without a working pg_dump each new schema is migrated with Alembic instead.

    A thread of its own makes each test's schema one ahead and drops it after the test, so a test waits for
    neither (about 0.25 s of set-up and 0.1 s of teardown a test: a quarter of the PostgreSQL tests' time in
    `make test-fast`); the tests meanwhile mostly wait on their own I/O."""

    def __init__(self) -> None:
        self.schema = f"tmpl_{uuid.uuid4().hex[:12]}"
        admin(f'CREATE SCHEMA "{self.schema}"')
        asyncio.run(_migrate(postgres_url(self.schema)))
        self.script = self._dump()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._tasks: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._tasks.put(("make", new_schema()))
        self._thread = threading.Thread(target=self._work, name="test-schemas", daemon=True)
        self._thread.start()

    def _dump(self) -> str | None:
        try:
            done = subprocess.run(["pg_dump", "--schema", self.schema, "--inserts", "--no-owner", "--no-privileges",
                                   "--dbname", PG_ADMIN_URL], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("pg_dump failed (%s): every test schema is migrated with Alembic", exc)
            return None
        if done.returncode != 0:
            log.warning("pg_dump failed (%s): every test schema is migrated with Alembic", done.stderr.strip())
            return None
        # psql's meta-commands (\restrict since 15.14) are not SQL.
        return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))

    def clone(self, schema: str) -> str:
        """A new schema like the template (tables, indexes, sequences, alembic_version); its URL."""
        if self.script is None:
            admin(f'CREATE SCHEMA "{schema}"')
            asyncio.run(_migrate(postgres_url(schema)))
        else:
            admin(self.script.replace(self.schema, schema))
        return postgres_url(schema)

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            kind, schema = task
            try:
                if kind == "make":
                    self.clone(schema)
                    self._ready.put(schema)
                else:
                    admin(f'DROP SCHEMA "{schema}" CASCADE')
            except Exception as exc:  # handed to the test waiting for its schema
                log.exception("test schema %s: %s failed", schema, kind)
                if kind == "make":
                    self._ready.put(exc)

    def take(self) -> tuple[str, str]:
        """A fresh schema (made while the previous test ran) and its URL; the next one is started."""
        made = self._ready.get(timeout=120)
        self._tasks.put(("make", new_schema()))
        if isinstance(made, BaseException):
            raise made
        return made, postgres_url(made)

    def release(self, schema: str) -> None:
        """Drop a test's schema, after the test, in the thread."""
        self._tasks.put(("drop", schema))

    def drop(self) -> None:
        """At the end of the session: the drops still queued, the schema made ahead, and the template."""
        self._tasks.put(None)
        self._thread.join(timeout=120)
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if isinstance(made, str):
                admin(f'DROP SCHEMA "{made}" CASCADE')
        admin(f'DROP SCHEMA "{self.schema}" CASCADE')
