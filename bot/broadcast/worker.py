"""A broadcast worker: claims delivery rows within the shared rate, sends them, records what happened.

Several workers (in one or many processes) may run against one database; the queue's row
claims and the shared token bucket keep them from sending a row twice or too fast.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Mapping
from typing import Any

from bot.broadcast import queue
from bot.broadcast.compose import announcement, report
from bot.broadcast.config import BroadcastSettings
from bot.broadcast.models import Broadcast
from bot.storage.store import Store
from kernel.i18n import Catalogs
from kernel.messages import Reply
from kernel.ports import DeliveryError, Sender, StaffDesk

log = logging.getLogger(__name__)


class Worker:
    """Delivers every due broadcast on the channels it has senders for."""

    def __init__(self, store: Store, catalogs: Catalogs, settings: BroadcastSettings, senders: dict[str, Sender],
                 name: str | None = None, desks: Mapping[str, StaffDesk] | None = None) -> None:
        self.store = store
        self.catalogs = catalogs
        self.settings = settings
        self.senders = {ch: s for ch, s in senders.items() if ch in settings.limits}
        # Reports go back to the staff desk an announcement came from; a worker without desks (`broadcast
        # work`) posts them with the platform's sender to the same chat.
        self.desks = dict(desks or {})
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._broadcasts: dict[int, Broadcast] = {}
        self._outcomes: dict[str, list[queue.Outcome]] = defaultdict(list)
        self._have_outcomes = asyncio.Event()
        self._in_flight: dict[str, int] = defaultdict(int)
        self._paused_until: dict[str, float] = defaultdict(float)
        self._late: dict[str, list[asyncio.Future[float]]] = defaultdict(list)
        self._slot_free = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0  # by this worker, for logs and benchmarks
        self.rescheduled = 0  # sends that missed their slot and took a later one

    async def run(self, stop: asyncio.Event | None = None, until_idle: bool = False) -> None:
        """Work until `stop` is set (or, with until_idle, until no broadcast is due or sending)."""
        stop = stop or asyncio.Event()
        done = asyncio.Event()
        recorder = asyncio.create_task(self._record(done))
        feeders = [asyncio.create_task(self._feed(channel, stop)) for channel in self.senders]
        try:
            await self._housekeep(stop, until_idle)
        finally:
            stop.set()
            await asyncio.gather(*feeders, return_exceptions=True)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            done.set()
            self._have_outcomes.set()
            await recorder

    # --- the loops -------------------------------------------------------

    async def _housekeep(self, stop: asyncio.Event, until_idle: bool) -> None:
        next_reclaim = 0.0
        while not stop.is_set():
            now = time.time()
            if now >= next_reclaim:
                await queue.reclaim(self.store, self.settings.resend_in_doubt, now)
                next_reclaim = now + max(0.5, self.settings.lease_seconds / 4)
            if self.senders:  # a worker that cannot send anything must not start a broadcast
                await queue.start_due(self.store, list(self.settings.limits), now)
            active = await queue.sending(self.store)
            for broadcast_id in active:
                await self._report(broadcast_id)
            if until_idle and not active and not await self._scheduled_due():
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.check_seconds)
            except TimeoutError:
                pass

    async def _feed(self, channel: str, stop: asyncio.Event) -> None:
        """Claim rows as fast as the shared rate and our in-flight slots allow; send each in a task."""
        limit = self.settings.limits[channel]
        sender = self.senders[channel]
        while not stop.is_set():
            free = self.settings.max_in_flight - self._in_flight[channel]
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                claims, wait = await queue.claim(self.store, channel, limit, free, self.name,
                                                 self.settings.lease_seconds, self.settings.lookahead_seconds,
                                                 pauses=self._paused_until)
            except Exception:  # the database went away for a moment: try again shortly
                log.exception("claiming %s deliveries failed", channel)
                claims, wait = [], self.settings.poll_seconds
            for c in claims:
                self._in_flight[channel] += 1
                task = asyncio.create_task(self._send(channel, sender, c))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not claims:
                delay = wait if wait > 0 else self.settings.poll_seconds
                try:
                    await asyncio.wait_for(stop.wait(), timeout=min(delay, self.settings.poll_seconds))
                except TimeoutError:
                    pass

    async def _send(self, channel: str, sender: Sender, claim: queue.Claim) -> None:
        try:
            broadcast = await self._broadcast(claim.broadcast_id)
            reply = announcement(broadcast, self.catalogs, claim.language)
            await self._pace(channel, claim.slot)
            await sender.send(claim.platform_id, [reply])
            outcome = queue.Outcome(claim.delivery_id, sent=True)
            self.sent += 1
        except DeliveryError as exc:
            if exc.retry_after:  # hold this process's other sends too, at once (the database pause follows)
                self._paused_until[channel] = max(self._paused_until[channel], time.time() + exc.retry_after)
            outcome = queue.Outcome(claim.delivery_id, permanent=exc.permanent, retry_after=exc.retry_after,
                                    error=str(exc))
        except Exception as exc:  # a bug or a network error: retried with backoff like a temporary error
            log.exception("sending delivery %s failed", claim.delivery_id)
            outcome = queue.Outcome(claim.delivery_id, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._in_flight[channel] -= 1
            self._slot_free.set()
        self._outcomes[channel].append(outcome)
        self._have_outcomes.set()

    async def _pace(self, channel: str, slot: float) -> None:
        """Wait for the send's slot in the shared schedule.

        A send that could not leave close enough to its slot (this process was descheduled, or
        paused by a 429) takes a fresh slot instead of going out late: late sends of one worker
        would bunch with the punctual sends of another and trip the platform's one-second window.
        Every message thus leaves within `tolerance` of a slot of its own; slots are 1/rate
        apart, so any one-second window holds at most rate * (1 + tolerance) + 1 of them, which
        the headroom keeps within the limit.
        """
        limit = self.settings.limits[channel]
        tolerance = 0.5 * (limit.per_second / limit.rate - 1.0)  # the other half: network jitter
        retakes = 0
        while True:
            now = time.time()
            wait = max(slot, self._paused_until[channel]) - now
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # A process too overloaded to meet even a fresh slot sends anyway (a 429 then slows it).
            if now - slot <= tolerance or retakes == 2:
                return
            retakes += 1
            self.rescheduled += 1
            slot = await self._fresh_slot(channel)

    async def _fresh_slot(self, channel: str) -> float:
        """A new slot for a send that missed its own; the sends late at the same moment share
        one transaction, so a busy moment does not turn into a storm of them."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._late[channel].append(waiter)
        if len(self._late[channel]) == 1:
            asyncio.get_running_loop().call_soon(lambda: self._spawn(self._reslot(channel)))
        return await waiter

    async def _reslot(self, channel: str) -> None:
        waiters, self._late[channel] = self._late[channel], []
        try:
            slots = await queue.reserve(self.store, channel, self.settings.limits[channel], len(waiters))
        except Exception as exc:
            for w in waiters:
                w.set_exception(exc)
            return
        for w, slot in zip(waiters, slots, strict=True):
            w.set_result(slot)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, done: asyncio.Event) -> None:
        """Settle finished sends: everything that piled up during the last commit goes in the next one."""
        while True:
            await self._have_outcomes.wait()
            self._have_outcomes.clear()
            for channel in list(self._outcomes):
                batch, self._outcomes[channel] = self._outcomes[channel], []
                while True:
                    try:
                        await queue.settle(self.store, self.name, batch, channel=channel,
                                           max_attempts=self.settings.max_attempts,
                                           backoff_base=self.settings.backoff_seconds,
                                           backoff_cap=self.settings.backoff_max_seconds)
                        break
                    except Exception:  # keep the outcomes; the lease protects the rows meanwhile
                        log.exception("recording %d outcomes failed; retrying", len(batch))
                        await asyncio.sleep(0.5)
            if done.is_set() and not any(self._outcomes.values()):
                return

    # --- helpers ---------------------------------------------------------

    async def _broadcast(self, broadcast_id: int) -> Broadcast:
        b = self._broadcasts.get(broadcast_id)
        if b is None:
            b = await queue.get(self.store, broadcast_id)
            if b is None:
                raise LookupError(f"broadcast {broadcast_id} vanished")
            self._broadcasts[broadcast_id] = b
        return b

    async def _scheduled_due(self) -> bool:
        from sqlalchemy import select

        from bot.broadcast.models import SCHEDULED

        async with self.store.session() as s:
            stmt = select(Broadcast.id).where(Broadcast.status == SCHEDULED, Broadcast.due_at <= time.time())
            return (await s.execute(stmt.limit(1))).first() is not None

    async def _report(self, broadcast_id: int) -> None:
        """Push the counts to the author: at the end, and every report interval while sending."""
        final = await queue.finish(self.store, broadcast_id)
        if not final and not await queue.report_due(self.store, broadcast_id, self.settings.report_every_seconds):
            return
        broadcast = await queue.get(self.store, broadcast_id)
        if broadcast is None:
            return
        counts = await queue.counts(self.store, broadcast_id)
        if final:
            log.info("broadcast %s done: %s", broadcast_id, counts)
        channel = broadcast.report_channel or ""
        desk, sender = self.desks.get(channel), self.senders.get(channel)
        place = broadcast.report_chat
        if (desk is None and sender is None) or not place or channel not in self.settings.limits:
            return
        text = report(broadcast, counts, self.catalogs.get(None), final)
        for _attempt in range(3):
            try:
                # Reports share the platform's rate with the deliveries: take a slot like they do.
                delay = (await queue.reserve(self.store, channel, self.settings.limits[channel]))[0] - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if desk is not None:
                    await desk.post(place, text)
                elif sender is not None:
                    await sender.send(place, [Reply(text)])
                return
            except DeliveryError as exc:
                if exc.retry_after is None:
                    log.warning("report for broadcast %s not delivered: %s", broadcast_id, exc)
                    return
                await asyncio.sleep(exc.retry_after)
            except Exception as exc:  # a lost progress report must not stop the deliveries
                log.warning("report for broadcast %s not delivered: %s", broadcast_id, exc)
                return
