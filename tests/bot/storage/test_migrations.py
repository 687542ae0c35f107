"""One Alembic history: a database made by the code before the restructure (three heads) migrates without loss."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.storage.db import MIGRATIONS, heads, make_engine, migrate

OLD_HEADS = ("0002_escalation", "0002_zalo", "0100_broadcast")  # main at 12bf5d9 upgraded to "heads"
HEAD = "0460_outbox_chat_status"
# Added after the merge revision, empty after the upgrade.
NEW_TABLES = {"staff_accounts", "staff_sessions", "unanswered_handled", "community_edits", "funnel_days",
              "funnel_months", "funnel_seen", "rollup_state", "writer_days"}
# Columns added to old tables after it (appended last), NULL in the old rows.
# channels (0425), approval_posted_at (0435); source, at (0430)
NEW_COLUMNS = {"broadcasts": 2, "escalation_outbox": 2}
T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)

# One row in every table the old schema had, foreign keys pointing at each other.
ROWS: list[tuple[str, dict[str, object]]] = [
    ("residents", {"id": 7, "channel": "telegram", "platform_id": "5551", "language": "en", "village": "Thôn 1",
                   "consent_at": T0, "subscribed": True, "blocked": False, "created_at": T0}),
    ("residents", {"id": 8, "channel": "zalo", "platform_id": "z-77", "language": None, "village": None,
                   "consent_at": None, "subscribed": False, "blocked": True, "created_at": T0}),
    ("conversations", {"resident_id": 7, "state": json.dumps({"flow": "vneid", "step": "s2"}), "turns": 3,
                       "updated_at": T0}),
    ("messages", {"id": 1, "resident_id": 7, "direction": "in", "text": "quên mật khẩu [đã ẩn]", "payload": None,
                  "intent": "vneid_password", "platform_message_id": "m1", "created_at": T0}),
    ("analytics_events", {"id": 1, "resident_id": 7, "kind": "flow_start", "flow": "vneid", "step": "s1",
                          "data": json.dumps({"source": "menu"}), "created_at": T0}),
    ("cases", {"id": 3, "resident_id": 7, "status": "open", "team": "thon1", "escalated_team": None,
               "village": "Thôn 1", "language": "en", "channel": "telegram", "reason": "asked", "flow": "vneid",
               "step": "s2", "tried": json.dumps(["s1"]), "history": json.dumps([]), "assignee_id": 4242,
               "assignee_name": "Lan", "opened_at": T0, "due_at": T0, "reminded_at": None,
               "escalated_at": None, "claimed_at": T0, "closed_at": None, "solved": None}),
    ("case_threads", {"id": 1, "case_id": 3, "team": "thon1", "chat_id": -1001234567890, "topic_id": 45,
                      "card_message_id": 900}),
    ("case_messages", {"id": 1, "case_id": 3, "direction": "out", "author": "Lan", "text": "Chào bạn",
                       "source_id": "tg:900", "created_at": T0}),
    ("escalation_outbox", {"id": 1, "case_id": 3, "audience": "resident", "team": None, "channel": "telegram",
                           "chat_id": "5551", "kind": "reply", "text": "Chào bạn", "buttons": json.dumps([]),
                           "status": "pending", "attempts": 0, "next_attempt_at": T0,
                           "platform_message_id": None, "error": None, "created_at": T0, "delivered_at": None}),
    ("zalo_tokens", {"account": "oa", "access_token": "a-tok", "refresh_token": "r-tok", "expires_at": T0,
                     "seed_digest": "d" * 64, "updated_at": T0}),
    ("zalo_choices", {"user_id": "z-77", "payloads": json.dumps(["menu:vneid"]), "updated_at": T0}),
    ("broadcasts", {"id": 5, "author": "staff:1", "report_channel": "telegram", "report_chat": "-100999",
                    "topic": "water", "text_vi": "Cắt nước", "text_en": "Water cut",
                    "villages": json.dumps(["Thôn 1"]), "buttons": json.dumps([]), "status": "sending",
                    "due_at": 1.5, "created_at": 1.0, "approved_by": "staff:2", "started_at": 2.0,
                    "finished_at": None, "reported_at": None, "recipients": 1}),
    ("broadcast_deliveries", {"id": 1, "broadcast_id": 5, "resident_id": 7, "channel": "telegram",
                              "status": "pending", "attempts": 1, "available_at": 3.0, "lease_until": None,
                              "worker": None, "in_doubt": False, "error": None, "sent_at": None}),
    ("broadcast_rate_buckets", {"name": "telegram", "next_at": 4.0, "paused_until": 0.0}),
]


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _build_old_database(connection: Connection) -> None:
    """What `migrate` did before the merge revision: every old head, then data written by the old code."""
    for head in OLD_HEADS:
        command.upgrade(_config(connection), head)
    meta = sa.MetaData()
    meta.reflect(connection)
    for table, row in ROWS:
        connection.execute(meta.tables[table].insert().values(**row))


def _snapshot(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
    meta = sa.MetaData()
    meta.reflect(connection)
    return {name: [tuple(r) for r in connection.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for name, t in sorted(meta.tables.items()) if name != "alembic_version"}


def _versions(connection: Connection) -> set[str]:
    return {r[0] for r in connection.execute(sa.text("SELECT version_num FROM alembic_version"))}


def test_the_history_has_one_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD]
    assert heads() == {HEAD}  # read without Alembic, to leave an up-to-date database alone


async def test_an_old_database_migrates_without_loss(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_build_old_database)
            assert await conn.run_sync(_versions) == set(OLD_HEADS)
            before = await conn.run_sync(_snapshot)
        assert sum(len(rows) for rows in before.values()) == len(ROWS)

        await migrate(engine)
        await migrate(engine)  # a second start-up finds nothing to do

        async with engine.connect() as conn:
            assert await conn.run_sync(_versions) == {HEAD}
            after = await conn.run_sync(_snapshot)
        added = {name: [row[:len(row) - NEW_COLUMNS.get(name, 0)] for row in rows]
                 for name, rows in after.items() if name not in NEW_TABLES}
        assert added == before
        assert all(row[len(row) - n:] == (None,) * n for name, n in NEW_COLUMNS.items() for row in after[name])
        assert all(after[name] == [] for name in NEW_TABLES)
    finally:
        await engine.dispose()


async def test_a_new_database_lands_on_the_one_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_versions) == {HEAD}
            tables = set((await conn.run_sync(_snapshot)).keys())
        assert tables == {table for table, _ in ROWS} | NEW_TABLES
    finally:
        await engine.dispose()
