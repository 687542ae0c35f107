"""Shared fixtures: real databases (SQLite and PostgreSQL), the real services, and a network guard."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from kernel.settings import ROOT, Settings, load_settings, replace
from tests.fakes.telegram_api import fake_telegram  # noqa: F401  (fixture)

if TYPE_CHECKING:
    from bot.app import Services
    from dialogues.flows import Library
    from nlu.interpreter import EmbeddedInterpreter
    from tests.fakes.databases import PostgresTemplate, SqliteTemplate

# --- no internet in tests --------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    internet = self.family in (socket.AF_INET, socket.AF_INET6)
    if internet and isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# --- databases -------------------------------------------------------------

def _postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def postgres_or_skip() -> None:
    """In CI the PostgreSQL tests must run; elsewhere they skip with a reason if it is down."""
    if not _postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but PostgreSQL is not reachable at 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    """A schema migrated once a session (each test's schema is a clone of it)."""
    postgres_or_skip()
    from tests.fakes.databases import PostgresTemplate

    template = PostgresTemplate()
    yield template
    template.drop()


@pytest.fixture
def postgres_url(postgres_template: PostgresTemplate) -> Iterator[str]:
    """A schema of its own in the `test` database, migrated to the head, dropped afterwards (an asyncpg URL)."""
    schema, url = postgres_template.take()
    yield url
    postgres_template.release(schema)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """An empty schema of its own (for the migrations' own tests), dropped afterwards."""
    postgres_or_skip()
    from tests.fakes.databases import admin, new_schema
    from tests.fakes.databases import postgres_url as url_of

    schema = new_schema()
    admin(f'CREATE SCHEMA "{schema}"')
    yield url_of(schema)
    admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    from tests.fakes.databases import SqliteTemplate

    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: SqliteTemplate) -> str:
    """tmp_path/assistant.db, migrated to the head (a copy of the session's template)."""
    return sqlite_template.copy(tmp_path / "assistant.db")


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """tmp_path/assistant.db, not there yet (for the migrations' own tests)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'assistant.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL, each migrated to the head."""
    return str(request.getfixturevalue(f"{'postgres' if request.param == 'postgresql' else 'sqlite'}_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on SQLite and on PostgreSQL (the migrations' own tests)."""
    return str(request.getfixturevalue(f"empty_{'postgres' if request.param == 'postgresql' else 'sqlite'}_url"))


@pytest.fixture
def chromium() -> str:
    """The Chromium binary for the browser tests; in CI a missing one fails the run."""
    from tests.fakes.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM} (make installs it)")
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    return CHROMIUM


# --- the assistant ---------------------------------------------------------

@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """The project's settings on a fresh SQLite file, case files in tmp_path (a parallel test's retention sweep
    must not see them), argon2's cheapest parameters for the desk's passwords."""
    from tests.fakes.pacing import PASSWORD_PROFILE

    base = load_settings(ROOT / "config.yml", env={})
    return replace(base, database_url=sqlite_url, web=replace(base.web, password_profile=PASSWORD_PROFILE),
                   escalation=replace(base.escalation, files_dir=tmp_path / "case-files"))


@pytest.fixture(scope="session")
def interpreter() -> EmbeddedInterpreter:
    """The real embedded NLU model (trained by `make test` before the suite runs)."""
    from kernel.commune import load_commune
    from nlu.interpreter import EmbeddedInterpreter

    base = load_settings(ROOT / "config.yml", env={})
    villages = load_commune(base.commune_dir).villages
    return EmbeddedInterpreter.load(base.nlu.model_path, base.nlu.data_dir, villages)


@pytest.fixture(scope="session")
def project_library() -> Library:
    """The project's guides, loaded once (they are frozen values): loading costs about 0.2 s of CPU a test."""
    from tests.fakes.services import project_library as loaded_once

    return loaded_once()


@pytest_asyncio.fixture
async def services(settings: Settings, interpreter: EmbeddedInterpreter) -> AsyncIterator[Services]:
    from tests.fakes.services import build_services

    built = await build_services(settings, interpreter=interpreter)
    yield built
    await built.close()
