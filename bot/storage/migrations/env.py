"""Alembic environment: runs on the connection handed in by bot.storage.db.migrate, or, for the `alembic`
command, on sqlalchemy.url (else the configured DATABASE_URL) through the same async engine the assistant uses."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.db import Base, make_engine

target_metadata = Base.metadata
config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from kernel.settings import load_settings

        url = load_settings().database_url
    asyncio.run(_run_on_url(url))
