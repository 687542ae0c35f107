"""A Zalo resident asks for a person: the case card reaches the village team's Telegram group (real
python-telegram-bot against the fake Bot API), the team's answer reaches the resident on Zalo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpServer
from sqlalchemy import select

from bot.app import Services, telegram_channel, zalo_channel
from bot.handoff.models import Case
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.commune import COMMUNE_CHAT, MEMBER, TEAM_CHAT, write_commune
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo import Harness, number_of, oa_settings
from tests.fakes.zalo_api import FakeZalo

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


@dataclass
class World:
    services: Services
    telegram: FakeTelegram
    zalo: Harness


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def world(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, tmp_path: Path,
                fake_telegram: FakeTelegram, aiohttp_server: AiohttpServer) -> AsyncIterator[World]:
    fake_telegram.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=True)
    fake_telegram.add_group(COMMUNE_CHAT, "Tổ CNS xã Ứng Hòa")
    fake_zalo = FakeZalo()
    zalo_server = await aiohttp_server(fake_zalo.app())
    fake_zalo.url = str(zalo_server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    commune = write_commune(tmp_path / "c")
    services = await build_services(replace(settings, database_url=database_url, commune_dir=commune),
                                    interpreter=interpreter)
    telegram = telegram_channel(services, replace(TELEGRAM, token=fake_telegram.token,
                                                 api_url=fake_telegram.base_url, poll_timeout=1))
    zalo = zalo_channel(services, oa_settings(fake_zalo))
    app: web.Application = make_web_app(services.pipeline, services.store, Residents(services.store),
                                            WebLimits(resident=FloodLimiter(100, 1)), services.mailboxes)
    services.outbox.poll_seconds = 0.2
    services.attach([telegram, zalo])  # as the server does: desks and senders before anything is received
    await telegram.start(app)
    await zalo.start(app)
    await services.outbox.start()
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield World(services, fake_telegram, Harness(fake_zalo, zalo, client, services.replies))
    finally:
        await client.close()
        await services.outbox.stop()
        await zalo.stop()
        await telegram.stop()
        await services.close()


async def test_a_zalo_resident_gets_the_teams_answer_on_zalo(world: World) -> None:
    tg, zalo, user = world.telegram, world.zalo, "8555000111"
    await zalo.say(user, "xin chào")
    await zalo.say(user, "tôi muốn gặp người hỗ trợ")
    villages = zalo.fake.to(user)[-1].text
    opened = await zalo.say(user, number_of(villages, "Đại Cường"))
    async with world.services.store.session() as s:
        case_id = (await s.execute(select(Case.id))).scalar_one()
    assert any(str(case_id) in t for t in opened)

    (card,) = await tg.wait_for(TEAM_CHAT, 1)
    assert "Kênh: zalo" in card.text and "Đại Cường" in card.text
    tg.press_button(TEAM_CHAT, f"esc:claim:{case_id}", from_user=MEMBER)
    tg.inject_message(TEAM_CHAT, "Chào bác, cháu sẽ gọi lại cho bác chiều nay", from_user=MEMBER,
                      thread_id=card.thread_id)
    await until(lambda: any("cháu sẽ gọi lại" in s.text for s in zalo.fake.to(user)))
    texts = [s.text for s in zalo.fake.to(user)]
    assert any("đã nhận yêu cầu" in t for t in texts)
    assert sum("cháu sẽ gọi lại cho bác chiều nay" in t for t in texts) == 1

    # The resident answers on Zalo; it reaches the case's topic, redacted.
    await zalo.say(user, "Vâng cháu, số bác là 0987654321")
    await tg.wait_until(lambda: any("Vâng cháu" in m.text for m in tg.sent_to(TEAM_CHAT)))
    relayed = next(m for m in tg.sent_to(TEAM_CHAT) if "Vâng cháu" in m.text)
    assert relayed.thread_id == card.thread_id and "0987654321" not in relayed.text


async def test_the_teams_answer_waits_out_an_expired_zalo_token(world: World) -> None:
    tg, zalo, user = world.telegram, world.zalo, "8555000222"
    await zalo.say(user, "tôi muốn gặp người hỗ trợ")
    await zalo.say(user, number_of(zalo.fake.to(user)[-1].text, "Đại Cường"))
    (card,) = await tg.wait_for(TEAM_CHAT, 1)
    async with world.services.store.session() as s:
        case_id = (await s.execute(select(Case.id))).scalar_one()
    tg.press_button(TEAM_CHAT, f"esc:claim:{case_id}", from_user=MEMBER)
    await until(lambda: any("đã nhận yêu cầu" in s.text for s in zalo.fake.to(user)))
    zalo.fake.expire_access_tokens()
    tg.inject_message(TEAM_CHAT, "Bác chờ cháu một chút nhé", from_user=MEMBER, thread_id=card.thread_id)
    await until(lambda: any("Bác chờ cháu" in s.text for s in zalo.fake.to(user)))
    await asyncio.sleep(0.5)  # anything sent twice would have arrived by now
    assert sum("Bác chờ cháu một chút nhé" in s.text for s in zalo.fake.to(user)) == 1
    assert zalo.fake.oauth_calls == 1
