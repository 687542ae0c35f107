"""SQLite's WAL is checkpointed on a thread, not inside a commit, and stays bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from kernel.messages import ResidentKey


def _wal_frames(path: Path) -> int:
    """Frames in the WAL now (a passive checkpoint from outside reports them)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        conn.close()


async def test_commits_leave_the_checkpoint_to_a_thread_and_the_wal_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    store = Store(engine)
    assert store.checkpoints is not None
    store.checkpoints.every, store.checkpoints.restart_pages = 0.0, 50
    try:
        async with engine.connect() as conn:  # the serving connections never checkpoint inside a commit
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
        peak = 0
        for i in range(60):  # each turn's rows are a few pages: the WAL passes 50 pages many times over
            async with store.turn() as tx:
                await store.open_turn(tx, ResidentKey("web", f"r{i}"))
                await tx.conn.execute(text("UPDATE conversations SET state = :s"), {"s": "x" * 3000})
            await store.checkpoints.wait()
            peak = max(peak, _wal_frames(path))
        # Copied and started over as it grew: bounded, not 60 turns' worth.
        assert 50 <= peak < 200
        async with store.session() as s:
            assert (await s.execute(text("SELECT count(*) FROM residents"))).scalar() == 60
    finally:
        await store.close()
        await engine.dispose()


async def test_no_checkpoints_for_a_database_in_memory() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert Store(engine).checkpoints is None
    finally:
        await engine.dispose()
