"""Test databases migrated once a session: a SQLite file copied per test, a PostgreSQL schema cloned per test.

Alembic's upgrade costs ~0.1 s of CPU here and more in PostgreSQL per database; the tests of the migrations
themselves (tests/bot/storage/test_migrations.py) still run it, on empty and on old databases.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
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
    made in one round trip. Without a working pg_dump each new schema is migrated with Alembic instead."""

    def __init__(self) -> None:
        self.schema = f"tmpl_{uuid.uuid4().hex[:12]}"
        admin(f'CREATE SCHEMA "{self.schema}"')
        asyncio.run(_migrate(postgres_url(self.schema)))
        self.script = self._dump()

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

    def drop(self) -> None:
        admin(f'DROP SCHEMA "{self.schema}" CASCADE')
