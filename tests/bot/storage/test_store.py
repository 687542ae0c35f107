"""Storage on both databases: residents, state after every turn, the message log, deduplication, forgetting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select

from bot.app import Services
from bot.storage.db import AnalyticsEvent, Conversation, Message, Resident
from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.services import build_services


async def test_turns_persist_across_a_new_process_worth_of_services(settings: Settings, database_url: str,
                                                                    interpreter: EmbeddedInterpreter) -> None:
    cfg = replace(settings, database_url=database_url)
    who = ResidentKey("web", "store-1")
    first = await build_services(cfg, interpreter=interpreter)
    try:
        r = await first.pipeline.handle(Incoming(who, payload="flow:vneid_install"))
        assert r.state.flow == "vneid_install" and r.state.step == 1
        r = await first.pipeline.handle(Incoming(who, payload="done"))
        assert r.state.step == 2
    finally:
        await first.close()
    second = await build_services(cfg, interpreter=interpreter)
    try:
        r = await second.pipeline.handle(Incoming(who, payload="resume"))
        assert (r.state.flow, r.state.step) == ("vneid_install", 2)
        resident = await second.store.find(who)
        assert resident is not None and resident.channel == "web"
        async with second.store.session() as s:
            n_in = (await s.execute(select(func.count()).select_from(Message)
                                    .where(Message.direction == "in"))).scalar_one()
            turns = (await s.execute(select(Conversation.turns))).scalar_one()
            kinds = set((await s.execute(select(AnalyticsEvent.kind))).scalars())
        assert n_in == 3 and turns == 3
        assert {"flow_start", "step"} <= kinds
    finally:
        await second.close()


async def test_a_redelivered_message_is_processed_once(settings: Settings, database_url: str,
                                                       interpreter: EmbeddedInterpreter) -> None:
    services = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    who = ResidentKey("telegram", "42")
    try:
        a = await services.pipeline.handle(Incoming(who, payload="flow:vneid_install", message_id="1001"))
        b = await services.pipeline.handle(Incoming(who, payload="flow:vneid_install", message_id="1001"))
        assert a.replies and not a.duplicate
        assert b.duplicate and b.replies == ()
        async with services.store.session() as s:
            assert (await s.execute(select(func.count()).select_from(Message)
                                    .where(Message.direction == "in"))).scalar_one() == 1
    finally:
        await services.close()


async def test_forget_me_deletes_every_row(settings: Settings, database_url: str,
                                           interpreter: EmbeddedInterpreter) -> None:
    services = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    who = ResidentKey("web", "forget-1")
    try:
        await services.pipeline.handle(Incoming(who, payload="flow:vneid_install"))
        await services.pipeline.handle(Incoming(who, payload="village:dai-cuong"))
        r = await services.pipeline.handle(Incoming(who, payload="forget:yes"))
        assert r.replies
        assert await services.store.find(who) is None
        async with services.store.session() as s:
            for model in (Resident, Message, Conversation):
                assert (await s.execute(select(func.count()).select_from(model))).scalar_one() == 0
            rid_events = (await s.execute(select(func.count()).select_from(AnalyticsEvent)
                                          .where(AnalyticsEvent.resident_id.is_not(None)))).scalar_one()
        assert rid_events == 0
    finally:
        await services.close()


async def test_the_same_resident_on_two_channels_is_two_residents(settings: Settings, database_url: str,
                                                                   interpreter: EmbeddedInterpreter) -> None:
    services = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    try:
        await services.pipeline.handle(Incoming(ResidentKey("web", "7"), payload="menu"))
        await services.pipeline.handle(Incoming(ResidentKey("telegram", "7"), payload="menu", language="en"))
        web = await services.store.find(ResidentKey("web", "7"))
        tg = await services.store.find(ResidentKey("telegram", "7"))
        assert web and tg and web.id != tg.id
        assert (web.language, tg.language) == (None, "en")
    finally:
        await services.close()


async def _statements(services: Services) -> list[str]:
    """What the database is asked from now on, each statement's first words: SQLite's own trace (one line per
    row of a batch); on PostgreSQL asyncpg's query log (statements that skip SQLAlchemy, bot/storage/prepared.py,
    and BEGIN and COMMIT) and SQLAlchemy's (the rest)."""
    seen: list[str] = []

    def record(statement: str) -> None:
        seen.append(" ".join(statement.split()[:3]).upper().rstrip(";"))

    engine = services.engine.sync_engine
    if engine.dialect.name == "sqlite":
        def traced(dbapi_conn: Any, _record: object) -> None:
            dbapi_conn.driver_connection._conn.set_trace_callback(record)
    else:
        def traced(dbapi_conn: Any, _record: object) -> None:
            dbapi_conn.driver_connection.add_query_logger(lambda query: record(query.query))

        event.listen(engine, "before_cursor_execute", lambda _c, _k, statement, *_: record(statement))
    event.listen(engine, "connect", traced)
    await services.store.close()  # the connection kept for SQLite's turns, then the pool's: the next ones are traced
    engine.pool.dispose()
    return seen


async def test_a_turn_writes_what_changed_in_a_few_statements(settings: Settings, database_url: str,
                                                              interpreter: EmbeddedInterpreter) -> None:
    """A turn reads the resident and conversation in one statement and writes back only what changed: a button
    press on a known resident does not rewrite their row; choosing a language does, and it is kept."""
    services = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    who = ResidentKey("web", "statements-1")
    try:
        await services.pipeline.handle(Incoming(who, payload="flow:vneid_install", message_id="s1"))
        seen = await _statements(services)
        await services.pipeline.handle(Incoming(who, payload="done", message_id="s2"))
        assert not any(s.startswith("UPDATE RESIDENTS") for s in seen)
        assert len([s for s in seen if s.startswith("SELECT")]) == (2 if "postgresql" in database_url else 1)
        assert sum(s.startswith("UPDATE CONVERSATIONS") for s in seen) == 1
        # Besides the log's and events' rows: BEGIN (IMMEDIATE), the resident's lock (PostgreSQL), the read, the
        # update and COMMIT.
        assert len([s for s in seen if not s.startswith("INSERT")]) <= 5, seen
        seen.clear()
        r = await services.pipeline.handle(Incoming(who, payload="resume", language="en", message_id="s3"))
        assert r.state.language == "en"
        assert sum(s.startswith("UPDATE RESIDENTS") for s in seen) == 1
        found = await services.store.find(who)
        assert found is not None and found.language == "en"
        async with services.store.session() as s:
            assert (await s.execute(select(Conversation.turns))).scalar_one() == 3
    finally:
        await services.close()
