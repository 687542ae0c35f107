"""Running the assistant: the web chat (always on) and every channel enabled in the configuration.

Start-up order (nothing a resident or a staff member sends may arrive before its handler): the
features are built with the services (bot/app.py), the channels are built and connected, their
senders and staff desks registered (each desk then serves the features' router), the features'
workers started, and only then do the channels start receiving and the web server listens. Shutdown
runs the other way: workers stop first, so nothing is delivered while the channels close.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from aiohttp import web

from bot.app import Services, configured_channels
from bot.history import ChatHistory
from bot.metrics import attach_metrics
from bot.storage.residents import Residents
from integrations.web.chat import WebLimits, make_web_app

log = logging.getLogger(__name__)


def settle() -> None:
    """What start-up built lives as long as the process (modules, the model, guides, catalogs): set it aside
    from the garbage collector, whose full collections otherwise went over all of it now and then (about
    100,000 objects: some 50 ms with the event loop stopped, in the middle of the turns waiting on it)."""
    gc.collect()
    gc.freeze()


async def serve(services: Services, stop: asyncio.Event | None = None, reuse_port: bool = False) -> None:
    """Serve until `stop` is set (or SIGINT/SIGTERM); `reuse_port` lets the processes of `run --workers N`
    listen on the same port (SO_REUSEPORT: the kernel spreads the connections among them)."""
    settings = services.settings
    app = make_web_app(services.turns, services.store, Residents(services.store), WebLimits.of(settings.web),
                       services.mailboxes, ChatHistory(services.pipeline), services.catalogs)
    from bot.staff.dashboard import attach_dashboard
    from bot.staff.desk import attach_desk

    attach_desk(app, services)  # the team desk under /staff/ is always there, like the web chat
    if services.escalation.files is not None:  # residents' photos and voice notes for their case
        from bot.handoff.uploads import ResidentFiles
        from integrations.web.upload import add_upload_route

        add_upload_route(app, ResidentFiles(services.escalation, services.escalation.files))
    attach_dashboard(app, services)  # the commune's figures under /staff/api/ (roles staff and admin)
    channels = configured_channels(services)
    attach_metrics(app, services.metrics, services.store, channels)  # GET /metrics
    for channel in channels:
        await channel.open()  # connected, not receiving yet
    services.attach(channels)  # senders and staff desks: every staff handler in place
    await services.start_workers()  # outbox and broadcasts deliver through them
    runner = web.AppRunner(app, access_log=None)
    try:
        for channel in channels:
            await channel.start(app)  # now receiving (polling, or webhook routes served below)
        await runner.setup()
        settle()
        site = web.TCPSite(runner, settings.web.host, settings.web.port, reuse_port=reuse_port or None)
        await site.start()
        who = f" (process {os.getpid()})" if reuse_port else ""
        print(f"Trợ lý số is running{who}. Web chat: http://{settings.web.host}:{settings.web.port}/", flush=True)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await stop.wait()
    finally:
        await services.stop_workers()  # no delivery while the channels shut down
        for channel in reversed(channels):
            await channel.stop()
        await runner.cleanup()
