"""Statements run straight on SQLite's driver read and write what SQLAlchemy does, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from bot.storage.db import AnalyticsEvent, Resident, make_engine
from bot.storage.prepared import Prepared

_R = cast(Table, Resident.__table__)
_E = cast(Table, AnalyticsEvent.__table__)
NEW = Prepared(insert(_R))
BY_KEY = Prepared(select(_R.c.id, _R.c.subscribed, _R.c.consent_at, _R.c.language)
                  .where(_R.c.channel == bindparam("channel"), _R.c.platform_id == bindparam("user")))
EVENTS = Prepared(insert(_E))


async def test_values_round_trip_as_sqlalchemy_reads_them(database_url: str) -> None:
    engine = make_engine(database_url)
    at = datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await NEW.run(conn, {"channel": "web", "platform_id": "p1", "language": "en", "subscribed": True,
                                 "blocked": False, "consent_at": at, "created_at": at})
            row = await BY_KEY.first(conn, {"channel": "web", "user": "p1"})
            assert row is not None
            rid, subscribed, consent_at, language = row
            assert subscribed is True and language == "en"
            assert consent_at.replace(tzinfo=UTC) == at  # SQLite keeps no zone: the app reads it as UTC
            await EVENTS.run(conn, [{"resident_id": rid, "kind": "step", "flow": "f", "step": str(i),
                                     "data": {"n": i}, "created_at": at} for i in range(3)])
            assert await BY_KEY.first(conn, {"channel": "web", "user": "nobody"}) is None
        async with engine.connect() as conn:  # what SQLAlchemy reads back of the rows written above
            found = (await conn.execute(select(_R.c.consent_at, _R.c.subscribed))).one()
            data = (await conn.execute(select(_E.c.data).order_by(_E.c.id))).scalars().all()
        assert found.subscribed is True and found.consent_at.replace(tzinfo=UTC) == at
        assert data == [{"n": 0}, {"n": 1}, {"n": 2}]
    finally:
        await engine.dispose()


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(database_url: str) -> None:
    engine = make_engine(database_url)
    row = {"channel": "web", "platform_id": "twice", "subscribed": False, "blocked": False,
           "created_at": datetime.now(UTC)}
    try:
        async with engine.begin() as conn:
            await NEW.run(conn, row)
        for first in (None, text("SELECT 1")):  # the transaction begun by SQLAlchemy, or by the statement
            with pytest.raises(IntegrityError) as raised:
                async with engine.begin() as conn:
                    if first is not None:
                        await conn.execute(first)
                    await NEW.run(conn, row)
            assert "twice" not in str(raised.value)  # parameters hidden, as the engine hides them
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(_R))).scalar_one() == 1
    finally:
        await engine.dispose()
