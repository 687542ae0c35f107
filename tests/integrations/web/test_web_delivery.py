"""The web chat's answers lost on the way (a real HTTP server, a proxy that drops the answer): the turn's replies
wait in the outbox until the page acknowledges them, so nothing is lost and nothing comes twice."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import Services
from bot.history import ChatHistory
from bot.storage.db import Message, Resident
from bot.storage.outbox import REPLY, Outbox
from bot.storage.residents import Residents
from integrations.web.chat import WebLimits, make_web_app, resident_of
from tests.fakes.tcp_proxy import SwallowingProxy


@pytest.fixture
async def server(aiohttp_server: Any, services: Services) -> TestServer:
    app = make_web_app(services.pipeline, services.store, Residents(services.store), WebLimits.off(),
                       services.mailboxes, ChatHistory(services.pipeline), services.catalogs)
    served: TestServer = await aiohttp_server(app)
    return served


async def post(http: aiohttp.ClientSession, port: int, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(f"http://127.0.0.1:{port}/api/chat", json=body) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
        return answer


async def get(http: aiohttp.ClientSession, port: int, path: str, **params: str) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{port}{path}", params=params) as r:
        assert r.status == 200
        answer: dict[str, Any] = await r.json()
        return answer


async def lose(port: int, body: dict[str, Any]) -> None:
    """The request reaches the server, which answers; the answer never comes back."""
    proxy = SwallowingProxy(port)
    await proxy.start()
    async with aiohttp.ClientSession() as http:
        async def send() -> None:
            async with http.post(f"http://127.0.0.1:{proxy.port}/api/chat", json=body) as r:
                await r.read()
        lost = asyncio.create_task(send())
        try:
            await asyncio.wait_for(proxy.forwarded.wait(), 30)
        finally:
            lost.cancel()
            await proxy.stop()


async def out_texts(services: Services, session: str) -> list[str | None]:
    """Every reply the assistant stored for the resident, in order."""
    async with services.store.session() as s:
        return list((await s.execute(select(Message.text).join(Resident, Resident.id == Message.resident_id)
                                     .where(Resident.platform_id == resident_of(session), Message.direction == "out")
                                     .order_by(Message.id))).scalars())


async def statuses(services: Services, session: str) -> list[str]:
    async with services.store.session() as s:
        return list((await s.execute(select(Outbox.status).where(Outbox.chat_id == resident_of(session),
                                                                 Outbox.kind == REPLY).order_by(Outbox.id))).scalars())


async def test_a_lost_answer_comes_with_the_next_poll_or_the_retry_and_never_twice(server: TestServer,
                                                                                  services: Services) -> None:
    port = server.port
    assert port is not None
    shown: list[str] = []
    async with aiohttp.ClientSession() as http:
        first = await post(http, port, {"text": "xin chào", "id": "c-0", "ack": ""})
        session, cursor = first["session"], first["ack"]
        shown += [r["text"] for r in first["replies"]]
        await lose(port, {"session": session, "text": "cài vneid", "id": "c-1", "ack": cursor})
        # The page polls with the cursor it has: the lost replies come, again until acknowledged.
        polled = await get(http, port, "/api/chat/poll", session=session, ack=cursor)
        assert any("VNeID" in r["text"] for r in polled["replies"]) and polled["ack"] != cursor
        assert (await get(http, port, "/api/chat/poll", session=session, ack=cursor))["replies"] == polled["replies"]
        shown += [r["text"] for r in polled["replies"]]
        assert (await get(http, port, "/api/chat/poll", session=session, ack=polled["ack"]))["replies"] == []
        step = polled["replies"][-1]["buttons"][0]["payload"]
        # Lost again; this time the page sends the message again with its id and the cursor it had.
        body = {"session": session, "payload": step, "id": "c-2", "ack": polled["ack"]}
        await lose(port, body)
        retried = await post(http, port, body)
        assert retried["replies"] and retried == await post(http, port, body)  # the same answer each time
        shown += [r["text"] for r in retried["replies"]]
        following = await post(http, port, {"session": session, "text": "cảm ơn", "id": "c-3", "ack": retried["ack"]})
        shown += [r["text"] for r in following["replies"]]
        await services.replies.drain()  # the acknowledgements are written together, a moment later
        assert await statuses(services, session) == ["delivered"] * (len(shown) - len(following["replies"])) + [
            "pending"] * len(following["replies"])  # the last answer waits for the page's next request
        assert (await get(http, port, "/api/chat/poll", session=session, ack=following["ack"]))["replies"] == []
        await services.replies.drain()
    assert shown == await out_texts(services, session)  # every reply once, in order
    assert set(await statuses(services, session)) == {"delivered"}


async def test_a_reloaded_page_sees_a_lost_answer_in_the_history_once(server: TestServer, services: Services) -> None:
    port = server.port
    assert port is not None
    async with aiohttp.ClientSession() as http:
        first = await post(http, port, {"text": "xin chào", "id": "c-0", "ack": ""})
        session, cursor = first["session"], first["ack"]
        await lose(port, {"session": session, "text": "cài vneid", "id": "c-1", "ack": cursor})
        past = await get(http, port, "/api/chat/history", session=session)
        assert past["answered"] == ["c-0", "c-1"]  # the page does not send them again
        assert [m["text"] for m in past["messages"] if m["from"] == "assistant"] == await out_texts(services, session)
        # Shown by the history: the page's poll (or its first request with its old cursor) does not bring it again.
        assert (await get(http, port, "/api/chat/poll", session=session, ack=cursor))["replies"] == []
        assert (await get(http, port, "/api/chat/poll", session=session, ack=""))["replies"] == []
        # A client that sends no cursor gets its own replies in the answer, and never from the mailbox.
        plain = await post(http, port, {"session": session, "text": "cảm ơn", "id": "c-2"})
        assert plain["replies"] and "ack" not in plain
        assert (await get(http, port, "/api/chat/poll", session=session))["replies"] == []
