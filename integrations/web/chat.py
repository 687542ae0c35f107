"""The web chat channel: the JSON API of INTERFACES.md and the chat page, on aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from aiohttp import web

from integrations.web.guard import HEALTH, harden
from integrations.web.history import History
from integrations.web.limits import FloodLimiter, WebLimits, address_key
from integrations.web.page import HISTORY, PAGE_STRINGS, STATIC, index, manifest, page_strings, service_worker
from kernel.edge import Refused, clean_text, parse_json, token
from kernel.i18n import Catalogs
from kernel.messages import Incoming, Reply, ResidentKey, TurnResult
from kernel.ports import HealthCheck, Mailboxes, Turns

log = logging.getLogger(__name__)
MAX_TEXT = 4096
MAX_USER = 128
MAX_PAYLOAD = 128
MAX_ACK = 256
MAX_AT = 16  # TurnResult.at: 8 hex characters
MAX_LOCALE = 35  # the browser's language tag (BCP 47), a hint only
MAX_ID = 64  # a client message id is stored as the message's platform id (64 characters)
BUSY_RETRY_SECONDS = 5  # the chat page sends a refused message again after 5 s, whatever this says
COOKIE = "chat_session"
COOKIE_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
_SESSION = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
TURNS = web.AppKey("turns", Turns)
LIMITS = web.AppKey("limits", WebLimits)
MAILBOXES = web.AppKey("mailboxes", Mailboxes)
RESIDENTS: web.AppKey[KnownResidents] = web.AppKey("residents")
REPLAYS: web.AppKey[Replays] = web.AppKey("replays")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["FloodLimiter", "WebLimits", "make_web_app", "new_session", "resident_of", "COOKIE"]


class KnownResidents(Protocol):
    """Whether a resident exists (kernel.ports.ResidentDirectory.known, bot.storage.residents)."""

    async def known(self, who: ResidentKey) -> bool: ...


def new_session() -> str:
    """A fresh session token: 256 random bits, given only to the client that started the resident."""
    return secrets.token_urlsafe(32)


def resident_of(session: str) -> str:
    """The resident's id behind a session token. Only a hash is stored, so reading the database (or a
    hand-off card naming the resident) gives no one a token to act as the resident."""
    return hashlib.sha256(f"web-session:{session}".encode()).hexdigest()[:40]


class Replays:
    """Answers by (resident, client message id), so a retried POST gets the first answer again, also
    while the first is still running. Bounded: the oldest answers are forgotten first (the pipeline
    still applies a turn at most once per id after that, and the outbox keeps the replies not
    acknowledged). An answer is kept as its encoded body: a third of the memory of the dicts, and at
    100 turns a second the 10,000 kept before were 8 MB of the server's 16 MB growth in a bench run."""

    def __init__(self, size: int = 1_000) -> None:
        self.size = size
        self._answers: OrderedDict[tuple[str, str], asyncio.Future[bytes]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> asyncio.Future[bytes] | None:
        return self._answers.get(key)

    def start(self, key: tuple[str, str]) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return future

    def fail(self, key: tuple[str, str], exc: BaseException) -> None:
        future = self._answers.pop(key, None)
        if future is not None and not future.done():
            future.set_exception(exc)
            future.exception()  # retrieved: a retry that is not waiting must not log "never retrieved"


def _busy() -> web.Response:
    return web.json_response({"error": "The assistant is busy. Please try again in a few seconds."}, status=503,
                             headers={"Retry-After": str(BUSY_RETRY_SECONDS)})


def _gated(handler: Handler) -> Handler:
    """The handler, refused at once (503) while the backlog is full (integrations/web/limits.py, Backlog)."""

    async def gated(request: web.Request) -> web.StreamResponse:
        backlog = request.app[LIMITS].backlog
        if not backlog.admit():
            return _busy()
        try:
            return await handler(request)
        finally:
            backlog.done()

    return gated


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _json(answer: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(answer, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _encoded(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def _too_many(wait: float) -> web.Response:
    return web.json_response({"error": "Too many messages. Please wait a few seconds and try again."},
                             status=429, headers={"Retry-After": str(int(wait))})


def parse_chat_request(body: object) -> dict[str, Any]:
    """The checked fields of a /api/chat body (text cleaned at the edge); raises Refused with a plain
    explanation of what is wrong."""
    if not isinstance(body, dict):
        raise Refused("The body must be a JSON object.")
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > MAX_USER):
        raise Refused(f"'user' (a label for a new resident) must be a string of at most {MAX_USER} characters.")
    text, payload = body.get("text"), body.get("payload")
    if (text is None) == (payload is None):
        raise Refused("Send exactly one of 'text' (what the resident typed) or 'payload' (a button pressed).")
    if text is not None and not isinstance(text, str):
        raise Refused("'text' must be a string.")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise Refused(f"'text' is too long: at most {MAX_TEXT} characters.")
    if payload is not None:
        token(payload, "payload", MAX_PAYLOAD)
    lang = body.get("lang")
    if lang is not None and lang not in ("vi", "en"):
        raise Refused("'lang' must be \"vi\" or \"en\".")
    session = body.get("session")
    if session is not None and (not isinstance(session, str) or len(session) > MAX_USER):
        raise Refused("'session' must be the string a previous answer gave.")
    ack, message_id = body.get("ack"), body.get("id")
    if ack is not None and (not isinstance(ack, str) or len(ack) > MAX_ACK):
        raise Refused(f"'ack' must be the string a previous answer gave (at most {MAX_ACK} characters).")
    if ack:
        token(ack, "ack", MAX_ACK)
    if message_id is not None:
        token(message_id, "id", MAX_ID)
    at, locale = body.get("at"), body.get("locale") or None  # a browser may not say its language
    if at is not None:
        token(at, "at", MAX_AT)
    if locale is not None:
        token(locale, "locale", MAX_LOCALE)
    return {"text": clean_text(text) if isinstance(text, str) else None, "payload": payload, "lang": lang,
            "session": session, "ack": ack, "id": message_id, "at": at, "locale": locale}


def replies_json(replies: Iterable[Reply]) -> list[dict[str, object]]:
    return [{"text": r.text, "buttons": [{"label": b.label, "payload": b.payload} for b in r.flat_buttons()]}
            for r in replies]


def result_json(result: TurnResult, waiting: Iterable[Reply] = (), own: bool = True) -> dict[str, object]:
    """The answer to a turn; messages that waited for the resident (a team's answer) come first, then the
    turn's replies unless `own` is false (they are among the waiting ones). `at` is the position the
    replies' buttons answer (sent back with a press); `stale` marks an ignored press."""
    answer: dict[str, object] = {"replies": replies_json([*waiting, *(result.replies if own else ())]),
                                 "state": result.state.as_dict(), "at": result.at}
    if result.stale:
        answer["stale"] = True
    return answer


async def _resident(request: web.Request, session: str | None) -> tuple[str, bool]:
    """The session token to answer with and whether it starts a new resident: a token the server
    does not know (never issued, or its resident asked to be forgotten) starts a new one."""
    if (session and _SESSION.fullmatch(session)
            and await request.app[RESIDENTS].known(ResidentKey("web", resident_of(session)))):
        return session, False
    return new_session(), True


def _with_cookie(response: web.Response, request: web.Request, session: str) -> web.Response:
    if request.cookies.get(COOKIE) != session:
        response.set_cookie(COOKIE, session, max_age=COOKIE_AGE, path="/", httponly=True, samesite="Strict",
                            secure=request.secure)
    return response


async def chat(request: web.Request) -> web.Response:
    try:
        fields = parse_chat_request(parse_json(await request.read(), request.charset))
    except Refused as exc:
        return _bad(str(exc))
    limits, address = request.app[LIMITS], address_key(request.remote)
    wait = limits.refuse_address(address)
    if wait is not None:
        return _too_many(wait)
    # The field, when sent, wins over the cookie ("" asks for a new resident).
    asked = fields["session"] if fields["session"] is not None else request.cookies.get(COOKIE)
    session, new = await _resident(request, asked)
    user_id = resident_of(session)
    wait = limits.refuse_resident(address, user_id, new)
    if wait is not None:
        return _too_many(wait)
    key = (user_id, fields["id"]) if fields["id"] else None
    replays: Replays = request.app[REPLAYS]
    earlier = replays.get(key) if key else None
    if earlier is not None:
        return _with_cookie(_encoded(await asyncio.shield(earlier)), request, session)
    future = replays.start(key) if key else None
    try:
        incoming = Incoming(who=ResidentKey("web", user_id), text=fields["text"], payload=fields["payload"],
                            language=fields["lang"], message_id=fields["id"], platform_language=fields["locale"],
                            at=fields["at"] if fields["payload"] is not None else None)
        result = await request.app[TURNS].handle(incoming)
        waiting, cursor = await request.app[MAILBOXES].collect("web", user_id, fields["ack"])
    except BaseException as exc:
        if key:
            replays.fail(key, exc)
        raise
    # Replies kept in the outbox (`delivered`) wait in the mailbox like a team's answer: with a cursor they
    # are collected above, after what waited before them, until acknowledged.
    own = not result.delivered or fields["ack"] is None
    answer: dict[str, Any] = {"session": session, **result_json(result, waiting, own)}
    if cursor is not None:
        answer["ack"] = cursor
    body = json.dumps(answer, ensure_ascii=False).encode()
    if future is not None:
        future.set_result(body)
    return _with_cookie(_encoded(body), request, session)


async def poll(request: web.Request) -> web.Response:
    """Messages that arrived for the resident (a team member's answer). With `ack` (the cursor of the last
    answer, "" at first) they come again until acknowledged; without it each comes once."""
    session = request.query["session"] if "session" in request.query else request.cookies.get(COOKIE)
    if not session:
        return _bad("'session' is required: the token an answer of POST /api/chat gave (or its cookie).")
    ack = request.query.get("ack")
    if ack:
        try:
            token(ack, "ack", MAX_ACK)
        except Refused as exc:
            return _bad(str(exc))
    limits = request.app[LIMITS]
    wait = limits.refuse_address(address_key(request.remote))
    if wait is not None:
        return _too_many(wait)
    if not _SESSION.fullmatch(session) or not await request.app[RESIDENTS].known(
            ResidentKey("web", resident_of(session))):
        return _json({"replies": []})  # nothing waits for a resident that does not exist
    replies, cursor = await request.app[MAILBOXES].collect("web", resident_of(session), ack)
    answer: dict[str, object] = {"replies": replies_json(replies)}
    if cursor is not None:
        answer["ack"] = cursor
    return _json(answer)


async def chat_history(request: web.Request) -> web.Response:
    """The resident's own conversation (redacted as stored) and the guide left open; empty for a session
    the server does not know (a first visit)."""
    session = request.query["session"] if "session" in request.query else request.cookies.get(COOKIE)
    locale = request.query.get("locale") or None  # a browser may not say
    if locale is not None:
        try:
            token(locale, "locale", MAX_LOCALE)
        except Refused as exc:
            return _bad(str(exc))
    wait = request.app[LIMITS].refuse_address(address_key(request.remote))
    if wait is not None:
        return _too_many(wait)
    past = None
    if session and _SESSION.fullmatch(session) and HISTORY in request.app:
        past = await request.app[HISTORY].past(ResidentKey("web", resident_of(session)), locale)
    if past is None:
        return _json({"messages": [], "state": None, "at": None, "resume": None, "answered": []})
    return _json({"messages": [{"from": who, "text": text} for who, text in past.messages],
                  "state": past.state.as_dict(), "at": past.at, "answered": list(past.answered),
                  "resume": replies_json([past.resume])[0] if past.resume is not None else None})


async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[HEALTH].ping()
    except Exception as exc:  # any database failure means "not healthy"
        log.warning("health check failed: %s", type(exc).__name__)
        return web.json_response({"status": "error", "error": "database unreachable"}, status=503)
    return web.json_response({"status": "ok"})


def make_web_app(turns: Turns, health: HealthCheck, residents: KnownResidents, limits: WebLimits,
                 mailboxes: Mailboxes, history: History | None = None,
                 catalogs: Catalogs | None = None) -> web.Application:
    """The web chat on its ports: `turns` answers, `health` is the database for /healthz and outages,
    `residents` tells whether a session's resident exists, `mailboxes` hold what waits for a resident
    (a team's answer, the turns' replies until acknowledged), `history` gives a resident's past to a
    reloaded page, `catalogs` the page's strings."""
    app = web.Application(client_max_size=256 * 1024)
    harden(app, health)
    app[TURNS] = turns
    app[MAILBOXES] = mailboxes
    app[RESIDENTS] = residents
    app[LIMITS] = limits
    app[REPLAYS] = Replays()
    app[PAGE_STRINGS] = page_strings(catalogs)
    if history is not None:
        app[HISTORY] = history
    # Each of these waits for the database: under overload they are refused at once rather than queued.
    app.router.add_post("/api/chat", _gated(chat))
    app.router.add_get("/api/chat/poll", _gated(poll))
    app.router.add_get("/api/chat/history", _gated(chat_history))
    app.router.add_get("/", index)
    app.router.add_get("/manifest.webmanifest", manifest)
    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static", STATIC)
    return app
