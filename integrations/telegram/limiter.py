"""A Bot API rate limiter that keeps under Telegram's flood limits instead of hitting them and backing off."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
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
    a burst of 30 through at once, and no more than overall_per_second requests are in flight or
    ended within any second (see _Window), so a burst of residents never trips Telegram's
    per-second window even on a busy machine; and private chats get their own pace (Telegram:
    about one message a second a chat), not only groups, and the pace is measured from the end of
    the chat's previous request, so network or CPU delays cannot bunch two messages up at
    Telegram's end. Defaults sit below
    Telegram's published limits (30/s overall, about 1/s a chat, 20/min a group).
    """

    def __init__(self, overall_per_second: float = 25.0, private_chat_interval: float = 1.05,
                 group_per_minute: float = 19.0, max_retries: int = 3) -> None:
        self._overall = AsyncLimiter(1, 1.0 / overall_per_second) if overall_per_second else None
        self._window = _Window(int(overall_per_second), 1.0) if overall_per_second else None
        self._private_interval = private_chat_interval
        self._group_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self._chats: dict[int | str, _ChatPace] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()
        self._open.set()
        self.retries = 0  # 429 answers seen (for logs and benchmarks)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _chat_pace(self, chat_id: int | str) -> _ChatPace | None:
        group = isinstance(chat_id, str) or chat_id < 0
        interval = self._group_interval if group else self._private_interval
        if not interval:
            return None
        if len(self._chats) > 1024:
            # Forget idle chats, so memory stays bounded.
            now = time.monotonic()
            for key, pace in list(self._chats.items()):
                if key != chat_id and not pace.lock.locked() and now - pace.last_done > pace.interval:
                    del self._chats[key]
        if chat_id not in self._chats:
            self._chats[chat_id] = _ChatPace(interval)
        return self._chats[chat_id]

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
                pace = self._chat_pace(chat_id)
                if pace is None:
                    return await self._overall_then(callback, args, kwargs)
                async with pace.lock:
                    # Measured from the end of the chat's previous request, so however late that
                    # one reached Telegram, this one arrives at least `interval` after it.
                    await asyncio.sleep(pace.last_done + pace.interval - time.monotonic())
                    try:
                        return await self._overall_then(callback, args, kwargs)
                    finally:
                        pace.last_done = time.monotonic()
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

    async def _overall_then(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                            kwargs: dict[str, Any]) -> JSON:
        if self._overall is None or self._window is None:
            await self._open.wait()
            return await callback(*args, **kwargs)
        await self._overall.acquire()
        async with self._window:
            await self._open.wait()
            return await callback(*args, **kwargs)


class _Window:
    """At most `limit` requests in flight or finished within the last `period` seconds.

    A request reaches Telegram between its start and its end, so counting the ones still in
    flight and the ones that ended within the period bounds what Telegram counts in any window,
    even when a busy event loop or the network delays some requests and bunches them up.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = max(limit, 1)
        self.period = period
        self.in_flight = 0
        self.ended: deque[float] = deque()
        self._changed = asyncio.Event()

    async def __aenter__(self) -> None:
        while True:
            now = time.monotonic()
            while self.ended and now - self.ended[0] >= self.period:
                self.ended.popleft()
            if self.in_flight + len(self.ended) < self.limit:
                self.in_flight += 1
                return
            self._changed.clear()
            wait = self.ended[0] + self.period - now if self.ended else None
            try:
                await asyncio.wait_for(self._changed.wait(), wait)
            except TimeoutError:
                pass

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self.ended.append(time.monotonic())
        self._changed.set()


class _ChatPace:
    """One chat's requests, one at a time and `interval` seconds apart."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.lock = asyncio.Lock()
        self.last_done = -interval
