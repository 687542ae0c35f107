"""The teams' side on Telegram (python-telegram-bot): posting case cards and messages into team groups,
and handling what members do there (buttons on the card, replies in the case's topic or thread, commands).

Commands in a team group: /cases (open cases), /case N (one case with its messages), /reassign N TEAM.
Callback data on the card: `esc:claim:N`, `esc:resolve:N`, `esc:back:N` (well under 64 bytes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels import DeliveryError
from bot.types import Button
from integrations.escalation.cases import Escalation, Outcome, Staff

log = logging.getLogger(__name__)
CALLBACK_PREFIX = "esc:"


def delivery_error(exc: TelegramError) -> DeliveryError:
    """Telegram's errors as the channel boundary's DeliveryError."""
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return DeliveryError(str(exc), retry_after=seconds)
    if isinstance(exc, (Forbidden, BadRequest)):
        return DeliveryError(str(exc), permanent=True)
    return DeliveryError(str(exc))  # NetworkError, TimedOut: try again


class TelegramTeamSender:
    """Posts into team groups through one long-lived python-telegram-bot Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def open_topic(self, chat_id: int, title: str) -> int | None:
        try:
            topic = await self.bot.create_forum_topic(chat_id, title[:128])
        except BadRequest as exc:
            if "not a forum" in str(exc).lower():
                return None  # a plain group: the case lives in replies to its card
            raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return int(topic.message_thread_id)

    async def post(self, chat_id: int, text: str, buttons: Sequence[Sequence[Button]], topic_id: int | None,
                   reply_to: int | None) -> int:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                                       for row in buttons]) if buttons else None
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        try:
            message = await self.bot.send_message(chat_id, text[:4096], reply_markup=markup,
                                                  message_thread_id=topic_id, reply_parameters=reply)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return int(message.message_id)


def _staff(update: Update) -> Staff | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return Staff(user.id, user.full_name or user.first_name or str(user.id))


class TeamDesk:
    """python-telegram-bot handlers for the team groups; add them to the channel's Application."""

    def __init__(self, escalation: Escalation) -> None:
        self.escalation = escalation

    def handlers(self) -> list[BaseHandler]:  # type: ignore[type-arg]
        groups = filters.ChatType.GROUPS
        return [
            CallbackQueryHandler(self.on_button, pattern=rf"^{CALLBACK_PREFIX}"),
            CommandHandler("cases", self.on_cases, filters=groups),
            CommandHandler("case", self.on_case, filters=groups),
            CommandHandler("reassign", self.on_reassign, filters=groups),
            MessageHandler(groups & filters.TEXT & ~filters.COMMAND, self.on_message),
        ]

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        staff = _staff(update)
        if query is None or staff is None:
            return
        parts = (query.data or "").split(":")
        action, number = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        if not number.isdigit():
            await query.answer()
            return
        ops = {"claim": self.escalation.claim, "resolve": self.escalation.resolve, "back": self.escalation.hand_back}
        op = ops.get(action)
        outcome = await op(int(number), staff) if op else Outcome(False, "")
        await query.answer(outcome.text[:200] or None, show_alert=not outcome.ok)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        staff = _staff(update)
        if message is None or staff is None or not message.text:
            return
        topic = message.message_thread_id if message.is_topic_message else None
        reply_to = message.reply_to_message.message_id if message.reply_to_message else None
        case_id = await self.escalation.case_for_message(message.chat_id, topic, reply_to)
        if case_id is None:
            return  # the team talking among themselves
        outcome = await self.escalation.reply(case_id, staff, message.text,
                                              source_id=f"tg:{message.chat_id}:{message.message_id}")
        if not outcome.ok:
            await message.reply_text(outcome.text)

    async def on_cases(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, message = _staff(update), update.effective_message
        if staff is None or message is None:
            return
        await message.reply_text((await self.escalation.list_open(staff)).text)

    async def on_case(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, message = _staff(update), update.effective_message
        if staff is None or message is None:
            return
        args = context.args or []
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            await message.reply_text(self.escalation.team_tr("Cách dùng: /case <số yêu cầu>"))
            return
        await message.reply_text((await self.escalation.show(int(args[0].lstrip("#")), staff)).text)

    async def on_reassign(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, message = _staff(update), update.effective_message
        if staff is None or message is None:
            return
        args = context.args or []
        if len(args) != 2 or not args[0].lstrip("#").isdigit():
            await message.reply_text(self.escalation.team_tr("Cách dùng: /reassign <số yêu cầu> <mã tổ>"))
            return
        await message.reply_text((await self.escalation.reassign(int(args[0].lstrip("#")), staff, args[1])).text)


__all__ = ["TelegramTeamSender", "TeamDesk", "delivery_error", "NetworkError"]
