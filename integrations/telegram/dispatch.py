"""Telegram updates run chat by chat: chats concurrently, each chat in order, each update retried until
its turn is saved; the offset confirmed to Telegram never passes an update still in hand.

Why not PTB's own update queue: the offset PTB confirms moves as soon as a batch is fetched, so an
update in hand when the process dies, or during a database outage, would be lost; and the poller that
waited for a whole batch let one resident's burst (paced at one message a second in their chat) stall
everyone else. Here the poller keeps fetching while chats work, and `offset()` is the lowest update
not yet finished: Telegram sends the rest again after a restart and the pipeline drops duplicates
(message_id "tg:<update_id>").

A failed update is tried again, with growing pauses, in its chat (the chat's later updates wait). If
the database is down (the health check fails) it is kept and tried until the database is back; any
other error gives up after `max_attempts` (logged), so a bug cannot hold a chat for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update

from kernel.flood import FloodLimiter
from kernel.ports import HealthCheck, database_down

log = logging.getLogger(__name__)

# Runs one update; returns the error it raised (PTB hands handler errors to an error handler), else None.
Handle = Callable[[Update], Awaitable[BaseException | None]]
# Tells an over-limit resident to slow down (once per window).
Refuse = Callable[[Update], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    """Pauses between tries of a failed update: `first` seconds, doubling up to `longest`."""

    first: float = 0.5
    longest: float = 8.0
    max_attempts: int = 5  # for errors other than a database outage

    def pause(self, attempt: int) -> float:
        return min(self.first * 2 ** (attempt - 1), self.longest)


def chat_key(update: Update) -> int:
    chat = update.effective_chat
    return chat.id if chat is not None else 0


class Dispatcher:
    """Chat queues and the bookkeeping behind the confirmed offset."""

    def __init__(self, handle: Handle, health: HealthCheck | None, retry: Retry,
                 limiter: FloodLimiter | None = None, refuse: Refuse | None = None) -> None:
        self.handle = handle
        self.health = health
        self.retry = retry
        self.limiter = limiter
        self.refuse = refuse
        self._queues: dict[int, deque[tuple[Update, bool]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._in_hand: set[int] = set()
        self._finished: set[int] = set()  # above the confirmed offset: Telegram may send them again
        self._next: int | None = None  # one past the highest update id seen
        self._refused: set[int] = set()  # chats told to slow down in the current window
        self._progress = asyncio.Event()
        self._stopping = False

    # --- what the poller asks ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._in_hand)

    def offset(self) -> int | None:
        """The offset to confirm: every update below it is finished."""
        return min(self._in_hand) if self._in_hand else self._next

    def known(self, update_id: int) -> bool:
        """Seen already: in hand, finished, or below the offset (finished and confirmed)."""
        low = self.offset()
        return update_id in self._in_hand or update_id in self._finished or (low is not None and update_id < low)

    def skip(self, update_id: int) -> None:
        """An update that cannot be read: finished at once (logged by the caller)."""
        self._see(update_id)
        self._finish(update_id)

    def submit(self, update: Update) -> None:
        """Queue an update behind its chat's earlier ones (a worker per busy chat)."""
        self._see(update.update_id)
        self._in_hand.add(update.update_id)
        key = chat_key(update)
        allowed = self._allowed(update, key)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append((update, allowed))
            return
        self._queues[key] = deque([(update, allowed)])
        task = asyncio.create_task(self._work(key), name=f"telegram-chat-{key}")
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    async def wait_progress(self, timeout: float) -> None:
        """Until an update finishes, or `timeout` seconds."""
        self._progress.clear()
        try:
            await asyncio.wait_for(self._progress.wait(), timeout)
        except TimeoutError:
            pass

    async def stop(self) -> None:
        """Stop at once: updates still in hand stay unconfirmed, so Telegram sends them again."""
        self._stopping = True
        for task in list(self._workers):
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    # --- the chats ---------------------------------------------------------------------

    def _see(self, update_id: int) -> None:
        if self._next is None or update_id >= self._next:
            self._next = update_id + 1

    def _finish(self, update_id: int) -> None:
        self._in_hand.discard(update_id)
        self._finished.add(update_id)
        low = self.offset()
        if low is not None:
            self._finished = {u for u in self._finished if u >= low}
        self._progress.set()

    def _allowed(self, update: Update, key: int) -> bool:
        """The per-resident limit, on private chats (staff groups are not limited)."""
        chat = update.effective_chat
        if self.limiter is None or chat is None or chat.type != chat.PRIVATE:
            return True
        if self.limiter.allow(str(key)):
            self._refused.discard(key)
            return True
        return False

    async def _work(self, key: int) -> None:
        queue = self._queues[key]
        try:
            while queue:
                update, allowed = queue[0]
                if allowed:
                    await self._until_done(update)
                elif key not in self._refused and self.refuse is not None:
                    self._refused.add(key)  # told once per window; the rest are dropped quietly
                    try:
                        await self.refuse(update)
                    except Exception:  # a notice that cannot go out is not worth a retry
                        log.warning("telegram: slow-down notice to chat %s not sent", key)
                queue.popleft()
                self._finish(update.update_id)
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _until_done(self, update: Update) -> None:
        attempt = 0
        while True:
            error = await self.handle(update)
            if error is None:
                return
            attempt += 1
            outage = await self.database_down()
            if not outage and attempt >= self.retry.max_attempts:
                log.error("telegram: update %s failed %d times; dropped", update.update_id, attempt)
                return
            if outage and attempt == 1:
                log.warning("telegram: database unreachable; update %s kept until it is back", update.update_id)
            await asyncio.sleep(self.retry.pause(attempt))

    async def database_down(self) -> bool:
        return await database_down(self.health)


__all__ = ["Dispatcher", "Retry", "chat_key"]
