"""One resident's turns run one at a time, in order, even when two processes' pipelines take them at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import Services, build
from bot.storage.db import Conversation, Message
from dialogues.flows import Library
from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter


async def _two_processes(settings: Settings, url: str, interpreter: EmbeddedInterpreter,
                         library: Library) -> tuple[Services, Services]:
    """Two sets of services as two processes have them: their own engine, pool, pipeline and in-memory locks."""
    cfg = replace(settings, database_url=url)
    return (await build(cfg, interpreter=interpreter, library=library),
            await build(cfg, interpreter=interpreter, library=library))


async def test_concurrent_presses_through_two_pipelines_each_move_one_step(
        settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, project_library: Library) -> None:
    a, b = await _two_processes(settings, database_url, interpreter, project_library)
    who = ResidentKey("web", "order-1")
    try:
        start = await a.pipeline.handle(Incoming(who, payload="flow:vneid_register", message_id="m0"))
        assert (start.state.flow, start.state.step) == ("vneid_register", 1)
        # Six "done" presses at once, alternately through each process: without a lock shared by the
        # processes two of them read step N and both answer step N+1 (a lost update).
        presses = [(a if i % 2 else b).pipeline.handle(Incoming(who, payload="done", message_id=f"m{i}"))
                   for i in range(1, 7)]
        results = await asyncio.gather(*presses)
        assert sorted(r.state.step or 0 for r in results) == [2, 3, 4, 5, 6, 7]
        assert all(not r.duplicate and r.replies for r in results)
        final = await b.pipeline.handle(Incoming(who, payload="resume", message_id="m7"))
        assert (final.state.flow, final.state.step) == ("vneid_register", 7)
        async with a.store.session() as s:
            turns = (await s.execute(select(Conversation.turns))).scalar_one()
            ins = (await s.execute(select(func.count()).select_from(Message)
                                   .where(Message.direction == "in"))).scalar_one()
        assert turns == ins == 8
    finally:
        await a.close()
        await b.close()


async def test_the_same_message_through_two_pipelines_at_once_is_applied_once(
        settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, project_library: Library) -> None:
    a, b = await _two_processes(settings, database_url, interpreter, project_library)
    who = ResidentKey("web", "order-2")
    try:
        await a.pipeline.handle(Incoming(who, payload="flow:vneid_register", message_id="x0"))
        # A client retrying one message id against two processes (a load balancer): one turn, one duplicate.
        first, second = await asyncio.gather(
            a.pipeline.handle(Incoming(who, payload="done", message_id="x1")),
            b.pipeline.handle(Incoming(who, payload="done", message_id="x1")))
        assert sorted([first.duplicate, second.duplicate]) == [False, True]
        assert first.replies and first.replies == second.replies  # the retry gets the saved answer again
        async with a.store.session() as s:
            assert (await s.execute(select(Conversation.turns))).scalar_one() == 2
    finally:
        await a.close()
        await b.close()
