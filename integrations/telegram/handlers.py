"""PTB handler callbacks of the Telegram channel: Telegram updates translated into turns or staff events."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from telegram import ChatMember, Update
from telegram.error import TelegramError
from telegram.ext import CallbackContext

from integrations.telegram.sender import pressed
from kernel.messages import Incoming, Reply
from kernel.ports import DeliveryError

if TYPE_CHECKING:
    from integrations.telegram.channel import StaffEvent, StaffHandler, TelegramChannel

log = logging.getLogger(__name__)

Context = CallbackContext[Any, Any, Any, Any]
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _message_id(update: Update, suffix: str = "") -> str:
    return f"tg:{update.update_id}{suffix}"


def _language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def _turn(channel: TelegramChannel, update: Update, *, text: str | None = None,
                payload: str | None = None, attachment: str | None = None, suffix: str = "",
                at: str | None = None) -> None:
    user = update.effective_user
    if user is None:
        return
    incoming = Incoming(channel.resident(user.id), text=text, payload=payload, attachment=attachment,
                        message_id=_message_id(update, suffix), platform_language=_language(update), at=at)
    try:
        await channel.turn(update, incoming)
    except DeliveryError as exc:
        # The turn is saved; a redelivered update would be a duplicate, so retrying cannot help here.
        log.warning("telegram: reply to %s not delivered: %s", user.id, exc)


async def answer_query(update: Update, notice: str | None = None, alert: bool = False) -> None:
    """Stop the spinner on a pressed button. Telegram refuses answers to old presses (e.g. one sent
    again after a restart); the press itself still counts, so that refusal is only logged."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(notice, show_alert=alert)
    except TelegramError as exc:
        log.info("telegram: button press %s not answered: %s", query.id, exc)


def on_text(channel: TelegramChannel) -> Callback:
    async def handle(update: Update, context: Context) -> None:
        assert update.message is not None
        await _turn(channel, update, text=update.message.text)
    return handle


def command_payload(channel: TelegramChannel, payload: str) -> Callback:
    """A command that means the same as pressing a button (e.g. /stop = "cancel")."""
    async def handle(update: Update, context: Context) -> None:
        await _turn(channel, update, payload=payload)
    return handle


def on_start(channel: TelegramChannel) -> Callback:
    """/start, optionally with a deep-link village code (t.me/<bot>?start=dai-cuong): greet, note the village."""
    async def handle(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is not None:
            # After unblocking, Telegram's "Restart" sends /start: the resident can be written to again.
            await channel.sender.mark_blocked(user.id, False)
        code = context.args[0] if context.args else ""
        if _DEEP_LINK.match(code) and channel.commune.current().village(code):
            await _turn(channel, update, payload=f"village:{code}", suffix=":village")
        await _turn(channel, update, payload="intent:greet")
    return handle


def on_lang(channel: TelegramChannel) -> Callback:
    """/lang shows the language choice; /lang en switches at once."""
    async def handle(update: Update, context: Context) -> None:
        wanted = channel.catalogs.parse(context.args[0]) if context.args else None
        await _turn(channel, update, payload=f"lang:{wanted}" if wanted else "intent:change_language")
    return handle


def on_button(channel: TelegramChannel) -> Callback:
    """A button press: a resident's goes to the pipeline as its payload; a staff group's to the staff
    callback registered for its prefix. Every press is answered (Telegram shows a spinner until then)."""
    async def handle(update: Update, context: Context) -> None:
        query = update.callback_query
        chat = update.effective_chat
        assert query is not None
        if chat is not None and chat.type == chat.PRIVATE:
            await answer_query(update)
            if query.data:
                payload, at = pressed(query.data)
                await _turn(channel, update, payload=payload, at=at)
            return
        handler = None
        if chat is not None and chat.id in channel.staff_chat_ids():
            handler = channel._staff_callbacks.get((query.data or "").partition(":")[0])
        if handler is None:
            await answer_query(update)
            return
        event = await _staff(channel, handler, update, query.data or "")
        if not event.answered:
            await answer_query(update)
    return handle


def on_attachment(channel: TelegramChannel) -> Callback:
    """A contact card, location or other media: only its kind goes to the core, which answers it
    (what it held is never passed on, so never stored)."""
    async def handle(update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None:
            return
        kind = ("contact" if message.contact is not None
                else "location" if message.location is not None or message.venue is not None else "media")
        await _turn(channel, update, attachment=kind)
    return handle


def on_member(channel: TelegramChannel) -> Callback:
    """A private chat's member status of the bot: kicked = the resident blocked it."""
    async def handle(update: Update, context: Context) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != change.chat.PRIVATE:
            return
        status = change.new_chat_member.status
        await channel.sender.mark_blocked(change.chat.id, status == ChatMember.BANNED)
    return handle


def on_staff_message(channel: TelegramChannel) -> Callback:
    """Text in a group: a staff command or message if the group is a staff group; otherwise ignored."""
    async def handle(update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.text is None or message.chat.id not in channel.staff_chat_ids():
            return
        user = update.effective_user
        if user is None or user.is_bot:
            return
        command = _command(message.text, channel.bot.username)
        if command is not None:
            name, rest = command
            handler = channel._staff_commands.get(name)
            if handler is not None:
                await _staff(channel, handler, update, rest)
            return
        for handler in channel._staff_messages:
            if (await _staff(channel, handler, update, message.text)).handled:
                return
    return handle


def _command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """('claim', '12') for '/claim 12' or '/claim@our_bot 12'; None if not a command for us."""
    m = re.match(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", text.strip(), re.DOTALL)
    if not m:
        return None
    if m.group(2) and bot_username and m.group(2).lower() != bot_username.lower():
        return None
    return m.group(1).lower(), (m.group(3) or "").strip()


async def _staff(channel: TelegramChannel, handler: StaffHandler, update: Update, text: str) -> StaffEvent:
    """Run a staff handler; post what it returns in the same chat and topic (event.handled: it returned some)."""
    from integrations.telegram.channel import StaffEvent

    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    event: StaffEvent = StaffEvent(
        chat_id=chat.id, thread_id=thread, user_id=user.id, user_name=user.full_name, text=text,
        args=tuple(text.split()), message_id=message.message_id if message else None,
        reply_to_message_id=(message.reply_to_message.message_id
                             if message is not None and message.reply_to_message else None),
        update=update)
    replies: Sequence[Reply] | None = await handler(event)
    if replies is None:
        return event
    event.handled = True
    if replies:
        await channel.sender.send_to_chat(chat.id, replies, thread_id=thread)
    return event
