"""The hand-off end to end: a web chat resident, a team working in Telegram through real python-telegram-bot
against the fake Bot API on loopback, the outbox worker delivering both ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Services, telegram_channel
from bot.handoff.models import Case, Outbox
from bot.storage.db import AnalyticsEvent
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.commune import (
    COMMUNE_CHAT,
    COMMUNE_MEMBER,
    MEMBER,
    OTHER_MEMBER,
    STRANGER,
    TEAM_CHAT,
    write_commune,
)
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.web_client import WebChat

pytestmark = pytest.mark.slow  # end to end: real processes, servers or platform pace


@dataclass
class World:
    services: Services
    fake: FakeTelegram
    web: TestClient

    residents: WebChat = field(init=False)

    def __post_init__(self) -> None:
        self.residents = WebChat(self.web)

    async def chat(self, user: str, **body: str) -> dict[str, Any]:
        return await self.residents.chat(user, **body)

    async def poll(self, user: str) -> list[dict[str, Any]]:
        status, body = await self.residents.poll(user)
        assert status == 200
        return body["replies"]

    async def answers(self, user: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Poll like the chat page until `count` messages arrived."""
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                got += await self.poll(user)
                await asyncio.sleep(0.05)
        return got

    async def delivered(self) -> None:
        """Until the worker has recorded every team message as delivered (with its Telegram id)."""
        async def none_pending() -> bool:
            async with self.services.store.session() as s:
                return (await s.execute(select(Outbox.id).where(Outbox.audience == "team",
                                                                Outbox.status == "pending"))).first() is None
        await eventually(none_pending)

    async def callback_answer(self, press: Callable[[], int]) -> dict[str, Any]:
        before = len(self.fake.callback_answers)
        press()
        await self.fake.wait_until(lambda: len(self.fake.callback_answers) > before)
        return list(self.fake.callback_answers.values())[-1]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def world(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, tmp_path: Path,
                fake_telegram: FakeTelegram) -> AsyncIterator[World]:
    fake = fake_telegram
    fake.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=True)
    fake.add_group(COMMUNE_CHAT, "Tổ CNS xã Ứng Hòa")
    commune = write_commune(tmp_path / "c")
    services = await build_services(replace(settings, database_url=database_url, commune_dir=commune),
                                    interpreter=interpreter)
    channel = telegram_channel(services, replace(TELEGRAM, token=fake.token, api_url=fake.base_url,
                                                poll_timeout=1))
    web_app = make_web_app(services.pipeline, services.store, Residents(services.store),
                           WebLimits(resident=FloodLimiter(100, 1)), services.mailboxes)
    services.outbox.poll_seconds = 0.2
    services.attach([channel])  # as the server does: the staff desk serves the features before polling
    await channel.start(web_app)
    await services.outbox.start()
    web = TestClient(TestServer(web_app))
    await web.start_server()
    try:
        yield World(services, fake, web)
    finally:
        await web.close()
        await services.outbox.stop()
        await channel.stop()
        await services.close()


async def test_web_resident_and_team_in_a_forum_group_end_to_end(world: World) -> None:
    fake, user = world.fake, "lan-web"
    await world.chat(user, text="Xin chào")
    asked = await world.chat(user, payload="human")
    assert any(b["payload"] == "village:dai-cuong" for r in asked["replies"] for b in r["buttons"])
    opened = await world.chat(user, payload="village:dai-cuong")
    async with world.services.store.session() as s:
        case_id = (await s.execute(select(Case.id))).scalar_one()
    assert f"{case_id}" in opened["replies"][-1]["text"]

    # The card arrives in a new forum topic of the village team's group, with the buttons.
    (card,) = await fake.wait_for(TEAM_CHAT, 1)
    assert card.thread_id is not None and fake.topics[(TEAM_CHAT, card.thread_id)].name == f"Yêu cầu {case_id}"
    assert "Đại Cường" in card.text and card.data == [f"esc:claim:{case_id}", f"esc:resolve:{case_id}",
                                                      f"esc:back:{case_id}"]
    topic = card.thread_id

    # Someone who is not a member can neither claim nor answer; nothing reaches the resident.
    answer = await world.callback_answer(lambda: fake.press_button(TEAM_CHAT, f"esc:claim:{case_id}",
                                                                   from_user=STRANGER))
    assert answer.get("show_alert") in (True, "true") and "thành viên" in answer["text"]
    fake.inject_message(TEAM_CHAT, "Để tôi giúp cho", from_user=STRANGER, thread_id=topic)
    refusal = await fake.wait_for(TEAM_CHAT, 2)
    assert "thành viên" in refusal[-1].text
    await fake.wait_idle(quiet=0.5)
    assert await world.poll(user) == []

    # A member claims and answers in the topic; the resident's page receives both.
    answer = await world.callback_answer(lambda: fake.press_button(TEAM_CHAT, f"esc:claim:{case_id}",
                                                                   from_user=MEMBER))
    assert "đã nhận" in answer["text"]
    fake.inject_message(TEAM_CHAT, "Chào bác, bác mở Cài đặt > Ứng dụng giúp cháu nhé", from_user=MEMBER,
                        thread_id=topic)
    got = await world.answers(user, 2)
    assert "đã nhận yêu cầu" in got[0]["text"]
    assert "bác mở Cài đặt > Ứng dụng" in got[1]["text"]

    # The resident answers back; it appears in the case's topic.
    reply = await world.chat(user, text="Cháu ơi bác mở được rồi, số bác 0987654321")
    assert str(case_id) in reply["replies"][0]["text"]
    await fake.wait_until(lambda: any("bác mở được rồi" in m.text for m in fake.sent_to(TEAM_CHAT)))
    relayed = next(m for m in fake.sent_to(TEAM_CHAT) if "bác mở được rồi" in m.text)
    assert relayed.thread_id == topic and "[phone]" in relayed.text and "0987654321" not in relayed.text

    # The member resolves; the resident is asked whether it was solved, and answers.
    answer = await world.callback_answer(lambda: fake.press_button(TEAM_CHAT, f"esc:resolve:{case_id}",
                                                                   from_user=MEMBER))
    assert "Đã đóng" in answer["text"]
    (question,) = await world.answers(user, 1)
    assert [b["payload"] for b in question["buttons"]] == [f"case:fb:{case_id}:yes", f"case:fb:{case_id}:no"]
    thanks = await world.chat(user, payload=f"case:fb:{case_id}:yes")
    assert "Cảm ơn" in thanks["replies"][0]["text"]
    async with world.services.store.session() as s:
        feedback = (await s.execute(select(AnalyticsEvent).where(AnalyticsEvent.kind == "handoff_feedback"))
                    ).scalar_one()
        case = await s.get(Case, case_id)
    assert feedback.data == {"case": case_id, "solved": True}
    assert case is not None and (case.status, case.assignee_id, case.solved) == ("resolved", MEMBER, True)
    # Every team-side message was sent once: card, refusal, claim notice, relay, resolve notice.
    await fake.wait_idle(quiet=0.5)
    texts = fake.texts(TEAM_CHAT)
    assert sum("bác mở được rồi" in t for t in texts) == 1 and sum(t.startswith("🆘") for t in texts) == 1
    # The case has ended: its topic is closed, after the resolve notice went into it.
    await fake.wait_until(lambda: fake.topics[(TEAM_CHAT, topic)].closed)
    assert texts[-1].startswith("✅") and len(fake.calls("closeForumTopic")) == 1


