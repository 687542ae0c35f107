"""A faithful fake Telegram Bot API server (aiohttp on loopback) for tests: real wire format, real errors.

Point python-telegram-bot at it with ``ApplicationBuilder().token(fake.token).base_url(fake.base_url)``
(``fake.base_url`` is ``f"{fake.url}/bot"``, what ``TELEGRAM_API_URL`` holds). Requests go to
``/bot<token>/<method>`` with parameters in the query string, a JSON body, a form body or a multipart
body, as Telegram accepts; answers are the real envelope ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}`` (429 answers carry
``"parameters": {"retry_after": N}``).

Methods: getMe, getUpdates (long poll with offset/limit/timeout), setWebhook, deleteWebhook,
getWebhookInfo, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
createForumTopic, closeForumTopic, reopenForumTopic, sendChatAction. Others answer 404 "Not Found".

Validation as Telegram does it: text 1..4096 characters, inline button callback_data 1..64 bytes
(``BUTTON_DATA_INVALID``), unknown chat -> 400 "Bad Request: chat not found", a user who blocked the
bot -> 403 "Forbidden: bot was blocked by the user", getUpdates while a webhook is set -> 409, a message
to a closed forum topic -> 400 ``TOPIC_CLOSED``. Deliberate deviation: setWebhook accepts ``http://``
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
    fake.sent_to(1001)        # [SentMessage(message_id, text, buttons, thread_id, ...)] in order
    fake.texts(1001)          # just the texts
    await fake.wait_for(1001, count=2, timeout=5)   # until the chat has >= 2 bot messages
    await fake.wait_idle(quiet=0.3)  # until no request came for `quiet` seconds
    fake.fail_next("sendMessage", times=2)  # the next 2 calls answer 502 (a network fault)
    fake.calls("sendMessage") # parameters of every sendMessage request (also rejected ones)
    fake.rejections           # [(method, error_code, description, monotonic time)]
    fake.callback_answers     # {callback_query_id: parameters of answerCallbackQuery}
    fake.topics[(chat_id, thread_id)]  # ForumTopic state: name, closed

With a webhook set (``setWebhook``), injected updates are POSTed to its URL, in order, one at a time,
with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was given; an update the bot does not answer
with 2xx is retried (``webhook_retry_delay``), as Telegram does. ``fake.webhook_deliveries`` records
(update_id, HTTP status).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest_asyncio
from aiohttp import web

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Chat:
    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_forum: bool = False
    blocked: bool = False  # private chats: the user blocked the bot

    def as_chat(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            d["first_name"] = self.first_name or "User"
            if self.username:
                d["username"] = self.username
        else:
            d["title"] = self.title or "Group"
            if self.is_forum:
                d["is_forum"] = True
        return d

    def as_user(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name or "User"}
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d


@dataclass
class SentMessage:
    """A message the bot sent (as it stands now: edits update it)."""

    message_id: int
    chat_id: int
    text: str
    buttons: list[list[dict[str, Any]]]  # inline keyboard rows: [{"text":..., "callback_data":...}]
    thread_id: int | None
    date: int
    params: dict[str, Any]
    edits: int = 0

    @property
    def labels(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]

    @property
    def data(self) -> list[str]:
        return [b.get("callback_data", "") for row in self.buttons for b in row]


@dataclass
class Topic:
    chat_id: int
    thread_id: int
    name: str
    icon_color: int
    closed: bool = False


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class _Window:
    """Timestamps of recent accepted requests, to enforce "at most N per period"."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def check(self, limit: int | None, period: float, now: float) -> int | None:
        """None if one more is allowed now, else the seconds to wait (rounded up, as Telegram does)."""
        if not limit:
            return None
        while self.times and now - self.times[0] >= period:
            self.times.popleft()
        if len(self.times) < limit:
            return None
        return max(1, int(period - (now - self.times[0]) + 0.999))

    def add(self, now: float) -> None:
        self.times.append(now)


