"""A Bot API rate limiter that keeps under Telegram's flood limits instead of hitting them and backing off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after as seconds (PTB 22 gives an int or a timedelta depending on PTB_TIMEDELTA)."""
    value = exc._retry_after  # the timedelta PTB keeps in every version; the public attribute is changing
    return value.total_seconds()


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Throttles every request that names a chat; honours 429 retry_after by pausing all requests.

    Differences from PTB's AIORateLimiter, which this otherwise follows: the overall limit is a
    steady pace (one request every 1/overall_per_second seconds) rather than a bucket that lets
    a burst of 30 through at once, so a burst of residents never trips Telegram's per-second
    window; and private chats get their own pace (Telegram: about one message a second a chat),
    not only groups. Defaults sit below Telegram's published limits (30/s overall, 20/min a group).
    """

    def __init__(self, overall_per_second: float = 25.0, private_chat_interval: float = 1.05,
                 group_per_minute: float = 19.0, max_retries: int = 3) -> None:
        self._overall = AsyncLimiter(1, 1.0 / overall_per_second) if overall_per_second else None
        self._private_interval = private_chat_interval
        self._group_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()
        self._open.set()
        self.retries = 0  # 429 answers seen (for logs and benchmarks)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _chat_limiter(self, chat_id: int | str) -> AsyncLimiter | None:
        group = isinstance(chat_id, str) or chat_id < 0
        interval = self._group_interval if group else self._private_interval
        if not interval:
            return None
        if len(self._chats) > 1024:
            # Forget chats whose pace has fully recovered, so memory stays bounded.
            for key, limiter in list(self._chats.items()):
                if key != chat_id and limiter.has_capacity():
                    del self._chats[key]
        limiter = self._chats.get(chat_id)
        if limiter is None:
            limiter = self._chats[chat_id] = AsyncLimiter(1, interval)
        return limiter

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> JSON:
        chat_id: Any = data.get("chat_id")
        if isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                pass
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._open.wait()
            try:
                if chat_id is None:
                    return await callback(*args, **kwargs)
                chat = self._chat_limiter(chat_id)
                if chat is not None:
                    await chat.acquire()
                if self._overall is not None:
                    await self._overall.acquire()
                await self._open.wait()
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.retries += 1
                if attempt == retries:
                    raise
                wait = retry_after_seconds(exc) + 0.1
                log.warning("Telegram asked to wait %.1fs (%s); pausing all requests", wait, endpoint)
                self._open.clear()
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._open.set()
        raise AssertionError("unreachable")