async def test_plain_group_fallback_team_answers_by_replying_to_the_card(world: World) -> None:
    fake, user = world.fake, "hung-web"
    await world.chat(user, payload="human")
    await world.chat(user, payload="village:dai-hung")  # no team of its own: the commune's team
    (card,) = await fake.wait_for(COMMUNE_CHAT, 1)
    assert card.thread_id is None and "Đại Hùng" in card.text
    assert fake.texts(TEAM_CHAT) == []
    await world.delivered()
    chat = fake.chats[COMMUNE_CHAT]
    fake.inject_update({"message": fake._message(COMMUNE_CHAT, COMMUNE_MEMBER, text="Bác chờ cháu chút nhé",
                                                 reply_to_message=fake._as_message(card, chat))})
    # Without polling, the resident's next message brings the waiting answers first.
    async def waiting() -> bool:
        async with world.services.store.session() as s:
            return len((await s.execute(select(Outbox.id).where(Outbox.audience == "resident",
                                                                             Outbox.case_id.is_not(None)))).all()) == 2
    await eventually(waiting)
    body = await world.chat(user, text="Vâng, bác chờ")
    texts = [r["text"] for r in body["replies"]]
    assert "đã nhận yêu cầu" in texts[0] and "Bác chờ cháu chút nhé" in texts[1] and len(texts) == 3
    assert await world.poll(user) == []  # each message reaches the page once
    # The resident's message is threaded under the card in the plain group.
    await fake.wait_until(lambda: any("bác chờ" in m.text for m in fake.sent_to(COMMUNE_CHAT)))
    relayed = next(m for m in fake.sent_to(COMMUNE_CHAT) if "bác chờ" in m.text)
    reply_to = relayed.params.get("reply_parameters") or "{}"
    assert (json.loads(reply_to) if isinstance(reply_to, str) else reply_to)["message_id"] == card.message_id
    # Staff commands in the group.
    fake.inject_message(COMMUNE_CHAT, "/cases", from_user=COMMUNE_MEMBER)
    await fake.wait_until(lambda: any(t.startswith("Yêu cầu đang mở") for t in fake.texts(COMMUNE_CHAT)))
    fake.inject_message(COMMUNE_CHAT, "/cases", from_user=STRANGER)
    await fake.wait_until(lambda: any("Chỉ thành viên" in t for t in fake.texts(COMMUNE_CHAT)))


async def test_a_telegram_resident_gets_the_answer_in_their_private_chat(world: World) -> None:
    fake, resident = world.fake, 4242
    fake.add_user(resident, "Bà Tư")
    fake.inject_message(resident, "tôi muốn gặp người hỗ trợ")
    await fake.wait_until(lambda: any(d.startswith("village:dai-cuong")
                                      for m in fake.sent_to(resident) for d in m.data))
    fake.press_button(resident, "village:dai-cuong")
    (card,) = await fake.wait_for(TEAM_CHAT, 1)
    assert "Kênh: telegram" in card.text
    await world.delivered()
    before = len(fake.sent_to(resident))
    fake.inject_message(TEAM_CHAT, "Bà ơi, cháu gọi lại cho bà nhé", from_user=OTHER_MEMBER, thread_id=card.thread_id)
    await fake.wait_until(lambda: any("cháu gọi lại cho bà" in m.text for m in fake.sent_to(resident)))
    new = [m.text for m in fake.sent_to(resident)[before:]]
    assert "đã nhận yêu cầu" in new[0] and sum("cháu gọi lại cho bà" in t for t in new) == 1
