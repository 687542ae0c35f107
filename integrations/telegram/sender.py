"""Sending replies to Telegram: text split under 4,096 characters, inline keyboards, errors as DeliveryError."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from integrations.telegram.limiter import retry_after_seconds
from kernel.deliveries import DeliveryCount
from kernel.messages import Reply, ResidentKey
from kernel.ports import DeliveryError, ResidentDirectory
from kernel.text import split_text

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64 bytes


def callback_data(payload: str) -> str:
    """The payload as Telegram callback data (1..64 bytes). Our payloads are short; a longer one is a bug,
    logged and cut at a character boundary (the engine then answers it as an outdated button)."""
    raw = payload.encode("utf-8")
    if len(raw) <= MAX_DATA and raw:
        return payload
    log.error("button payload longer than %d bytes cut: %r", MAX_DATA, payload)
    return raw[:MAX_DATA].decode("utf-8", errors="ignore") or "menu"


AT = "|"  # between a payload and the position its reply was shown at (TurnResult.at)


def with_position(payload: str, at: str | None) -> str:
    """The callback data of a turn's button: the payload and the conversation's position, so a press for a
    position that is no longer current (a double tap, an old message's button) is ignored by the core."""
    data = f"{payload}{AT}{at}" if at else payload
    return data if len(data.encode("utf-8")) <= MAX_DATA else payload


def pressed(data: str) -> tuple[str, str | None]:
    """The payload and position (None if absent) of a pressed button's callback data."""
    payload, sep, at = data.rpartition(AT)
    return (payload, at) if sep and payload and at else (data, None)


def keyboard(reply: Reply, at: str | None = None) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=with_position(callback_data(b.payload),
                                                                                              at))
                                  for b in row] for row in reply.buttons if row])


def _is_chat_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(s in text for s in ("chat not found", "user not found", "peer_id_invalid", "chat_write_forbidden",
                                   "have no rights", "not enough rights"))


class TelegramSender:
    """Delivers replies to a Telegram chat in order (the Sender protocol of kernel.ports).

    Rate limits are kept by the bot's rate limiter (which also waits out 429s); network errors
    are retried with back-off; a resident who blocked the bot is reported to the residents port
    (marked `blocked`) and gets DeliveryError(permanent=True), so broadcasts and hand-offs stop trying.
    """

    channel = CHANNEL

    def __init__(self, bot: Bot, residents: ResidentDirectory | None = None, network_attempts: int = 4,
                 backoff: float = 0.5) -> None:
        self.bot = bot
        self.residents = residents
        self.network_attempts = network_attempts
        self.backoff = backoff
        self._count = DeliveryCount(CHANNEL)

    @property
    def deliveries(self) -> DeliveryCount:
        """Messages sent and refused; 429s as the bot's rate limiter saw them (it waits them out and retries)."""
        self._count.rate_limited = int(getattr(getattr(self.bot, "rate_limiter", None), "retries", 0))
        return self._count

    async def send(self, user_id: str, replies: Sequence[Reply], at: str | None = None) -> None:
        """Deliver in order or raise DeliveryError (user_id is the Telegram chat id, as a string; `at` the
        position the buttons answer)."""
        try:
            chat_id = int(user_id)
        except ValueError:
            raise DeliveryError(f"{user_id!r} is not a Telegram chat id", permanent=True) from None
        await self.send_to_chat(chat_id, replies, at=at)

    async def send_to_chat(self, chat_id: int, replies: Sequence[Reply], thread_id: int | None = None,
                           at: str | None = None) -> list[int]:
        """Send replies to any chat (a resident's, or a staff group's topic); return the message ids. `at`
        is the position a turn's buttons answer (TurnResult.at)."""
        ids: list[int] = []
        for reply in replies:
            pieces = split_text(reply.text, MAX_TEXT) or ["…"]
            for i, piece in enumerate(pieces):
                markup = keyboard(reply, at) if i == len(pieces) - 1 else None
                ids.append(await self._send_one(chat_id, piece, markup, thread_id))
        return ids

    async def _send_one(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                        thread_id: int | None) -> int:
        try:
            message_id = await self._attempts(chat_id, text, markup, thread_id)
        except DeliveryError:
            self._count.failed += 1
            raise
        self._count.delivered += 1
        return message_id

    async def _attempts(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                        thread_id: int | None) -> int:
        for attempt in range(1, self.network_attempts + 1):
            try:
                message = await self.bot.send_message(chat_id, text, reply_markup=markup,
                                                      message_thread_id=thread_id)
                return message.message_id
            except Forbidden as exc:
                await self.mark_blocked(chat_id, True)
                raise DeliveryError(f"telegram chat {chat_id}: {exc.message}", permanent=True) from exc
            except BadRequest as exc:
                if _is_chat_gone(exc):
                    await self.mark_blocked(chat_id, True)
                # Telegram will refuse the same request every time: retrying cannot help.
                raise DeliveryError(f"telegram chat {chat_id}: {exc.message}", permanent=True) from exc
            except ChatMigrated as exc:
                raise DeliveryError(f"telegram chat {chat_id} is now {exc.new_chat_id}", permanent=True) from exc
            except RetryAfter as exc:  # the limiter already waited and retried
                raise DeliveryError(f"telegram chat {chat_id}: flood limit",
                                    retry_after=retry_after_seconds(exc)) from exc
            except InvalidToken as exc:
                raise DeliveryError(f"telegram: the bot token was refused ({exc.message})") from exc
            except (TimedOut, NetworkError) as exc:
                # TimedOut may mean Telegram got it; a rare duplicate beats a lost message.
                if attempt == self.network_attempts:
                    raise DeliveryError(f"telegram chat {chat_id}: {exc.message}") from exc
                log.warning("telegram send to %s failed (%s), retry %d", chat_id, exc.message, attempt)
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def mark_blocked(self, chat_id: int, blocked: bool) -> None:
        """Record that a resident blocked (or unblocked) the bot; groups are not residents."""
        if self.residents is None or chat_id < 0:
            return
        await self.residents.set_blocked(ResidentKey(CHANNEL, str(chat_id)), blocked)
