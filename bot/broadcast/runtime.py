"""Building a broadcast worker outside the server: the store, catalogs, roles and platform senders."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from kernel.ports import Sender
from kernel.commune import CommuneSource
from kernel.settings import Settings
from bot.storage.db import make_engine, migrate
from kernel.i18n import Catalogs
from bot.storage.store import Store
from bot.broadcast.config import BroadcastSettings, Roles, broadcast_settings, roles

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
        senders["telegram"] = await telegram_sender(tg.token, tg.api_url, rt.store, rt.broadcast.max_in_flight,
                                                    rt.stack)
    if not senders:
        log.warning("no platform credentials in the environment (TELEGRAM_BOT_TOKEN): nothing can be sent")
    return senders


async def telegram_sender(token: str, api_url: str, store: Store, in_flight: int, stack: AsyncExitStack) -> Sender:
    """The Telegram channel's sender on a Bot of its own, without an in-process rate limiter."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.storage.residents import Residents
    from integrations.telegram.sender import TelegramSender

    bot = Bot(token, base_url=api_url, request=HTTPXRequest(connection_pool_size=in_flight + 4, pool_timeout=30.0))
    await bot.initialize()
    stack.push_async_callback(bot.shutdown)
    # One try per claim: a network error goes back to the queue, which retries with backoff.
    return TelegramSender(bot, Residents(store), network_attempts=1)