class FakeTelegram:
    """The fake Bot API server; see the module docstring for the test-facing API."""

    def __init__(self, token: str = "123456:TEST-token", *, bot_id: int | None = None,
                 bot_username: str = "tro_ly_so_test_bot", global_per_second: int | None = None,
                 per_chat_per_second: int | None = None, group_per_minute: int | None = None,
                 webhook_retry_delay: float = 0.2) -> None:
        self.token = token
        self.bot_id = bot_id or int(token.split(":", 1)[0])
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
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[dict[str, Any]] = []
        self.webhook = Webhook()
        self.webhook_deliveries: list[tuple[int, int]] = []

        self._update_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []  # not yet confirmed (polling) or delivered (webhook)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._global = _Window()
        self._per_chat: dict[int, _Window] = defaultdict(_Window)
        self._per_group: dict[int, _Window] = defaultdict(_Window)
        self._changed = asyncio.Condition()
        self._last_request = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._wake_delivery = asyncio.Event()
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._closing = False
        self.url = ""

    # --- lifecycle -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_URL / ApplicationBuilder.base_url() should be."""
        return f"{self.url}/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
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

    # --- the world: users, groups, updates ------------------------------------

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

    def inject_update(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Queue a raw update (its update_id is assigned unless given; giving an old one redelivers it)."""
        if update_id is None:
            update_id = next(self._update_ids)
        self._pending.append({"update_id": update_id, **update})
        self._notify()
        return update_id

    def _user(self, user_id: int) -> dict[str, Any]:
        chat = self.chats.get(user_id)
        if chat is None or chat.type != "private":
            chat = self.add_user(user_id)
        return chat.as_user()

    def _message(self, chat_id: int, from_user: int | None, thread_id: int | None = None,
                 **content: Any) -> dict[str, Any]:
        chat = self.chats.get(chat_id) or self.add_user(chat_id)
        msg: dict[str, Any] = {"message_id": next(self._message_ids[chat_id]), "date": int(time.time()),
                               "chat": chat.as_chat(), "from": self._user(from_user or chat_id)}
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        msg.update(content)
        return msg

    def inject_message(self, chat_id: int, text: str, *, from_user: int | None = None,
                       thread_id: int | None = None, update_id: int | None = None) -> int:
        """The user (or `from_user` in a group) writes `text`; a leading /command gets its entity."""
        content: dict[str, Any] = {"text": text}
        m = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(m.group(0))}]
        return self.inject_update({"message": self._message(chat_id, from_user, thread_id, **content)}, update_id)

    def inject_contact(self, user_id: int, phone_number: str = "+84912345678") -> int:
        """The user shares their phone number (a contact card)."""
        contact = {"phone_number": phone_number, "first_name": self.chats.get(user_id, Chat(user_id, "private")).first_name
                   or "User", "user_id": user_id}
        return self.inject_update({"message": self._message(user_id, None, contact=contact)})

    def inject_location(self, user_id: int, latitude: float = 20.72, longitude: float = 105.77) -> int:
        return self.inject_update({"message": self._message(user_id, None,
                                                            location={"latitude": latitude, "longitude": longitude})})

    def press_button(self, chat_id: int, button: str, *, from_user: int | None = None,
                     message_id: int | None = None) -> int:
        """Press the button whose label or callback_data is `button` on the latest bot message showing it
        (or on message `message_id`). Raises LookupError if no such button is on screen."""
        candidates = [m for m in reversed(self.messages.get(chat_id, []))
                      if message_id is None or m.message_id == message_id]
        for m in candidates:
            for row in m.buttons:
                for b in row:
                    if button in (b.get("text"), b.get("callback_data")) and "callback_data" in b:
                        qid = str(next(self._callback_ids))
                        self._open_callbacks.add(qid)
                        chat = self.chats[chat_id]
                        query = {"id": qid, "from": self._user(from_user or chat_id), "chat_instance": str(chat_id),
                                 "data": b["callback_data"], "message": self._as_message(m, chat)}
                        return self.inject_update({"callback_query": query})
        shown = [m.labels for m in self.messages.get(chat_id, [])[-3:]]
        raise LookupError(f"no button {button!r} in chat {chat_id}; latest keyboards: {shown}")

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
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages.get(chat_id, [])) >= count)
        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"chat {chat_id}: expected {count} messages within {timeout}s, "
                                 f"got {self.texts(chat_id)}") from None
        return self.sent_to(chat_id)

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until predicate() is true (checked whenever the fake's state changes)."""
        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)
        await asyncio.wait_for(check(), timeout)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot made no request other than getUpdates for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self._last_request < quiet:
            if time.monotonic() > deadline:
                raise AssertionError("the bot never went quiet")
            await asyncio.sleep(quiet / 3)

    def _notify(self) -> None:
        self._wake_delivery.set()

        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()
        try:
            asyncio.get_running_loop().create_task(wake())
        except RuntimeError:
            pass

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
            result = await handler(params)
        except ApiError as exc:
            self.rejections.append((method, exc.code, exc.description, time.monotonic()))
            body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        return web.json_response({"ok": True, "result": result})

    # --- parameter parsing, as loose as Telegram's ----------------------------

    @staticmethod
    def _int(params: dict[str, Any], name: str, required: bool = True) -> int | None:
        value = params.get(name)
        if value in (None, ""):
            if required:
                raise _bad(f"{name} is empty" if name != "chat_id" else "chat_id is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    @staticmethod
    def _json(params: dict[str, Any], name: str) -> Any:
        value = params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    @staticmethod
    def _bool(params: dict[str, Any], name: str) -> bool:
        value = params.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def _chat(self, params: dict[str, Any]) -> Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next((c for c in self.chats.values() if c.username and f"@{c.username}" == raw), None)
        else:
            try:
                chat = self.chats.get(int(raw))
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _keyboard(self, params: dict[str, Any]) -> list[list[dict[str, Any]]]:
        markup = self._json(params, "reply_markup")
        if markup is None:
            return []
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return []  # reply keyboards / remove / force reply: accepted, not shown as buttons
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays")
        actions = ("callback_data", "url", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
                   "switch_inline_query_chosen_chat", "callback_game", "pay", "web_app", "copy_text")
        for row in rows:
            for b in row:
                if not isinstance(b, dict) or not isinstance(b.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Field \"text\" must be of type String")
                if not any(a in b for a in actions):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline "
                               "keyboard")
                if "callback_data" in b:
                    data = b["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        raise _bad("BUTTON_DATA_INVALID")
        return rows

    @staticmethod
    def _text(params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return text

    def _rate_limit(self, chat: Chat) -> None:
        now = time.monotonic()
        waits = [self._global.check(self.global_per_second, 1.0, now),
                 self._per_chat[chat.id].check(self.per_chat_per_second, 1.0, now)]
        if chat.type != "private":
            waits.append(self._per_group[chat.id].check(self.group_per_minute, 60.0, now))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self._global.add(now)
        self._per_chat[chat.id].add(now)
        if chat.type != "private":
            self._per_group[chat.id].add(now)

    def _as_message(self, m: SentMessage, chat: Chat) -> dict[str, Any]:
        d: dict[str, Any] = {"message_id": m.message_id, "date": m.date, "chat": chat.as_chat(),
                             "from": {"id": self.bot_id, "is_bot": True, "first_name": "Trợ lý số",
                                      "username": self.bot_username},
                             "text": m.text}
        if m.buttons:
            d["reply_markup"] = {"inline_keyboard": m.buttons}
        if m.thread_id is not None:
            d["message_thread_id"] = m.thread_id
            d["is_topic_message"] = True
        if m.edits:
            d["edit_date"] = int(time.time())
        return d

    def _find_message(self, params: dict[str, Any], chat: Chat) -> SentMessage:
        message_id = self._int(params, "message_id")
        for m in self.messages.get(chat.id, []):
            if m.message_id == message_id:
                return m
        raise _bad("message to edit not found")

    # --- methods -----------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Trợ lý số", "username": self.bot_username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                "deleteWebhook to delete the webhook first")
        offset = self._int(params, "offset", required=False)
        limit = min(max(self._int(params, "limit", required=False) or 100, 1), 100)
        timeout = max(self._int(params, "timeout", required=False) or 0, 0)
        allowed = self._json(params, "allowed_updates")
        if offset is not None:
            # Everything below the offset is confirmed and forgotten, as on Telegram.
            before = len(self._pending)
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if len(self._pending) != before:
                self._notify()

        def ready() -> list[dict[str, Any]]:
            ups = [u for u in self._pending if offset is None or u["update_id"] >= offset]
            if allowed:
                ups = [u for u in ups if any(k in u for k in allowed)]
            return sorted(ups, key=lambda u: u["update_id"])[:limit]

        if not ready() and timeout:
            try:
                async with self._changed:
                    await asyncio.wait_for(self._changed.wait_for(
                        lambda: bool(ready()) or bool(self.webhook.url) or self._closing), timeout)
            except TimeoutError:
                pass
        return ready()

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url:
            parsed = urlparse(url)
            loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
            if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret not in (None, "") and not _SECRET_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if self._bool(params, "drop_pending_updates"):
            self._pending.clear()
        self.webhook = Webhook(url=url, secret_token=secret or None,
                               max_connections=self._int(params, "max_connections", required=False) or 40,
                               allowed_updates=self._json(params, "allowed_updates"))
        self._notify()
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        if self._bool(params, "drop_pending_updates"):
            self._pending.clear()
        self.webhook = Webhook()
        self._notify()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": self.webhook.url, "has_custom_certificate": False,
                                "pending_update_count": len(self._pending)}
        if self.webhook.url:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self.webhook.last_error_date:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = self._text(params)
        buttons = self._keyboard(params)
        thread_id = self._int(params, "message_thread_id", required=False)
        if thread_id is not None:
            if not chat.is_forum:
                thread_id = None  # Telegram ignores it outside forums
            else:
                topic = self.topics.get((chat.id, thread_id))
                if topic is None:
                    raise _bad("message thread not found")
                if topic.closed:
                    raise _bad("TOPIC_CLOSED")
        self._rate_limit(chat)
        m = SentMessage(next(self._message_ids[chat.id]), chat.id, text, buttons, thread_id, int(time.time()),
                        params)
        self.messages[chat.id].append(m)
        self._notify()
        return self._as_message(m, chat)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        m = self._find_message(params, chat)
        text = self._text(params)
        buttons = self._keyboard(params)
        if text == m.text and buttons == m.buttons:
            raise _bad("message is not modified: specified new message content and reply markup are exactly the "
                       "same as a current content and reply markup of the message")
        self._rate_limit(chat)
        m.text, m.buttons, m.edits = text, buttons, m.edits + 1
        self._notify()
        return self._as_message(m, chat)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        m = self._find_message(params, chat)
        buttons = self._keyboard(params)
        if buttons == m.buttons:
            raise _bad("message is not modified: specified new message content and reply markup are exactly the "
                       "same as a current content and reply markup of the message")
        self._rate_limit(chat)
        m.buttons, m.edits = buttons, m.edits + 1
        self._notify()
        return self._as_message(m, chat)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        qid = str(params.get("callback_query_id") or "")
        if qid not in self._open_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(qid)
        self.callback_answers[qid] = params
        self._notify()
        return True

    async def _m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        name = params.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        color = self._int(params, "icon_color", required=False) or 0x6FB9F0
        if color not in (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F):
            raise _bad("TOPIC_ICON_COLOR_INVALID")  # not Telegram's exact text; it rejects other colours
        thread_id = next(self._message_ids[chat.id])  # a topic's id is the id of its service message
        self.topics[(chat.id, thread_id)] = Topic(chat.id, thread_id, name, color)
        self._notify()
        return {"message_thread_id": thread_id, "name": name, "icon_color": color}

    def _topic(self, params: dict[str, Any]) -> Topic:
        chat = self._chat(params)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        thread_id = self._int(params, "message_thread_id")
        topic = self.topics.get((chat.id, thread_id or 0))
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    async def _m_closeForumTopic(self, params: dict[str, Any]) -> bool:
        topic = self._topic(params)
        if topic.closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = True
        self._notify()
        return True

    async def _m_reopenForumTopic(self, params: dict[str, Any]) -> bool:
        topic = self._topic(params)
        if not topic.closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = False
        self._notify()
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if not params.get("action"):
            raise _bad("action is empty")
        self.chat_actions.append(params)
        return True

    # --- webhook delivery --------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """Push pending updates to the webhook in order, retrying any the bot did not accept."""
        assert self._session is not None
        while True:
            await self._wake_delivery.wait()
            self._wake_delivery.clear()
            while self.webhook.url and self._pending:
                hook = self.webhook
                update = min(self._pending, key=lambda u: u["update_id"])
                headers = {"Content-Type": "application/json"}
                if hook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
                try:
                    async with self._session.post(hook.url, data=json.dumps(update), headers=headers,
                                                  timeout=aiohttp.ClientTimeout(total=60)) as resp:
                        status = resp.status
                        await resp.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = 0
                    hook.last_error_message = f"Connection failed: {exc}"
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    if update in self._pending:
                        self._pending.remove(update)
                else:
                    hook.last_error_date = int(time.time())
                    if status:
                        hook.last_error_message = f"Wrong response from the webhook: {status}"
                    await asyncio.sleep(self.webhook_retry_delay)
                self._notify()


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started fake Bot API server (no rate limits; set fake.global_per_second etc. to enforce them)."""
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
