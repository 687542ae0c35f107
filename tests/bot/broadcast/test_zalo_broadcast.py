"""Announcements reach Zalo residents: `python -m bot run`'s own broadcast worker sends through the
ZaloSender to the fake Zalo, once each, in their language; unfollowing and the unsubscribe button stop them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp import ClientSession
from pytest_aiohttp import AiohttpServer

from bot.broadcast import queue
from integrations.zalo.format import PAYLOAD_MARK
from kernel.messages import ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.broadcast import ROLES, VILLAGES, add_residents
from tests.fakes.net import free_port
from tests.fakes.services import build_services
from tests.fakes.zalo import oa_settings
from tests.fakes.zalo_api import FakeZalo

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace

VI, EN = "Điểm dịch vụ công lưu động ở thôn Đại Cường sáng thứ Bảy", "Mobile public service point on Saturday"



async def until(check: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_a_broadcast_reaches_zalo_residents_once(settings: Settings, database_url: str,
                                                       interpreter: EmbeddedInterpreter,
                                                       aiohttp_server: AiohttpServer) -> None:
    from bot.server import serve

    fake = FakeZalo()
    zalo_server = await aiohttp_server(fake.app())
    fake.url = str(zalo_server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    port = free_port()
    services = await build_services(replace(settings, database_url=database_url, web=replace(settings.web, port=port),
                                   zalo=oa_settings(fake)), interpreter=interpreter)
    await add_residents(services.store, 6, channel="zalo")  # platform ids 1000..1005; 1000 and 1003 speak English
    fake.unreachable.add("1004")  # has not written to the OA for too long: Zalo refuses (-230)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(services, stop))
    webhook = f"http://127.0.0.1:{port}/zalo/webhook"
    try:
        async with ClientSession() as http:
            for _ in range(100):  # until the server listens
                try:
                    status, _ = await fake.deliver(http, webhook, fake.oa_event("unfollow", "1005"))
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            assert status == 200
            resident = await services.store.find(ResidentKey("zalo", "1005"))
            assert resident is not None and not resident.subscribed

            first = await queue.create(services.store, ROLES, "ubnd-xa", topic="t", text_vi=VI, text_en=EN,
                                       villages=[], known_villages=VILLAGES)
            await until(lambda: {s.user_id for s in fake.sent} >= {"1000", "1001", "1002", "1003"})
            counts = await queue.counts(services.store, first.id)
            for _ in range(200):
                if counts.sent + counts.failed >= 5:
                    break
                await asyncio.sleep(0.05)
                counts = await queue.counts(services.store, first.id)
            assert (counts.sent, counts.failed) == (4, 1)  # 1004 refused for good, 1005 unfollowed
            for user in ("1000", "1001", "1002", "1003"):
                [message] = fake.to(user)
                assert (EN if user in ("1000", "1003") else VI) in message.text
                assert PAYLOAD_MARK + "unsub" in [b["payload"] for b in message.buttons]
            assert fake.to("1004") == [] and fake.to("1005") == []

            # A resident presses the announcement's unsubscribe button on Zalo: the next one skips them.
            status, _ = await fake.deliver(http, webhook, fake.text_event("1001", PAYLOAD_MARK + "unsub"))
            assert status == 200
            await until(lambda: len(fake.to("1001")) == 2)
            resident = await services.store.find(ResidentKey("zalo", "1001"))
            assert resident is not None and not resident.subscribed
            second = await queue.create(services.store, ROLES, "ubnd-xa", topic="t", text_vi="Tin thứ hai",
                                        text_en=None, villages=[], known_villages=VILLAGES)
            await until(lambda: all(len(fake.to(u)) == 2 for u in ("1000", "1002", "1003")))
            await asyncio.sleep(0.5)  # a duplicate or a message to 1001 would have arrived by now
            assert len(fake.to("1001")) == 2 and all(len(fake.to(u)) == 2 for u in ("1000", "1002", "1003"))
            assert (await queue.counts(services.store, second.id)).sent == 3
    finally:
        stop.set()
        await server
        await services.close()
