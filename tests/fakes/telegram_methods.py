"""The Bot API methods of the fake server, with Telegram's validation and errors (see telegram_api.py)."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from tests.fakes.telegram_model import (
    MAX_CALLBACK_DATA,
    MAX_TEXT,
    ApiError,
    Chat,
    SentMessage,
    Topic,
    Webhook,
    _bad,
    _Window,
)

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class BotApiMethods:
    """Method handlers `_m_<method>(params) -> result`; the state lives in FakeTelegram."""

    bot_id: int
    bot_username: str
    chats: dict[int, Chat]
    messages: dict[int, list[SentMessage]]
    _message_ids: dict[int, itertools.count[int]]
    topics: dict[tuple[int, int], Topic]
    callback_answers: dict[str, dict[str, Any]]
    chat_actions: list[dict[str, Any]]
    webhook: Webhook
    global_per_second: int | None
    per_chat_per_second: int | None
    group_per_minute: int | None
    _pending: list[dict[str, Any]]
    _open_callbacks: set[str]
    _global: _Window
    _per_chat: dict[int, _Window]
    _per_group: dict[int, _Window]
    _closing: bool
    rate_limited: list[tuple[int, str, float]]

    def _notify(self) -> None:
        raise NotImplementedError

    async def _until(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        raise NotImplementedError

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
            which = ["overall", "chat", "group"][next(i for i, w in enumerate(waits) if w is not None)]
            self.rate_limited.append((chat.id, which, now))
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
                await self._until(lambda: bool(ready()) or bool(self.webhook.url) or self._closing, timeout)
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
