"""The Zalo channel's fixtures: a fake Zalo on loopback, the assistant on both databases, a resident's side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest_asyncio
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from bot.app import Services, zalo_channel
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.services import build_services
from tests.fakes.zalo import Harness, oa_settings
from tests.fakes.zalo_api import FakeZalo


@pytest_asyncio.fixture
async def fake(aiohttp_server: AiohttpServer) -> FakeZalo:
    zalo = FakeZalo()
    server = await aiohttp_server(zalo.app())
    zalo.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return zalo


@pytest_asyncio.fixture
async def services(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter
                   ) -> AsyncIterator[Services]:
    built = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    yield built
    await built.close()


@pytest_asyncio.fixture
async def harness(services: Services, fake: FakeZalo, aiohttp_client: AiohttpClient) -> AsyncIterator[Harness]:
    app = web.Application()
    channel = zalo_channel(services, oa_settings(fake))
    await channel.start(app)
    client = await aiohttp_client(app)
    yield Harness(fake, channel, client)
    await channel.stop()
