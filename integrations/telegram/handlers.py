"""PTB handler callbacks of the Telegram channel: Telegram updates translated into turns or staff events."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import ChatMember, Update
from telegram.ext import CallbackContext

from integrations.telegram import media as telegram_media
from integrations.telegram.desk import answer_query
from integrations.telegram.sender import pressed
from kernel.edge import Refused, clean_text, token
from kernel.messages import Incoming, MediaFile
from kernel.ports import DeliveryError

if TYPE_CHECKING:
    from integrations.telegram.channel import TelegramChannel

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
                at: str | None = None, media: MediaFile | None = None) -> None:
    user = update.effective_user
    if user is None:
        return
    if text is not None:
        text = clean_text(text)  # NUL, lone surrogates, control characters: never reach the core
    if payload is not None:
        try:
            payload = token(payload, "payload")
        except Refused:
            return  # not a button of ours (a crafted press): nothing to answer, nothing stored
    incoming = Incoming(channel.resident(user.id), text=text, payload=payload, attachment=attachment,
                        message_id=_message_id(update, suffix), platform_language=_language(update), at=at,
                        media=media)
    try:
        await channel.turn(update, incoming)
    except DeliveryError as exc:
        # Only an answer the channel sends itself (an attachment's) gets here: a turn's replies go through
        # the core's outbox, which retries them.
        log.warning("telegram: reply to %s not delivered: %s", user.id, exc)


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
    desk. Every press is answered (Telegram shows a spinner until then)."""
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
        if chat is not None and update.effective_user is not None and channel.desk.is_staff_group(chat.id):
            await channel.desk.on_button(update)
            return
        await answer_query(update)
    return handle


def on_attachment(channel: TelegramChannel) -> Callback:
    """A contact card, location or other media: its kind goes to the core, which answers it (what it held is
    never passed on, so never stored), except a photo, voice note, audio or file: its content goes too, for
    the resident's case (fetched from Telegram first)."""
    async def handle(update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.contact is not None or message.location is not None or message.venue is not None:
            await _turn(channel, update, attachment="contact" if message.contact is not None else "location")
            return
        await _turn(channel, update, attachment="media", media=await telegram_media.fetch(channel.bot, message))
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
    """Text in a group: for the staff desk if the group is a staff group; otherwise ignored."""
    async def handle(update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.text is None or not channel.desk.is_staff_group(message.chat.id):
            return
        user = update.effective_user
        if user is None or user.is_bot:
            return
        await channel.desk.on_text(update)
    return handle
