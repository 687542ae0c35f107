"""The fake Bot API answers python-telegram-bot the way Telegram does (so tests against it mean something)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from tests.fakes.telegram_api import FakeTelegram


def bot_for(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url)


async def test_get_me_and_send_message(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001, "Lan")
    async with bot_for(fake_telegram) as bot:
        assert bot.username == fake_telegram.bot_username
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Xong rồi", callback_data="done")]])
        msg = await bot.send_message(1001, "Bước 1/4: mở CH Play", reply_markup=markup)
        assert msg.message_id == 1 and msg.text == "Bước 1/4: mở CH Play"
        assert msg.reply_markup is not None and msg.reply_markup.inline_keyboard[0][0].callback_data == "done"
    sent = fake_telegram.sent_to(1001)
    assert [m.text for m in sent] == ["Bước 1/4: mở CH Play"] and sent[0].labels == ["Xong rồi"]


async def test_validates_like_telegram(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_user(1001)
    fake_telegram.add_user(1002)
    fake_telegram.block(1002)
    async with bot_for(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(999, "hi")
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(1002, "hi")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(1001, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(1001, " ")
        long_data = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="é" * 33)]])  # 66 bytes
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(1001, "hi", reply_markup=long_data)
        assert (await bot.send_message(1001, "x" * 4096)).text == "x" * 4096
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("new", chat_id=1001, message_id=99)
        edited = await bot.edit_message_text("short", chat_id=1001, message_id=1)
        assert isinstance(edited, Message) and edited.text == "short" and fake_telegram.texts(1001) == ["short"]
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("nope")
    bad = bot_for(fake_telegram, "999:WRONG")
    with pytest.raises(InvalidToken):
        await bad.initialize()
    await bad.shutdown()
    assert ("sendMessage", 403, "Forbidden: bot was blocked by the user") in \
        [r[:3] for r in fake_telegram.rejections]


async def test_get_updates_long_poll_and_offset(fake_telegram: FakeTelegram) -> None:
    async with bot_for(fake_telegram) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        assert not poll.done()  # long poll waits for an update
        first = fake_telegram.inject_message(1001, "/start dai-cuong")
        updates = await asyncio.wait_for(poll, 2)
        assert [u.update_id for u in updates] == [first]
        message = updates[0].message
        assert message is not None and message.text == "/start dai-cuong"
        assert message.from_user is not None and message.from_user.language_code == "vi"
        # Not confirmed yet: it comes again until an offset above it is sent.
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first]
        second = fake_telegram.inject_message(1001, "hello")
        assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [second]
        assert fake_telegram.pending_updates == 1
        await bot.send_message(1001, "hi", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Xong rồi", callback_data="done")]]))
        pressed = fake_telegram.press_button(1001, "Xong rồi")
        (_, update) = await bot.get_updates(offset=second)
        query = update.callback_query
        assert update.update_id == pressed and query is not None and query.data == "done"
        assert await query.answer()
        with pytest.raises(LookupError):
            fake_telegram.press_button(1001, "not shown")


async def test_webhook_blocks_polling_and_is_reported(fake_telegram: FakeTelegram) -> None:
    async with bot_for(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="(?i)HTTPS URL"):
            await bot.set_webhook("http://example.org/hook")
        assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret_-")
        with pytest.raises(Conflict):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == "http://127.0.0.1:9/hook"
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""


async def test_rate_limits_answer_429_with_retry_after() -> None:
    fake = FakeTelegram(per_chat_per_second=1)
    await fake.start()
    try:
        fake.add_user(1001)
        async with bot_for(fake) as bot:
            await bot.send_message(1001, "one")
            with pytest.raises(RetryAfter) as err:
                await bot.send_message(1001, "two")
            wait = err.value.retry_after  # seconds, or a timedelta in newer python-telegram-bot
            assert (wait.total_seconds() if isinstance(wait, timedelta) else wait) >= 1
        assert fake.texts(1001) == ["one"]
    finally:
        await fake.close()


async def test_forum_topics(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_group(-1001, "Tổ CNS", forum=True)
    fake_telegram.add_group(-2002, "plain")
    async with bot_for(fake_telegram) as bot:
        topic = await bot.create_forum_topic(-1001, "Ca #1: cài VNeID")
        assert topic.name == "Ca #1: cài VNeID"
        msg = await bot.send_message(-1001, "Ca mới", message_thread_id=topic.message_thread_id)
        assert msg.message_thread_id == topic.message_thread_id
        assert await bot.close_forum_topic(-1001, topic.message_thread_id)
        with pytest.raises(BadRequest, match="(?i)TOPIC_CLOSED"):
            await bot.send_message(-1001, "again", message_thread_id=topic.message_thread_id)
        with pytest.raises(BadRequest, match="(?i)not a forum"):
            await bot.create_forum_topic(-2002, "x")
        assert await bot.send_chat_action(-1001, "typing")
    assert fake_telegram.topics[(-1001, topic.message_thread_id)].closed


async def test_webhook_delivery_with_secret_and_retry(fake_telegram: FakeTelegram) -> None:
    from aiohttp import web

    received: list[tuple[int, str | None]] = []
    refuse_first = [True]

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append((body["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if refuse_first[0]:
            refuse_first[0] = False
            return web.Response(status=500)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with bot_for(fake_telegram) as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="abc")
            uid = fake_telegram.inject_message(1001, "hello")
            await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0, timeout=5)
            assert received == [(uid, "abc"), (uid, "abc")]  # refused once, so delivered again
            assert [s for _, s in fake_telegram.webhook_deliveries] == [500, 200]
            assert "500" in ((await bot.get_webhook_info()).last_error_message or "")
    finally:
        await runner.cleanup()


async def test_a_second_poller_ends_the_waiting_one_with_a_conflict(fake_telegram: FakeTelegram) -> None:
    async with bot_for(fake_telegram) as first, bot_for(fake_telegram) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=5, read_timeout=10))
        await asyncio.sleep(0.3)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting
    assert [alive for _, alive in fake_telegram.poll_conflicts] == [True]
