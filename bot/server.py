"""Running the assistant: the web chat (always on) and every channel enabled in the configuration."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.app import Services, configured_channels
from bot.history import ChatHistory
from bot.storage.residents import Residents
from integrations.web.chat import WebLimits, make_web_app

log = logging.getLogger(__name__)


async def serve(services: Services, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or SIGINT/SIGTERM)."""
    settings = services.settings
    app = make_web_app(services.pipeline, services.store, Residents(services.store), WebLimits.of(settings.web),
                       services.senders, ChatHistory(services.pipeline), services.catalogs)
    from bot.staff.dashboard import attach_dashboard
    from bot.staff.desk import attach_desk

    attach_desk(app, services)  # the team desk under /staff/ is always there, like the web chat
    attach_dashboard(app, services)  # the commune's figures under /staff/api/ (roles staff and admin)
    channels = configured_channels(services)
    for channel in channels:
        await channel.start(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port)
    await site.start()
    from bot.handoff import start as start_handoff

    await start_handoff(services, channels)  # delivery starts once the channels are up
    from bot.broadcast import start as start_broadcasts

    broadcasts = await start_broadcasts(services, channels)
    print(f"Trợ lý số is running. Web chat: http://{settings.web.host}:{settings.web.port}/", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await stop.wait()
    finally:
        if services.outbox is not None:
            await services.outbox.stop()  # no delivery while the channels shut down
        await broadcasts.stop()
        for channel in reversed(channels):
            await channel.stop()
        await runner.cleanup()
