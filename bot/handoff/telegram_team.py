"""The teams' side on Telegram: posting case cards and messages into team groups (python-telegram-bot),
and serving what members do there through the Telegram channel's staff hooks (buttons on the card,
replies in the case's topic or thread, commands).

Commands in a team group: /cases (open cases), /case N (one case with its messages), /reassign N TEAM.
Callback data on the card: `esc:claim:N`, `esc:resolve:N`, `esc:back:N` (well under 64 bytes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.handoff.cases import Escalation, Staff
from kernel.messages import Button, Reply
from kernel.ports import DeliveryError

if TYPE_CHECKING:
    from integrations.telegram.channel import StaffEvent, TelegramChannel

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

    def __init__(self, bot: Bot, group_per_minute: float = 0.0) -> None:
        self.bot = bot
        # The outbox takes a group's rows at this pace, shared by every server (see outbox.py).
        self.group_interval = 60.0 / group_per_minute if group_per_minute else 0.0

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


class TeamDesk:
    """What members do in their team group, served through the Telegram channel's staff hooks."""

    def __init__(self, escalation: Escalation) -> None:
        self.escalation = escalation

    def attach(self, channel: TelegramChannel) -> None:
        channel.add_staff_callback(CALLBACK_PREFIX.rstrip(":"), self.on_button)
        channel.add_staff_command("cases", self.on_cases)
        channel.add_staff_command("case", self.on_case)
        channel.add_staff_command("reassign", self.on_reassign)
        channel.add_staff_message_handler(self.on_message)

    async def on_button(self, event: StaffEvent) -> Sequence[Reply] | None:
        """`esc:claim|resolve|back:N` pressed on a case card."""
        parts = event.text.split(":")
        ops = {"claim": self.escalation.claim, "resolve": self.escalation.resolve, "back": self.escalation.hand_back}
        if len(parts) != 3 or parts[1] not in ops or not parts[2].isdigit():
            return None
        outcome = await ops[parts[1]](int(parts[2]), _staff(event))
        await event.answer(outcome.text[:200] or None, alert=not outcome.ok)
        return []

    async def on_message(self, event: StaffEvent) -> Sequence[Reply] | None:
        """A message in a case's topic, or a reply to its card or to a relayed message, goes to the resident."""
        case_id = await self.escalation.case_for_message(event.chat_id, event.thread_id, event.reply_to_message_id)
        if case_id is None:
            return None  # the team talking among themselves
        outcome = await self.escalation.reply(case_id, _staff(event), event.text,
                                              source_id=f"tg:{event.chat_id}:{event.message_id}")
        return [] if outcome.ok else [Reply(outcome.text)]

    async def on_cases(self, event: StaffEvent) -> Sequence[Reply] | None:
        return [Reply((await self.escalation.list_open(_staff(event))).text)]

    async def on_case(self, event: StaffEvent) -> Sequence[Reply] | None:
        if len(event.args) != 1 or not event.args[0].lstrip("#").isdigit():
            return [Reply(self.escalation.tr("Cách dùng: /case <số yêu cầu>"))]
        return [Reply((await self.escalation.show(int(event.args[0].lstrip("#")), _staff(event))).text)]

    async def on_reassign(self, event: StaffEvent) -> Sequence[Reply] | None:
        if len(event.args) != 2 or not event.args[0].lstrip("#").isdigit():
            return [Reply(self.escalation.tr("Cách dùng: /reassign <số yêu cầu> <mã tổ>"))]
        return [Reply((await self.escalation.reassign(int(event.args[0].lstrip("#")), _staff(event),
                                                      event.args[1])).text)]


def _staff(event: StaffEvent) -> Staff:
    return Staff(event.user_id, event.user_name or str(event.user_id))


__all__ = ["TelegramTeamSender", "TeamDesk", "delivery_error"]
