"""The fake Bot API's state: chats, the bot's messages, forum topics, the webhook, rate windows, errors."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Chat:
    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_forum: bool = False
    blocked: bool = False  # private chats: the user blocked the bot

    def as_chat(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            d["first_name"] = self.first_name or "User"
            if self.username:
                d["username"] = self.username
        else:
            d["title"] = self.title or "Group"
            if self.is_forum:
                d["is_forum"] = True
        return d

    def as_user(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name or "User"}
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d


@dataclass
class SentMessage:
    """A message the bot sent (as it stands now: edits update it)."""

    message_id: int
    chat_id: int
    text: str
    buttons: list[list[dict[str, Any]]]  # inline keyboard rows: [{"text":..., "callback_data":...}]
    thread_id: int | None
    date: int
    params: dict[str, Any]
    edits: int = 0

    @property
    def labels(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]

    @property
    def data(self) -> list[str]:
        return [b.get("callback_data", "") for row in self.buttons for b in row]


@dataclass
class Topic:
    chat_id: int
    thread_id: int
    name: str
    icon_color: int
    closed: bool = False


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class _Window:
    """Timestamps of recent accepted requests, to enforce "at most N per period"."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def check(self, limit: int | None, period: float, now: float) -> int | None:
        """None if one more is allowed now, else the seconds to wait (rounded up, as Telegram does)."""
        if not limit:
            return None
        while self.times and now - self.times[0] >= period:
            self.times.popleft()
        if len(self.times) < limit:
            return None
        return max(1, int(period - (now - self.times[0]) + 0.999))

    def add(self, now: float) -> None:
        self.times.append(now)
