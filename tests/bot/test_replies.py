"""A turn's replies through the outbox (bot/replies.py): sent after commit, retried by the worker in order,
sent once more for a redelivered message whose replies were not delivered, answered again on the web."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest_asyncio
from aiohttp import web
from sqlalchemy import func, select, update

from bot.app import Services, telegram_channel
from bot.storage.db import utcnow
from bot.storage.outbox import DELIVERED, PENDING, REPLY, Outbox
from kernel.messages import Incoming, Reply, ResidentKey
from kernel.settings import Settings
from tests.fakes.broadcast import RecordingSender
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram

TG = ResidentKey("telegram", "501")


@pytest_asyncio.fixture
async def core(settings: Settings, database_url: str, interpreter: Any) -> AsyncIterator[Services]:
    """The real services on SQLite and PostgreSQL (the workers are not started: tests run them by hand)."""
    built = await build_services(replace(settings, database_url=database_url), interpreter=interpreter)
    yield built
    await built.close()


def sender_for(services: Services) -> RecordingSender:
    sender = RecordingSender(channel="telegram")
    services.senders.register(sender)
    return sender


async def rows(services: Services, who: ResidentKey = TG) -> list[Outbox]:
    async with services.store.session() as s:
        return list((await s.execute(select(Outbox).where(Outbox.chat_id == who.user_id, Outbox.kind == REPLY)
                                     .order_by(Outbox.id))).scalars())


async def test_replies_are_sent_after_commit_with_their_position_and_marked_delivered(core: Services) -> None:
    sender = sender_for(core)
    result = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    assert result.delivered and result.replies  # the core sends them: the channel must not
    await core.replies.drain()
    assert sender.received["501"] == list(result.replies)
    saved = await rows(core)
    assert [r.text for r in saved] == [r.text for r in result.replies]
    assert {(r.status, r.source, r.at) for r in saved} == {(DELIVERED, "tg:1", result.at)}


async def test_a_failed_send_is_retried_by_the_worker_and_later_turns_wait_behind_it(core: Services) -> None:
    sender = sender_for(core)
    sender.flaky["501"] = 1  # the first send fails (a network fault)
    first = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    assert sender.received["501"] == []
    second = await core.pipeline.handle(Incoming(TG, payload="menu", message_id="tg:2"))
    await core.replies.drain()
    assert sender.received["501"] == []  # queued behind the first turn's replies, not overtaking them
    await core.metrics.refresh(core.store)  # /metrics: the replies waiting
    waiting = core.metrics.registry.get_sample_value("assistant_outbox_pending", {"audience": "reply"})
    assert waiting == len(first.replies) + len(second.replies)
    async with core.store.writing() as s:  # the back-off has passed
        await s.execute(update(Outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    while await core.outbox.run_once():
        pass
    assert sender.received["501"] == [*first.replies, *second.replies]
    assert {r.status for r in await rows(core)} == {DELIVERED}
    third = await core.pipeline.handle(Incoming(TG, text="cảm ơn", message_id="tg:3"))
    await core.replies.drain()  # nothing is behind any more: sent at once again
    assert sender.received["501"][-len(third.replies):] == list(third.replies)


async def test_a_redelivered_message_sends_its_undelivered_replies_once(core: Services) -> None:
    sender = sender_for(core)
    first = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    # As if the process had died before the platform accepted them: pending, the lease run out.
    async with core.store.writing() as s:
        await s.execute(update(Outbox).values(status=PENDING, delivered_at=None,
                                              next_attempt_at=utcnow() - timedelta(seconds=1)))
    sender.received.clear()
    again = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    assert again.duplicate and again.delivered and again.at == first.at
    assert sender.received["501"] == list(first.replies)
    once_more = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    assert once_more.duplicate and not once_more.replies
    assert sender.received["501"] == list(first.replies)
    async with core.store.session() as s:
        turns = (await s.execute(select(func.count()).select_from(Outbox))).scalar_one()
    assert turns == len(first.replies)  # no second turn


async def test_a_redelivery_leaves_replies_still_leased_to_their_sender(core: Services) -> None:
    sender = sender_for(core)
    await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    async with core.store.writing() as s:  # still being sent by someone (the lease runs)
        await s.execute(update(Outbox).values(status=PENDING, next_attempt_at=utcnow() + timedelta(seconds=30)))
    sender.received.clear()
    again = await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    assert again.duplicate and not again.replies and sender.received["501"] == []


async def test_web_replies_wait_in_the_mailbox_until_acknowledged_and_a_retry_gets_them(core: Services) -> None:
    web = ResidentKey("web", "w" * 40)
    first = await core.pipeline.handle(Incoming(web, text="cài vneid", message_id="c-1"))
    assert first.delivered  # kept in the outbox: the page collects them with the answer
    again = await core.pipeline.handle(Incoming(web, text="cài vneid", message_id="c-1"))
    assert again.duplicate and again.delivered and again.replies == first.replies and again.at == first.at
    saved = await rows(core, web)
    assert {r.status for r in saved} == {PENDING}
    # Never due: the outbox worker's scan of due rows does not wade through the pages' replies.
    assert all(r.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None) + timedelta(hours=23)
               for r in saved)
    waiting, cursor = await core.mailboxes.collect("web", web.user_id, "")
    assert waiting == list(first.replies) and cursor is not None
    assert (await core.mailboxes.collect("web", web.user_id, ""))[0] == waiting  # the answer was lost: again
    assert (await core.mailboxes.collect("web", web.user_id, cursor))[0] == []
    await core.replies.drain()  # the acknowledgements are written together, a moment later
    assert {r.status for r in await rows(core, web)} == {DELIVERED}
    assert (await core.mailboxes.collect("web", web.user_id))[0] == []  # nothing for a client without a cursor
    plain = await core.pipeline.handle(Incoming(web, text="cảm ơn"))  # no id: nothing to retry, nothing kept
    assert plain.replies and not plain.delivered and len(await rows(core, web)) == len(first.replies)


async def test_uncollected_web_replies_are_pruned_after_a_day_and_shown_ones_settled(core: Services) -> None:
    web = ResidentKey("web", "w" * 40)
    await core.pipeline.handle(Incoming(web, text="cài vneid", message_id="c-1"))
    await core.replies.shown(web)  # a reloaded page showed them in the history
    assert {r.status for r in await rows(core, web)} == {DELIVERED}
    await core.pipeline.handle(Incoming(web, text="cảm ơn", message_id="c-2"))
    await core.replies.prune(utcnow() + timedelta(days=1))
    assert await rows(core, web) == []  # a page that never came back leaves nothing behind


async def test_forgetting_deletes_saved_replies_but_sends_the_last_answer(core: Services) -> None:
    sender = sender_for(core)
    await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    result = await core.pipeline.handle(Incoming(TG, payload="forget:yes", message_id="tg:2"))
    await core.replies.drain()
    assert result.forgotten and sender.received["501"][-1] == result.replies[-1]
    assert [r.source for r in await rows(core)] == ["tg:2"] * len(result.replies)


async def test_settled_replies_are_pruned_after_a_day(core: Services) -> None:
    sender_for(core)
    await core.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
    await core.replies.drain()
    await core.replies.prune()
    assert await rows(core)  # kept for a redelivery
    core.replies.clock = lambda: utcnow() + timedelta(minutes=30)
    await core.replies.prune()  # pruned within the hour: not scanned again yet
    assert await rows(core)
    core.replies.clock = lambda: utcnow() + timedelta(days=1, minutes=1)
    await core.replies.prune()
    assert await rows(core) == []


@dataclass
class FirstHeld(RecordingSender):
    """A platform that holds the first send until released: those replies are on the way for as long as the
    test needs, however slowly a busy machine runs it."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0

    async def send(self, user_id: str, replies: Sequence[Reply], at: str | None = None) -> None:
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
        await super().send(user_id, replies, at)


