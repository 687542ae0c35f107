"""A web chat client for tests and benches: residents by label, each keeping the session token the server
issued, as the chat page keeps its cookie (the label itself never selects a resident)."""

from __future__ import annotations

from typing import Any

import aiohttp


class WebChat:
    """Talks to `/api/chat` at `base` ("http://127.0.0.1:8080") through an aiohttp session (or a TestClient).
    With `ack`, each resident sends the cursor of their last answer as the chat page does ("" at first): the
    turns' replies then wait in the outbox until the next request acknowledges them."""

    def __init__(self, http: Any, base: str = "", ack: bool = False) -> None:
        self.http = http
        self.base = base
        self.sessions: dict[str, str] = {}
        self.acks: dict[str, str] | None = {} if ack else None

    def who(self, label: str) -> str:
        """The resident id behind a label's session (for reading the database in a test)."""
        from integrations.web.chat import resident_of

        return resident_of(self.sessions[label])

    async def post(self, label: str, **body: Any) -> tuple[int, dict[str, Any]]:
        """One request as the resident called `label`: the status and the JSON answer. The session goes in
        the body ("" for a label not seen yet), so the client's cookie jar never mixes residents."""
        body = {"session": self.sessions.get(label, ""), **body}
        if self.acks is not None:
            body.setdefault("ack", self.acks.get(label, ""))
        async with self.http.post(f"{self.base}/api/chat", json=body) as r:
            answer = await r.json(content_type=None)
            status = r.status
        if status == 200:
            self.sessions[label] = answer["session"]
            if self.acks is not None and "ack" in answer:
                self.acks[label] = answer["ack"]
        return status, answer

    async def chat(self, label: str, **body: Any) -> dict[str, Any]:
        """A request that must succeed: its answer."""
        status, answer = await self.post(label, **body)
        assert status == 200, (status, answer)
        return answer

    async def poll(self, label: str, ack: str | None = None) -> tuple[int, dict[str, Any]]:
        params = {"session": self.sessions.get(label, "")}
        if ack is not None:
            params["ack"] = ack
        async with self.http.get(f"{self.base}/api/chat/poll", params=params) as r:
            return r.status, await r.json(content_type=None)


def client_session(limit: int = 100) -> aiohttp.ClientSession:
    """A session without a cookie jar: every resident's identity travels in the body."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), cookie_jar=aiohttp.DummyCookieJar())
