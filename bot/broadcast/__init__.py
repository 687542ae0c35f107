"""Announcements from commune staff to subscribed residents: composing, a durable delivery queue, reports.

`feature(...)` declares what broadcasts plug in (kernel.feature.Feature): `/announce` (and
`/thongbao`) with its send/approve/drop buttons at every staff desk (desk.py), a delivery worker in
the server process on every channel that can push, reporting back to the desk the announcement came
from, a notice to the staff chats of each announcement that waits for approval (approvals.py), and the
`python -m bot broadcast ...` commands (cli.py). More workers may run beside the server's (`python -m bot
broadcast work`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from bot.broadcast.approvals import ApprovalNotices
from bot.broadcast.cli import commands
from bot.broadcast.config import BroadcastSettings
from bot.broadcast.desk import PREFIX, Composer
from bot.broadcast.worker import Worker
from bot.desks import DeskRegistry
from bot.senders import SenderRegistry
from bot.storage.store import Store
from kernel.commune import CommuneSource
from kernel.feature import Feature
from kernel.i18n import Catalogs
from kernel.ports import Sender, StaffDesk

log = logging.getLogger(__name__)


class ServerWorker:
    """The server's delivery worker (kernel.feature.Worker): started once the channels' senders and desks
    are registered; stop() lets in-flight sends finish and records them."""

    def __init__(self, store: Store, catalogs: Catalogs, settings: BroadcastSettings, senders: SenderRegistry,
                 desks: DeskRegistry) -> None:
        self.store = store
        self.catalogs = catalogs
        self.settings = settings
        self.senders = senders
        self.desks = desks
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        senders: dict[str, Sender] = {}
        for channel in self.senders.channels():
            sender = self.senders.get(channel)
            if sender is not None:
                senders[channel] = sender  # any channel that can push (Telegram, Zalo)
        if not senders or self._task is not None:
            return
        desks: dict[str, StaffDesk] = {}
        for name in self.desks.names():
            desk = self.desks.get(name)
            if desk is not None:
                desks[name] = desk
        worker = Worker(self.store, self.catalogs, self.settings, senders, desks=desks)
        self._stop.clear()
        self._task = asyncio.create_task(worker.run(self._stop), name="broadcast-worker")
        log.info("broadcast worker %s started", worker.name)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None


def feature(store: Store, catalogs: Catalogs, commune: CommuneSource, settings: BroadcastSettings,
            senders: SenderRegistry, desks: DeskRegistry, staff_places: Mapping[str, Sequence[str]] | None = None
            ) -> Feature:
    """Everything broadcasts plug into the assistant; `staff_places` (desk name -> places, e.g. the Telegram staff
    chats) are told when an announcement waits for approval."""
    composer = Composer(store, catalogs, commune)
    return Feature(
        name="broadcast",
        staff_commands={"announce": composer.compose, "thongbao": composer.compose},
        staff_buttons={PREFIX: composer.pressed},
        workers=(ServerWorker(store, catalogs, settings, senders, desks),
                 ApprovalNotices(store, catalogs, commune, desks, staff_places or {}, settings.check_seconds)),
        cli=commands,
    )


__all__ = ["feature", "ServerWorker"]
