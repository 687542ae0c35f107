"""Groups on Telegram: residents are served in private chats only; staff groups are the staff desk, routed to the
features' staff handlers (kernel.feature.StaffRouter)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from bot.app import Services, telegram_channel
from bot.storage.db import Resident
from integrations.telegram.channel import TelegramChannel
from kernel.feature import StaffAction, StaffRouter
from kernel.messages import Button, Reply, ResidentKey
from kernel.settings import replace
from tests.fakes.net import free_port
from tests.fakes.pacing import TELEGRAM
from tests.fakes.telegram_api import FakeTelegram

STAFF = -1001234
OTHER = -1009999
MEMBER = 3001


@pytest_asyncio.fixture
async def channel(services: Services, fake_telegram: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    settings = replace(TELEGRAM, token=fake_telegram.token, api_url=fake_telegram.base_url,
                       poll_timeout=1, staff_chat_ids=(STAFF,))
    fake_telegram.add_group(STAFF, "Tổ công nghệ số", forum=True)
    fake_telegram.add_group(OTHER, "Hội phụ huynh")
    fake_telegram.add_user(MEMBER, "Minh")
    ch = telegram_channel(services, settings)
    await ch.start(web.Application())
    yield ch
    await ch.stop()


async def test_staff_commands_buttons_and_messages_reach_the_registered_handlers(
        channel: TelegramChannel, fake_telegram: FakeTelegram) -> None:
    seen: list[StaffAction] = []

    async def claim(event: StaffAction) -> Sequence[Reply]:
        seen.append(event)
        return [Reply(f"{event.user_name} nhận ca {event.args[0]}")]

    async def case_button(event: StaffAction) -> Sequence[Reply]:
        seen.append(event)
        assert event.answer is not None  # a desk that can answer a press
        await event.answer("Đã nhận", False)
        return []

    async def topic_reply(event: StaffAction) -> Sequence[Reply] | None:
        seen.append(event)
        return [] if event.thread is not None else None  # only topic messages are "mine"

    channel.desk.serve(StaffRouter(commands={"claim": claim}, buttons={"case": case_button}, messages=(topic_reply,)))

    topic = await channel.bot.create_forum_topic(STAFF, "Ca #7")
    thread = topic.message_thread_id
    fake_telegram.inject_message(STAFF, f"/claim@{fake_telegram.bot_username} 7", from_user=MEMBER, thread_id=thread)
    msgs = await fake_telegram.wait_for(STAFF, 1)
    assert msgs[-1].text == "Minh nhận ca 7" and msgs[-1].thread_id == thread
    assert seen[0].desk == "telegram" and seen[0].place == str(STAFF) and seen[0].thread == str(thread)
    assert seen[0].user_id == str(MEMBER) and seen[0].args == ("7",)

    await channel.sender.send_to_chat(STAFF, [Reply("Ca mới", ((Button("Nhận ca", "case:claim:7"),),))],
                                      thread_id=thread)
    fake_telegram.press_button(STAFF, "Nhận ca", from_user=MEMBER)
    await fake_telegram.wait_until(lambda: len(fake_telegram.callback_answers) == 1)
    assert seen[1].text == "case:claim:7"
    assert list(fake_telegram.callback_answers.values())[0]["text"] == "Đã nhận"

    fake_telegram.inject_message(STAFF, "Chị ơi, bấm vào nút Quên mật khẩu nhé", from_user=MEMBER, thread_id=thread)
    await fake_telegram.wait_until(lambda: len(seen) == 3)
    assert seen[2].text.startswith("Chị ơi") and seen[2].thread == str(thread)


async def test_groups_that_are_not_staff_and_residents_in_groups_are_ignored(
        channel: TelegramChannel, fake_telegram: FakeTelegram, services: Services) -> None:
    called: list[StaffAction] = []

    async def claim(event: StaffAction) -> Sequence[Reply]:
        called.append(event)
        return [Reply("không được gọi")]

    channel.desk.serve(StaffRouter(commands={"claim": claim}))
    fake_telegram.inject_message(OTHER, "/claim 7", from_user=MEMBER)
    fake_telegram.inject_message(OTHER, "cài vneid thế nào", from_user=MEMBER)
    fake_telegram.inject_message(STAFF, "/start", from_user=MEMBER)  # not a staff command: ignored
    fake_telegram.add_user(1001)
    fake_telegram.inject_message(1001, "/help")  # a private chat is still served
    await fake_telegram.wait_for(1001, 1)
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
    await fake_telegram.wait_idle()
    assert called == [] and fake_telegram.sent_to(OTHER) == [] and fake_telegram.sent_to(STAFF) == []
    assert await services.store.find(ResidentKey("telegram", str(MEMBER))) is None


async def test_blocking_and_unblocking_the_bot_is_recorded(
        channel: TelegramChannel, fake_telegram: FakeTelegram, services: Services) -> None:
    fake_telegram.add_user(1001)
    fake_telegram.inject_message(1001, "/start")
    await fake_telegram.wait_for(1001, 1)
    bot_user = {"id": fake_telegram.bot_id, "is_bot": True, "first_name": "Trợ lý số"}

    def member_update(old: str, new: str) -> dict[str, object]:
        return {"my_chat_member": {
            "chat": {"id": 1001, "type": "private", "first_name": "User"},
            "from": {"id": 1001, "is_bot": False, "first_name": "User"}, "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": old, "until_date": 0},
            "new_chat_member": {"user": bot_user, "status": new, "until_date": 0}}}

    async def blocked() -> bool:
        async with services.store.session() as s:
            return bool((await s.execute(select(Resident.blocked).where(Resident.platform_id == "1001"))).scalar_one())

    # An update PTB cannot read (no until_date on a ban) is skipped; it does not stop the bot.
    bad = member_update("kicked", "kicked")
    del bad["my_chat_member"]["old_chat_member"]["until_date"]  # type: ignore[index]
    fake_telegram.inject_update(bad)
    fake_telegram.inject_update(member_update("member", "kicked"))
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)
    await fake_telegram.wait_idle()
    assert await blocked()
    fake_telegram.inject_update(member_update("kicked", "member"))
    fake_telegram.inject_message(1001, "/start")  # Telegram's "Restart" after unblocking
    await fake_telegram.wait_for(1001, 2)
    assert not await blocked()


async def test_an_update_whose_handling_fails_comes_again(channel: TelegramChannel,
                                                          fake_telegram: FakeTelegram) -> None:
    attempts: list[str] = []

    async def flaky(event: StaffAction) -> Sequence[Reply]:
        attempts.append(event.text)
        if len(attempts) == 1:
            raise RuntimeError("database unavailable")
        return [Reply(f"đã xử lý {event.text}")]

    channel.desk.serve(StaffRouter(commands={"report": flaky}))
    fake_telegram.inject_message(STAFF, "/report 1", from_user=MEMBER)
    fake_telegram.inject_message(STAFF, "/report 2", from_user=MEMBER)
    await fake_telegram.wait_for(STAFF, 2, timeout=20)
    assert attempts == ["1", "1", "2"]  # the failed update is handled again, in order, before the next
    assert fake_telegram.texts(STAFF) == ["đã xử lý 1", "đã xử lý 2"]


async def test_webhook_answers_500_when_handling_fails_so_telegram_sends_again(
        services: Services, fake_telegram: FakeTelegram) -> None:
    port = free_port()
    settings = replace(TELEGRAM, token=fake_telegram.token, api_url=fake_telegram.base_url,
                       mode="webhook", webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                       staff_chat_ids=(STAFF,))
    fake_telegram.add_group(STAFF, "Tổ công nghệ số")
    ch = telegram_channel(services, settings)
    attempts: list[str] = []

    async def flaky(event: StaffAction) -> Sequence[Reply]:
        attempts.append(event.text)
        if len(attempts) == 1:
            raise RuntimeError("database unavailable")
        return [Reply("xong")]

    ch.desk.serve(StaffRouter(commands={"report": flaky}))
    app = web.Application()
    await ch.start(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        uid = fake_telegram.inject_message(STAFF, "/report 1", from_user=MEMBER)
        await fake_telegram.wait_for(STAFF, 1)
    finally:
        await ch.stop()
        await runner.cleanup()
    assert [s for u, s in fake_telegram.webhook_deliveries if u == uid] == [500, 200]
    assert attempts == ["1", "1"] and fake_telegram.texts(STAFF) == ["xong"]
