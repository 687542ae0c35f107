"""The composition root: every service built once from the settings and passed in explicitly."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from kernel.commune import CommuneSource
from bot.senders import SenderRegistry
from kernel.ports import Channel, Sender
from kernel.settings import Settings, TelegramSettings, ZaloSettings
from bot.storage.db import make_engine, migrate
from kernel.i18n import Catalogs
from bot.pipeline import Limits, Pipeline
from bot.storage.residents import Residents
from bot.storage.store import Store
from dialogues.flows import Library, load_library
from nlu.types import Interpreter

if TYPE_CHECKING:
    from integrations.telegram.channel import TelegramChannel
    from integrations.zalo.channel import ZaloChannel, ZaloSender

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    store: Store
    catalogs: Catalogs
    library: Library
    commune: CommuneSource
    interpreter: Interpreter
    pipeline: Pipeline
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    # Push senders per channel and mailboxes of the web chat (hand-off answers, broadcasts).
    senders: SenderRegistry = field(default_factory=SenderRegistry)
    # The hand-off to village teams (bot/handoff) and its delivery worker.
    escalation: Any = None
    outbox: Any = None

    async def close(self) -> None:
        await self.stack.aclose()
        await self.engine.dispose()


async def build_interpreter(settings: Settings, commune: CommuneSource, stack: AsyncExitStack) -> Interpreter:
    from nlu.interpreter import EmbeddedInterpreter

    villages = commune.current().villages
    embedded = EmbeddedInterpreter.load(settings.nlu.model_path, settings.nlu.data_dir, villages)
    if settings.nlu.backend != "rasa":
        return embedded
    from nlu.rasa_backend import RasaInterpreter

    rasa = RasaInterpreter(settings.nlu.rasa_url, settings.nlu.rasa_timeout_seconds, fallback=embedded)
    await rasa.start()
    stack.push_async_callback(rasa.close)
    return rasa


async def build(settings: Settings, interpreter: Interpreter | None = None) -> Services:
    """Build and start every service the assistant needs (the database is migrated first)."""
    engine = make_engine(settings.database_url)
    await migrate(engine)
    store = Store(engine)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    library = load_library(settings.flows_dir)
    commune = CommuneSource(settings.commune_dir)
    stack = AsyncExitStack()
    if interpreter is None:
        interpreter = await build_interpreter(settings, commune, stack)
    limits = Limits(settings.nlu.threshold, settings.nlu.ambiguity_margin, settings.nlu.max_misunderstandings)
    pipeline = Pipeline(store, interpreter, library, catalogs, commune, limits)
    services = Services(settings, engine, store, catalogs, library, commune, interpreter, pipeline, stack)
    from bot.handoff import install

    services.escalation, services.outbox = install(services)
    return services


def telegram_channel(services: Services, settings: TelegramSettings | None = None) -> "TelegramChannel":
    """The Telegram channel on the core's ports (settings: services.settings.telegram unless given)."""
    from integrations.telegram.channel import TelegramChannel

    return TelegramChannel(settings or services.settings.telegram, services.pipeline, Residents(services.store),
                           services.catalogs, services.commune)


def zalo_sender(services: Services, settings: ZaloSettings | None = None) -> "ZaloSender":
    """A Zalo sender keeping its tokens and numbered choices in the database (shared between processes)."""
    from bot.storage.zalo import ZaloStore
    from integrations.zalo.channel import ZaloSender

    return ZaloSender(settings or services.settings.zalo, ZaloStore(services.store), Residents(services.store),
                      services.catalogs)


def zalo_channel(services: Services, settings: ZaloSettings | None = None) -> "ZaloChannel":
    """The Zalo channel on the core's ports, with a sender of its own."""
    from integrations.zalo.channel import ZaloChannel

    settings = settings or services.settings.zalo
    return ZaloChannel(settings, services.pipeline, Residents(services.store), zalo_sender(services, settings))


def configured_channels(services: Services) -> list[Channel]:
    """The channels enabled by the settings (credentials present in the environment)."""
    channels: list[Channel] = []
    if services.settings.telegram.token:
        channels.append(telegram_channel(services))
    if services.settings.zalo.enabled:
        channels.append(zalo_channel(services))
    return channels


def channel_senders(channels: list[Channel]) -> dict[str, Sender]:
    """The Sender of every channel that has one, by channel name (hand-off answers and broadcasts use them)."""
    senders: dict[str, Sender] = {}
    for channel in channels:
        sender = getattr(channel, "sender", None)
        if sender is not None:
            senders[sender.channel] = sender
    return senders
