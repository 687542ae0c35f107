"""Announcements from commune staff to subscribed residents: composing, a durable delivery queue, reports.

`start(services, channels)` is called by the server once the channels are up: it adds the
/announce staff command to the Telegram channel and runs a delivery worker in the server
process. More workers may run beside it (`python -m bot broadcast work`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


class Running:
    """The in-server worker; stop() lets in-flight sends finish and records them."""

    def __init__(self, task: asyncio.Task[None] | None, stop_event: asyncio.Event) -> None:
        self._task = task
        self._stop = stop_event

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


async def start(services: Services, channels: list[Any]) -> Running:
    """Install the Telegram composer and start a worker on the channels that can push messages."""
    from bot.broadcast.config import broadcast_settings
    from bot.broadcast.telegram import TelegramComposer
    from bot.broadcast.worker import Worker

    senders = {}
    for channel in channels:
        sender = getattr(channel, "sender", None)
        if sender is not None and getattr(sender, "channel", None):
            senders[sender.channel] = sender  # any channel that can push (Telegram, Zalo)
        if sender is not None and getattr(sender, "channel", None) == "telegram":
            TelegramComposer(channel, services.store, services.catalogs, services.commune).install()
    stop = asyncio.Event()
    if not senders:
        return Running(None, stop)
    worker = Worker(services.store, services.catalogs, broadcast_settings(services.settings), senders)
    task = asyncio.create_task(worker.run(stop))
    log.info("broadcast worker %s started", worker.name)
    return Running(task, stop)
