"""A faithful fake Telegram Bot API server (aiohttp on loopback) for tests: real wire format, real errors.

Point python-telegram-bot at it with ``ApplicationBuilder().token(fake.token).base_url(fake.base_url)``
(``fake.base_url`` is ``f"{fake.url}/bot"``, what ``TELEGRAM_API_URL`` holds). Requests go to
``/bot<token>/<method>`` with parameters in the query string, a JSON body, a form body or a multipart
body, as Telegram accepts; answers are the real envelope ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}`` (429 answers carry
``"parameters": {"retry_after": N}``).

Methods: getMe, getUpdates (long poll with offset/limit/timeout), setWebhook, deleteWebhook,
getWebhookInfo, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
createForumTopic, closeForumTopic, reopenForumTopic, sendChatAction, getFile (files: telegram_files.py,
downloaded from ``/file/bot<token>/<file_path>``). Others answer 404 "Not Found".

Validation as Telegram does it: text 1..4096 characters, inline button callback_data 1..64 bytes
(``BUTTON_DATA_INVALID``), unknown chat -> 400 "Bad Request: chat not found", a user who blocked the
bot -> 403 "Forbidden: bot was blocked by the user", getUpdates while a webhook is set -> 409, a message
to a closed forum topic -> 400 ``TOPIC_CLOSED``, and a getUpdates while another is waiting ends the
waiting one with 409 "Conflict: terminated by other getUpdates request" (two bot instances polling;
``fake.poll_conflicts`` records each, with whether the ended request's client was still connected:
a killed process's long poll is ended too, and nobody sees it). Deliberate deviation: setWebhook accepts ``http://``
URLs on loopback (Telegram wants https) so tests can receive webhooks.

Python API for tests (all synchronous unless marked async)::

    fake = FakeTelegram(token="123:ABC", global_per_second=30, per_chat_per_second=1)
    await fake.start()                      # or use the `fake_telegram` fixture
    fake.add_user(1001, "Lan", language_code="vi")   # a private chat the bot may write to
    fake.add_group(-100500, "Tổ CNS", forum=True)    # a (forum) supergroup the bot is in
    fake.block(1001)                          # the user blocks the bot (sends -> 403)
    uid = fake.inject_message(1001, "/start dai-cuong")   # queue an update; returns update_id
    fake.inject_message(-100500, "/claim 7", from_user=2001, thread_id=12)  # in a group
    fake.press_button(1001, "Xong rồi")       # press a button (by label or callback_data) on the
                                              # latest message that has it; returns update_id
    fake.inject_contact(1001) / fake.inject_location(1001)
    fake.inject_update({...}, update_id=...)  # anything else, raw (reuse an id to redeliver)
    fake.inject_update(fake.injected[uid], update_id=uid)  # Telegram sends update `uid` again
    fake.sent_to(1001)        # [SentMessage(message_id, text, buttons, thread_id, ...)] in order
    fake.texts(1001)          # just the texts
    await fake.wait_for(1001, count=2, timeout=5)   # until the chat has >= 2 bot messages
    await fake.wait_idle(quiet=0.3)  # until no request came for `quiet` seconds
    fake.fail_next("sendMessage", times=2)  # the next 2 calls answer 502 (a network fault)
    fake.calls("sendMessage") # parameters of every sendMessage request (also rejected ones)
    fake.rejections           # [(method, error_code, description, monotonic time)]
    fake.rate_limited         # [(chat_id, which limit: "overall" | "chat" | "group", monotonic time)]
    fake.callback_answers     # {callback_query_id: parameters of answerCallbackQuery}
    fake.topics[(chat_id, thread_id)]  # ForumTopic state: name, closed

With a webhook set (``setWebhook``), injected updates are POSTed to its URL, in order, one at a time,
with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was given; an update the bot does not answer
with 2xx is retried (``webhook_retry_delay``), as Telegram does. ``fake.webhook_deliveries`` records
(update_id, HTTP status).

The server is this file (state, waiting, HTTP); the methods are in telegram_methods.py, the updates and their
webhook delivery in telegram_updates.py, files in telegram_files.py, the state's types in telegram_model.py.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web

from tests.fakes.telegram_files import BotApiFiles
from tests.fakes.telegram_methods import BotApiMethods
from tests.fakes.telegram_model import ApiError, Chat, SentMessage, Topic, Webhook, _bad, _Window
from tests.fakes.telegram_updates import BotApiUpdates

__all__ = ["FakeTelegram", "SentMessage", "Chat", "Topic", "ApiError", "fake_telegram"]


class FakeTelegram(BotApiUpdates, BotApiMethods, BotApiFiles):
    """The fake Bot API server; see the module docstring for the test-facing API."""

    def __init__(self, token: str | None = None, *, bot_id: int | None = None,
                 bot_username: str = "tro_ly_so_test_bot", global_per_second: int | None = None,
                 per_chat_per_second: int | None = None, group_per_minute: int | None = None,
                 webhook_retry_delay: float = 0.2) -> None:
        # A bot of its own: one process polls a bot per PostgreSQL database (bot/app.py), and tests share one.
        self.token = token or f"{random.randrange(10**8, 10**9)}:TEST-token"
        self.bot_id = bot_id or int(self.token.split(":", 1)[0])
        self.bot_username = bot_username
        # Rate limits (None = unlimited). Telegram: ~30/s overall, ~1/s per chat, 20/min per group.
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.group_per_minute = group_per_minute
        self.webhook_retry_delay = webhook_retry_delay

        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, list[SentMessage]] = defaultdict(list)  # bot messages per chat
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.topics: dict[tuple[int, int], Topic] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.rejections: list[tuple[str, int, str, float]] = []
        self.rate_limited: list[tuple[int, str, float]] = []  # (chat_id, "overall"|"chat"|"group", time)
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[dict[str, Any]] = []
        self.webhook = Webhook()
        self.webhook_deliveries: list[tuple[int, int]] = []
        # getUpdates ended by a newer one: (monotonic time, was its client still connected?)
        self.poll_conflicts: list[tuple[float, bool]] = []
        self._polls: dict[int, asyncio.Future[None]] = {}  # waiting getUpdates -> ends it with 409

        self._update_ids = itertools.count(1)
        self.injected: dict[int, dict[str, Any]] = {}  # update_id -> the update, to send it again
        self._pending: list[dict[str, Any]] = []  # not yet confirmed (polling) or delivered (webhook)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._global = _Window()
        self._per_chat: dict[int, _Window] = defaultdict(_Window)
        self._per_group: dict[int, _Window] = defaultdict(_Window)
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._last_request = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._wake_delivery = asyncio.Event()
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._closing = False
        self.url = ""
        self._init_files()

    # --- lifecycle -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_URL / ApplicationBuilder.base_url() should be."""
        return f"{self.url}/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        self._delivery = asyncio.create_task(self._deliver_webhooks())

    async def close(self) -> None:
        self._closing = True
        self._notify()  # ends waiting long polls at once
        await asyncio.sleep(0)
        if self._delivery:
            self._delivery.cancel()
            try:
                await self._delivery
            except asyncio.CancelledError:
                pass
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    # --- the world: users and groups (updates: telegram_updates.py) -------------

    def add_user(self, user_id: int, first_name: str = "User", *, language_code: str | None = "vi",
                 username: str | None = None) -> Chat:
        """A user who has a private chat with the bot."""
        chat = Chat(user_id, "private", first_name=first_name, username=username, language_code=language_code)
        self.chats[user_id] = chat
        return chat

    def add_group(self, chat_id: int, title: str = "Group", *, forum: bool = False) -> Chat:
        """A group the bot is a member of (a supergroup when forum=True or the id starts with -100)."""
        kind = "supergroup" if forum or str(chat_id).startswith("-100") else "group"
        chat = Chat(chat_id, kind, title=title, is_forum=forum)
        self.chats[chat_id] = chat
        return chat

    def block(self, user_id: int) -> None:
        self.chats[user_id].blocked = True

    def unblock(self, user_id: int) -> None:
        self.chats[user_id].blocked = False

    def fail_next(self, method: str, times: int = 1, status: int = 502) -> None:
        """Answer the next `times` calls of `method` with an HTTP error (502 Bad Gateway: a network fault)."""
        self._failures[method].extend([status] * times)

    # --- what the bot did -----------------------------------------------------

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return list(self.messages.get(chat_id, []))

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages.get(chat_id, [])]

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.requests if m == method]

    @property
    def pending_updates(self) -> int:
        return len(self._pending)

    async def wait_for(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages to the chat; return them all."""
        try:
            await self._until(lambda: len(self.messages.get(chat_id, [])) >= count, timeout)
        except TimeoutError:
            raise AssertionError(f"chat {chat_id}: expected {count} messages within {timeout}s, "
                                 f"got {self.texts(chat_id)}") from None
        return self.sent_to(chat_id)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until predicate() is true (checked whenever the fake's state changes)."""
        await self._until(predicate, timeout)

    async def _until(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        """Wait until predicate() holds; it is checked each time the fake's state changes."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot made no request other than getUpdates for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self._last_request < quiet:
            if time.monotonic() > deadline:
                raise AssertionError("the bot never went quiet")
            await asyncio.sleep(quiet / 3)

    def _notify(self) -> None:
        self._wake_delivery.set()
        for predicate, future in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    # --- HTTP ------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad("JSON object expected")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await self._params(request)
            self.requests.append((method, params))
            if method != "getUpdates":
                self._last_request = time.monotonic()
            if self._failures.get(method):
                status = self._failures[method].pop(0)
                raise ApiError(status, {502: "Bad Gateway", 500: "Internal Server Error"}.get(status, "Error"))
            handler = getattr(self, f"_m_{method[:1].lower()}{method[1:]}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await (self._poll(request, handler(params)) if method == "getUpdates" else handler(params))
        except ApiError as exc:
            self.rejections.append((method, exc.code, exc.description, time.monotonic()))
            body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        return web.json_response({"ok": True, "result": result})

    async def _poll(self, request: web.Request, answer: Any) -> Any:
        """getUpdates, ended with 409 when a newer getUpdates comes while it waits (as Telegram does)."""
        for other in self._polls.values():
            if not other.done():
                other.set_result(None)
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._polls[id(request)] = ended
        task = asyncio.ensure_future(answer)
        try:
            await asyncio.wait([task, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            del self._polls[id(request)]
        if task.done():
            return task.result()
        task.cancel()
        transport = request.transport
        alive = transport is not None and not transport.is_closing()
        self.poll_conflicts.append((time.monotonic(), alive))
        if not alive:  # a dead client's request: nobody reads the answer, nothing to record as its error
            raise web.HTTPGone()
        raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                            "instance is running")

@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started fake Bot API server (no rate limits; set fake.global_per_second etc. to enforce them)."""
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
