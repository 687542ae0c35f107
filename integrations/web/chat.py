"""The web chat channel: the JSON API of INTERFACES.md and the chat page, on aiohttp."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from bot.senders import SenderRegistry
from bot.pipeline import Pipeline
from bot.storage.store import Store
from kernel.messages import Incoming, Reply, ResidentKey, TurnResult

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_TEXT = 4096
MAX_USER = 128
MAX_PAYLOAD = 128
MAX_ACK = 256
PIPELINE = web.AppKey("pipeline", Pipeline)
STORE = web.AppKey("store", Store)
LIMITER = web.AppKey("limiter", "FloodLimiter")
SENDERS = web.AppKey("senders", SenderRegistry)


class FloodLimiter:
    """At most `limit` messages per resident in any `window` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, user: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self._seen.setdefault(user, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self._seen) > 100_000:  # forget idle residents so memory stays bounded
            for key in [k for k, v in self._seen.items() if not v or now - v[-1] > self.window]:
                del self._seen[key]
        return True


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def parse_chat_request(body: object) -> Incoming | str:
    """The Incoming of a valid /api/chat body, or a plain explanation of what is wrong."""
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    user = body.get("user")
    if not isinstance(user, str) or not user.strip():
        return "'user' is required: a non-empty string that identifies the resident."
    if len(user) > MAX_USER:
        return f"'user' must be at most {MAX_USER} characters."
    text, payload = body.get("text"), body.get("payload")
    if (text is None) == (payload is None):
        return "Send exactly one of 'text' (what the resident typed) or 'payload' (a button pressed)."
    if text is not None and not isinstance(text, str):
        return "'text' must be a string."
    if payload is not None and (not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD):
        return f"'payload' must be a non-empty string of at most {MAX_PAYLOAD} characters."
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return f"'text' is too long: at most {MAX_TEXT} characters."
    lang = body.get("lang")
    if lang is not None and lang not in ("vi", "en"):
        return "'lang' must be \"vi\" or \"en\"."
    return Incoming(who=ResidentKey("web", user), text=text, payload=payload, language=lang)


def replies_json(replies: Iterable[Reply]) -> list[dict[str, object]]:
    return [{"text": r.text, "buttons": [{"label": b.label, "payload": b.payload} for b in r.flat_buttons()]}
            for r in replies]


def result_json(result: TurnResult, waiting: Iterable[Reply] = ()) -> dict[str, object]:
    """The answer to a turn; messages that waited for the resident (a team's answer) come first."""
    return {"replies": replies_json([*waiting, *result.replies]), "state": result.state.as_dict()}


async def chat(request: web.Request) -> web.Response:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad("The body is not valid JSON.")
    incoming = parse_chat_request(body)
    if isinstance(incoming, str):
        return _bad(incoming)
    ack = body.get("ack")
    if ack is not None and (not isinstance(ack, str) or len(ack) > MAX_ACK):
        return _bad(f"'ack' must be the string a previous answer gave (at most {MAX_ACK} characters).")
    if not request.app[LIMITER].allow(incoming.who.user_id):
        return web.json_response({"error": "Too many messages. Please wait a few seconds and try again."},
                                 status=429, headers={"Retry-After": str(int(request.app[LIMITER].window))})
    result = await request.app[PIPELINE].handle(incoming)
    waiting, cursor = await request.app[SENDERS].collect("web", incoming.who.user_id, ack)
    answer = result_json(result, waiting)
    if cursor is not None:
        answer["ack"] = cursor
    return web.json_response(answer, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def poll(request: web.Request) -> web.Response:
    """Messages that arrived for the resident (a team member's answer). With `ack` (the cursor of the last
    answer, "" at first) they come again until acknowledged; without it each comes once."""
    user = request.query.get("user", "")
    if not user.strip() or len(user) > MAX_USER:
        return _bad(f"'user' is required: a non-empty string of at most {MAX_USER} characters.")
    ack = request.query.get("ack")
    if ack is not None and len(ack) > MAX_ACK:
        return _bad(f"'ack' must be the string a previous answer gave (at most {MAX_ACK} characters).")
    replies, cursor = await request.app[SENDERS].collect("web", user, ack)
    answer: dict[str, object] = {"replies": replies_json(replies)}
    if cursor is not None:
        answer["ack"] = cursor
    return web.json_response(answer, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html")


async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except Exception as exc:  # any database failure means "not healthy"
        log.warning("health check failed: %s", exc)
        return web.json_response({"status": "error", "error": "database unreachable"}, status=503)
    return web.json_response({"status": "ok"})


def make_web_app(pipeline: Pipeline, store: Store, limiter: FloodLimiter,
                 senders: SenderRegistry | None = None) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[PIPELINE] = pipeline
    app[SENDERS] = senders if senders is not None else SenderRegistry()
    app[STORE] = store
    app[LIMITER] = limiter
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/chat/poll", poll)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static", STATIC)
    return app
