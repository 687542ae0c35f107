"""The composition root: every service built once from the settings and passed in explicitly."""

from __future__ import annotations

import argparse
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import broadcast, handoff, staff
from bot.broadcast.cli import commands as broadcast_commands
from bot.desks import DeskRegistry
from bot.handoff import Escalation, OutboxWorker
from bot.metrics import Metrics
from bot.pipeline import Limits, Pipeline
from bot.replies import ReplyOutbox
from bot.senders import MailboxSet, SenderRegistry
from bot.staff.cli import add_commands as staff_commands
from bot.storage.db import make_engine, migrate
from bot.storage.residents import Residents
from bot.storage.store import Store
from dialogues.flows import Library, load_library
from kernel.commune import CommuneSource
from kernel.feature import CliAdder, CliRunner, Feature, StaffRouter
from kernel.i18n import Catalogs
from kernel.ports import Channel, Leadership, Sender, Turns
from kernel.settings import Settings, TelegramSettings, ZaloSettings
from nlu.types import Interpreter

if TYPE_CHECKING:
    from integrations.telegram.channel import TelegramChannel
    from integrations.zalo.channel import ZaloChannel, ZaloSender

log = logging.getLogger(__name__)

# The features' subcommands of `python -m bot`. The command line is read before anything is built, so
# these are the features' own functions; each built Feature's `cli` is one of them (a test checks it).
FEATURE_COMMANDS: tuple[CliAdder, ...] = (broadcast_commands, staff_commands)


@dataclass
class Services:
    """Everything the assistant runs on, built once by `build`."""

    settings: Settings
    engine: AsyncEngine
    store: Store
    catalogs: Catalogs
    library: Library
    commune: CommuneSource
    interpreter: Interpreter
    pipeline: Pipeline
    features: tuple[Feature, ...]
    # Push senders of the channels and their staff desks, registered by the server before any channel
    # receives; the features' mailboxes for the web chat (hand-off answers).
    senders: SenderRegistry
    desks: DeskRegistry
    mailboxes: MailboxSet
    # The hand-off's service and outbox (for the commands and tests that act on cases directly).
    escalation: Escalation
    outbox: OutboxWorker
    replies: ReplyOutbox
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def turns(self) -> Turns:
        """The pipeline as the channels use it: every turn counted and timed (/metrics)."""
        return self.metrics.wrap_turns(self.pipeline)

    def attach(self, channels: list[Channel]) -> None:
        """Register the channels' senders and staff desks (each desk then serves the features' router).
        Call before any channel starts receiving: a staff action arriving first would find no handler."""
        for channel in channels:
            sender: Sender | None = getattr(channel, "sender", None)
            if sender is not None:
                self.senders.register(sender)
            desk = getattr(channel, "desk", None)
            if desk is not None:
                self.desks.register(desk)

    async def start_workers(self) -> None:
        """Start every feature's worker (after attach: they deliver through the senders and desks)."""
        for feature in self.features:
            for worker in feature.workers:
                await worker.start()

    async def stop_workers(self) -> None:
        await self.replies.stop()  # replies being sent get a moment; the rest wait for the next start
        for feature in reversed(self.features):
            for worker in reversed(feature.workers):
                await worker.stop()

    async def close(self) -> None:
        await self.stop_workers()
        await self.stack.aclose()
        await self.store.close()
        await self.engine.dispose()


def command_line(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, CliRunner]:
    """The features' subcommands, added to `python -m bot`'s parsers; their runners by name."""
    runners: dict[str, CliRunner] = {}
    for add in FEATURE_COMMANDS:
        runners.update(add(sub))
    return runners


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


async def build(settings: Settings, interpreter: Interpreter | None = None,
                library: Library | None = None) -> Services:
    """Build every service the assistant needs (the database is migrated first) and its features, once.
    `interpreter` and `library` (the guides of settings.flows_dir) may be given already loaded (tests)."""
    engine = make_engine(settings.database_url)
    await migrate(engine)
    store = Store(engine)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    library = library if library is not None else load_library(settings.flows_dir)
    commune = CommuneSource(settings.commune_dir)
    stack = AsyncExitStack()
    if interpreter is None:
        interpreter = await build_interpreter(settings, commune, stack)
    senders, desks = SenderRegistry(), DeskRegistry()
    escalation, outbox = handoff.build(store, catalogs, commune, library, senders, desks, settings.escalation)
    features = (handoff.feature(escalation, outbox),
                broadcast.feature(store, catalogs, commune, settings.broadcast, senders, desks,
                                  {"telegram": [str(c) for c in settings.telegram.staff_chat_ids]}),
                staff.feature(store, commune))
    desks.route_to(StaffRouter.of(features))  # two features claiming one command or button: start-up error
    metrics = Metrics()
    interpreter = metrics.wrap_interpreter(interpreter)  # NLU confidence of every parse
    limits = Limits(settings.nlu.threshold, settings.nlu.ambiguity_margin, settings.nlu.max_misunderstandings)
    # The turns' replies: sent right after each turn's commit; the hand-off outbox worker retries what fails.
    replies = ReplyOutbox(store, senders, lease=timedelta(seconds=settings.escalation.lease_seconds))
    replies.kick, outbox.replies = outbox.kick, replies
    pipeline = Pipeline(store, interpreter, library, catalogs, commune, limits, features, replies)
    mailboxes = MailboxSet([mailbox for feature in features for mailbox in feature.mailboxes])
    return Services(settings, engine, store, catalogs, library, commune, interpreter, pipeline, features,
                    senders, desks, mailboxes, escalation, outbox, replies, stack, metrics)


def telegram_channel(services: Services, settings: TelegramSettings | None = None) -> TelegramChannel:
    """The Telegram channel on the core's ports (settings: services.settings.telegram unless given)."""
    from integrations.telegram.channel import TelegramChannel

    settings = settings or services.settings.telegram
    return TelegramChannel(settings, services.turns, Residents(services.store), services.catalogs, services.commune,
                           health=services.store, leader=poll_leader(services, settings))


def poll_leader(services: Services, settings: TelegramSettings) -> Leadership | None:
    """On PostgreSQL, processes sharing the database poll the bot's updates one at a time (a session advisory
    lock per bot); SQLite serves one process, which always polls."""
    if services.engine.dialect.name != "postgresql" or settings.mode != "polling" or not settings.token:
        return None
    from bot.storage.leader import SessionLock

    bot_id = settings.token.partition(":")[0]  # the bot's public id, not the secret part
    return SessionLock(services.engine, f"telegram-poll:{bot_id}")


def zalo_sender(services: Services, settings: ZaloSettings | None = None) -> ZaloSender:
    """A Zalo sender keeping its tokens and numbered choices in the database (shared between processes)."""
    from bot.storage.zalo import ZaloStore, token_cipher
    from integrations.zalo.channel import ZaloSender

    settings = settings or services.settings.zalo
    if settings.mode == "oa":
        token_cipher(settings.token_key)  # a missing or bad key stops start-up at once
    return ZaloSender(settings, ZaloStore(services.store, settings.token_key), Residents(services.store),
                      services.catalogs)


def zalo_channel(services: Services, settings: ZaloSettings | None = None) -> ZaloChannel:
    """The Zalo channel on the core's ports, with a sender of its own."""
    from integrations.zalo.channel import ZaloChannel

    settings = settings or services.settings.zalo
    return ZaloChannel(settings, services.turns, Residents(services.store), zalo_sender(services, settings),
                       health=services.store)


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
