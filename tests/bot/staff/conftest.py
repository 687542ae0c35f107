"""A migrated database and the staff accounts on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.staff.accounts import StaffAccounts
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store


@pytest_asyncio.fixture
async def accounts(database_url: str) -> AsyncIterator[StaffAccounts]:
    engine = make_engine(database_url)
    await migrate(engine)
    yield StaffAccounts(Store(engine))
    await engine.dispose()
