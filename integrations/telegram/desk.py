"""The Telegram staff groups as a staff desk (kernel.ports.StaffDesk).

Posting: what features send to a place (a group's chat id) goes out through the channel's bot, in
the case's forum topic or as a reply to its card. Receiving: in a staff group (telegram.staff_chat_ids
and every team's telegram_chat_id, read on each update), a command (`/cases`, `/case@our_bot 12`), a
button press and any other text become a kernel.feature.StaffAction for the StaffRouter given with
`serve`; the replies a feature returns are posted in the same group and topic. Staff text reaches the
features as typed (cleaned at the edge only): a feature that stores or forwards it redacts it first.
A feature that raises makes the update fail, so the channel runs it again (see channel.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from integrations.telegram.sender import TelegramSender
from kernel.edge import ascii_id, clean_text
from kernel.feature import StaffAction, StaffRouter
from kernel.messages import Button, Reply
from kernel.ports import DeliveryError

log = logging.getLogger(__name__)
NAME = "telegram"
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)


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


def delivery_error(exc: TelegramError) -> DeliveryError:
    """Telegram's errors as the port's DeliveryError."""
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return DeliveryError(str(exc), retry_after=seconds)
    if isinstance(exc, (Forbidden, BadRequest)):
        return DeliveryError(str(exc), permanent=True)
    return DeliveryError(str(exc))  # NetworkError, TimedOut: try again


def command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """('claim', '12') for '/claim 12' or '/claim@our_bot 12'; None if not a command for us."""
    m = _COMMAND.match(text.strip())
    if not m:
        return None
    if m.group(2) and bot_username and m.group(2).lower() != bot_username.lower():
        return None
    return m.group(1).lower(), (m.group(3) or "").strip()


class TelegramDesk:
    """Staff groups on one python-telegram-bot Bot: posts for the features, staff actions for the router."""

    name = NAME

    def __init__(self, bot: Bot, sender: TelegramSender, places: Callable[[], set[int]],
                 group_per_minute: float = 0.0) -> None:
        self.bot = bot
        self.sender = sender
        self._places = places
        # Telegram allows about 20 messages a minute to a group.
        self.place_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self.router = StaffRouter()  # nothing is served until serve()

    def serve(self, router: StaffRouter) -> None:
        self.router = router

    def is_staff_group(self, chat_id: int) -> bool:
        return chat_id in self._places()

    # --- posting -------------------------------------------------------------------

    async def open_thread(self, place: str, title: str) -> str | None:
        try:
            topic = await self.bot.create_forum_topic(_chat(place), title[:128])
        except BadRequest as exc:
            if "not a forum" in str(exc).lower():
                return None  # a plain group: the case lives in replies to its card
            raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(topic.message_thread_id)

    async def post(self, place: str, text: str, buttons: Sequence[Sequence[Button]] = (),
                   thread: str | None = None, reply_to: str | None = None) -> str:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                                       for row in buttons]) if buttons else None
        reply = ReplyParameters(int(reply_to), allow_sending_without_reply=True) if reply_to else None
        try:
            message = await self.bot.send_message(_chat(place), text[:4096], reply_markup=markup,
                                                  message_thread_id=int(thread) if thread else None,
                                                  reply_parameters=reply)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(message.message_id)

    async def close_thread(self, place: str, thread: str) -> None:
        try:
            await self.bot.close_forum_topic(_chat(place), int(thread))
        except BadRequest as exc:
            if "not_modified" in str(exc).lower().replace(" ", "_"):
                return  # already closed (a retry after the first close went through)
            raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc

    # --- receiving -------------------------------------------------------------------

    async def on_text(self, update: Update) -> None:
        """Text in a staff group: a command for a feature, or a message the features may take."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        named = command(message.text, self.bot.username)
        if named is not None:
            name, rest = named
            if name in self.router.commands:
                await self._post_back(update, await self.router.command(name, self._action(update, rest)))
            return
        await self._post_back(update, await self.router.message(self._action(update, message.text)))

    async def on_button(self, update: Update) -> None:
        """A button pressed in a staff group; the press is answered (silently unless the feature did)."""
        query = update.callback_query
        answered = False

        async def answer(notice: str | None, alert: bool) -> None:
            nonlocal answered
            if not answered:
                answered = True
                await answer_query(update, notice, alert)

        if query is not None and query.data:
            action = self._action(update, query.data, answer)
            await self._post_back(update, await self.router.button(action))
        await answer(None, False)

    def _action(self, update: Update, text: str,
                answer: Callable[[str | None, bool], Awaitable[None]] | None = None) -> StaffAction:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        thread = message.message_thread_id if message is not None and message.is_topic_message else None
        replied = message.reply_to_message if message is not None else None
        return StaffAction(desk=NAME, place=str(chat.id), thread=str(thread) if thread is not None else None,
                           user_id=str(user.id), user_name=clean_text(user.full_name), text=clean_text(text),
                           message_id=str(message.message_id) if message is not None else None,
                           reply_to=str(replied.message_id) if replied is not None else None,
                           answer=answer)

    async def _post_back(self, update: Update, replies: Sequence[Reply] | None) -> None:
        chat, message = update.effective_chat, update.effective_message
        if not replies or chat is None:
            return
        thread = message.message_thread_id if message is not None and message.is_topic_message else None
        await self.sender.send_to_chat(chat.id, replies, thread_id=thread)


def _chat(place: str) -> int:
    chat_id = ascii_id(place)
    if chat_id is None:
        raise DeliveryError(f"{place!r} is not a Telegram chat id", permanent=True)
    return chat_id


__all__ = ["TelegramDesk", "answer_query", "command", "delivery_error", "NAME"]
