"""The updates side of the fake Bot API (see telegram_api.py): what residents and staff do (messages, button
presses, contacts, locations) queued as Telegram updates, and their delivery to a webhook when one is set
(getUpdates, the polling side, is a method: telegram_methods.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from tests.fakes.telegram_model import Chat, SentMessage, Webhook


class BotApiUpdates:
    """The update queue of FakeTelegram (a mixin; the state lives in FakeTelegram)."""

    chats: dict[int, Chat]
    messages: dict[int, list[SentMessage]]
    injected: dict[int, dict[str, Any]]
    webhook: Webhook
    webhook_deliveries: list[tuple[int, int]]
    webhook_retry_delay: float
    _message_ids: dict[int, itertools.count[int]]
    _update_ids: itertools.count[int]
    _callback_ids: itertools.count[int]
    _open_callbacks: set[str]
    _pending: list[dict[str, Any]]
    _session: aiohttp.ClientSession | None
    _wake_delivery: asyncio.Event

    if TYPE_CHECKING:  # FakeTelegram's and BotApiMethods' (stubs here would shadow them: this mixin comes first)
        def add_user(self, user_id: int, first_name: str = "User", *, language_code: str | None = "vi",
                     username: str | None = None) -> Chat: ...

        def _notify(self) -> None: ...

        def _as_message(self, m: SentMessage, chat: Chat) -> dict[str, Any]: ...

    def inject_update(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Queue a raw update (its update_id is assigned unless given; giving an old one redelivers it)."""
        if update_id is None:
            update_id = next(self._update_ids)
        self._pending.append({"update_id": update_id, **update})
        self.injected[update_id] = update
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
        chat = self.chats.get(user_id)
        contact = {"phone_number": phone_number, "first_name": (chat.first_name if chat else None) or "User",
                   "user_id": user_id}
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
                    # Callback data may carry the conversation position after "|" (payload|at).
                    data = b.get("callback_data")
                    if button in (b.get("text"), data, (data or "").partition("|")[0]) and "callback_data" in b:
                        qid = str(next(self._callback_ids))
                        self._open_callbacks.add(qid)
                        chat = self.chats[chat_id]
                        query = {"id": qid, "from": self._user(from_user or chat_id), "chat_instance": str(chat_id),
                                 "data": b["callback_data"], "message": self._as_message(m, chat)}
                        return self.inject_update({"callback_query": query})
        shown = [m.labels for m in self.messages.get(chat_id, [])[-3:]]
        raise LookupError(f"no button {button!r} in chat {chat_id}; latest keyboards: {shown}")

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
