"""Building a broadcast worker outside the server: the store, catalogs, roles and platform senders."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from bot.channels import Sender
from bot.commune import CommuneSource
from bot.config import Settings
from bot.db import make_engine, migrate
from bot.i18n import Catalogs
from bot.store import Store
from integrations.broadcast.config import BroadcastSettings, Roles, broadcast_settings, roles

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    broadcast: BroadcastSettings
    store: Store
    catalogs: Catalogs
    commune: CommuneSource
    stack: AsyncExitStack

    def roles(self) -> Roles:
        return roles(self.commune.current())

    def villages(self) -> set[str]:
        return {v.code for v in self.commune.current().villages}

    async def close(self) -> None:
        await self.stack.aclose()
        await self.store.engine.dispose()


async def open_runtime(settings: Settings) -> Runtime:
    """Everything the broadcast commands need, without the NLU model."""
    engine = make_engine(settings.database_url)
    await migrate(engine)
    return Runtime(settings, broadcast_settings(settings), Store(engine),
                   Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   CommuneSource(settings.commune_dir), AsyncExitStack())


async def platform_senders(rt: Runtime) -> dict[str, Sender]:
    """A sender per platform whose credentials are in the environment.

    The worker's own Bot has no in-process rate limiter: the shared database bucket paces
    every worker, and a 429 is handed back to the queue (DeliveryError.retry_after).
    """
    senders: dict[str, Sender] = {}
    tg = rt.settings.telegram
    if tg.token:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        from bot.channels.telegram_sender import TelegramSender

        pool = rt.broadcast.max_in_flight + 4
        bot = Bot(tg.token, base_url=tg.api_url, request=HTTPXRequest(connection_pool_size=pool, pool_timeout=30.0))
        await bot.initialize()
        rt.stack.push_async_callback(bot.shutdown)
        senders["telegram"] = TelegramSender(bot, rt.store, network_attempts=1)
    if not senders:
        log.warning("no platform credentials in the environment (TELEGRAM_BOT_TOKEN): nothing can be sent")
    return senders