async def test_on_postgresql_another_process_does_not_overtake_replies_on_the_way(
        settings: Settings, postgres_url: str, interpreter: Any) -> None:
    """Two processes on one database serve one resident's turns one after the other: the second turn's
    replies wait for the first's, still being sent by the other process, and come after them."""
    one = await build_services(replace(settings, database_url=postgres_url), interpreter=interpreter)
    two = await build_services(replace(settings, database_url=postgres_url), interpreter=interpreter)
    try:
        sender = FirstHeld(channel="telegram")
        one.senders.register(sender)
        two.senders.register(sender)
        first = await one.pipeline.handle(Incoming(TG, text="xin chào", message_id="tg:1"))
        while sender.calls == 0:  # the first turn's replies are on the way
            await asyncio.sleep(0.01)
        second = await two.pipeline.handle(Incoming(TG, payload="menu", message_id="tg:2"))
        await two.replies.drain()
        assert sender.calls == 1 and sender.received["501"] == []  # not sent before the first turn's replies
        sender.release.set()
        await one.replies.drain()
        assert sender.received["501"] == list(first.replies)
        while await two.outbox.run_once():
            pass
        assert sender.received["501"] == [*first.replies, *second.replies]
    finally:
        await one.close()
        await two.close()


async def test_telegram_replies_sent_by_the_core_carry_the_position_and_go_once(
        core: Services, fake_telegram: FakeTelegram) -> None:
    """Through python-telegram-bot and the fake Bot API: the channel registered, the core sends the turn's
    replies (once, not also the channel), and each button's callback data carries the turn's position, so
    an old button press is still recognised as stale."""
    fake_telegram.add_user(777)
    channel = telegram_channel(core, replace(TELEGRAM, token=fake_telegram.token, api_url=fake_telegram.base_url,
                                             poll_timeout=1))
    await channel.open()
    core.attach([channel])
    await channel.start(web.Application())
    try:
        fake_telegram.inject_message(777, "cài vneid")
        await fake_telegram.wait_for(777, 1)
        await fake_telegram.wait_idle()
        sent = fake_telegram.sent_to(777)
        await core.replies.drain()
        saved = await rows(core, ResidentKey("telegram", "777"))
    finally:
        await channel.stop()
    assert [m.text for m in sent] == [r.text for r in saved]  # each reply once
    at = saved[-1].at
    assert at and all(b["callback_data"].endswith(f"|{at}") for row in sent[-1].buttons for b in row)
    assert {r.status for r in saved} == {DELIVERED}
