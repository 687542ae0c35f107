"""A fake Zalo on loopback: the OA Open API v3 (CS messages), OAuth v4 token refresh and the Zalo Bot API,
with Zalo's paths, payloads and error codes, webhook events signed as Zalo signs them, and residents' images
and audio served at the URLs their events carry (``/cdn/<name>``, ``media_event``, ``bot_photo``)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

BUTTON_TYPES = {"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone", "oa.open.sms"}


@dataclass
class Sent:
    user_id: str
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)


class FakeZalo:
    """State of the fake platform; tests read what was sent and steer errors."""

    def __init__(self, app_id: str = "4242", oa_secret_key: str = "oa-secret", app_secret: str = "app-secret",
                 access_token: str = "at-0", refresh_token: str = "rt-0", bot_token: str = "123:bot-token",
                 bot_secret: str = "bot-webhook-secret") -> None:
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.app_secret = app_secret
        self.valid_access = {access_token}
        self.refresh_token = refresh_token  # each refresh token works once
        self.bot_token = bot_token
        self.bot_secret = bot_secret
        self.sent: list[Sent] = []
        self.oauth_calls = 0
        self.send_calls = 0
        self.forced_errors: list[int] = []  # error codes for the next CS sends, in order
        self.unreachable: set[str] = set()  # users outside the window in which the OA may answer
        self.webhook: dict[str, Any] | None = None
        self.on_sent: Callable[[Sent], None] | None = None  # e.g. a benchmark waiting for replies
        self.polls = 0
        self._updates: asyncio.Queue[dict[str, Any]] | None = None
        self._ids = itertools.count(1)
        self.files: dict[str, bytes] = {}  # residents' images and audio on Zalo's CDN, by name
        self.downloads: list[str] = []
        self.cdn_failures: list[int] = []  # HTTP statuses for the next file downloads

    # --- steering ------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        self.valid_access.clear()

    def _queue(self) -> asyncio.Queue[dict[str, Any]]:
        if self._updates is None:
            self._updates = asyncio.Queue()
        return self._updates

    def push_update(self, update: dict[str, Any]) -> None:
        """An update for the bot to fetch with getUpdates (long polling)."""
        self._queue().put_nowait(update)

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        if self.on_sent is not None:
            self.on_sent(sent)

    def to(self, user_id: str) -> list[Sent]:
        return [s for s in self.sent if s.user_id == user_id]

    # --- OA Open API v3 --------------------------------------------------------

    async def message_cs(self, request: web.Request) -> web.Response:
        self.send_calls += 1
        token = request.headers.get("access_token", "")
        if token not in self.valid_access:
            return _zalo(-216, "Access token is invalid")
        if self.forced_errors:
            code = self.forced_errors.pop(0)
            return _zalo(code, {-32: "Exceeded rate limit", -211: "Out of quota",
                                -230: "User has not interacted with the OA in the past 7 days"}.get(code, "error"))
        try:
            body = await request.json()
            user_id = body["recipient"]["user_id"]
            message = body["message"]
            text = message["text"]
        except (ValueError, KeyError, TypeError):
            return _zalo(-201, "Parameters are invalid")
        if not isinstance(text, str) or not text or not isinstance(user_id, str):
            return _zalo(-201, "Parameters are invalid")
        if len(text) > 2000:
            return _zalo(-210, "Text exceeds the limit of 2000 characters")
        if user_id in self.unreachable:
            return _zalo(-230, "User has not interacted with the OA in the past 7 days")
        buttons: list[dict[str, Any]] = []
        attachment = message.get("attachment")
        if attachment is not None:
            try:
                assert attachment["type"] == "template"
                buttons = attachment["payload"]["buttons"]
                assert 0 < len(buttons) <= 5
                for b in buttons:
                    assert b["type"] in BUTTON_TYPES and 0 < len(b["title"]) <= 100 and len(b["payload"]) <= 1000
            except (AssertionError, KeyError, TypeError):
                return _zalo(-201, "Parameters are invalid")
        self._record(Sent(user_id, text, buttons))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"m{next(self._ids)}", "user_id": user_id}})

    async def oauth_access_token(self, request: web.Request) -> web.Response:
        self.oauth_calls += 1
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return web.json_response({"error": -14002, "error_name": "Invalid app secret key",
                                      "error_description": "secret_key is invalid"})
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "the refresh token is invalid or expired"})
        n = next(self._ids)
        access, self.refresh_token = f"at-{n}", f"rt-{n}"
        self.valid_access.add(access)
        # Zalo sends expires_in as a string of seconds.
        return web.json_response({"access_token": access, "refresh_token": self.refresh_token,
                                  "expires_in": "90000"})

    # --- Zalo Bot API ----------------------------------------------------------

    async def bot_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.bot_token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        body = await request.json() if request.can_read_body else {}
        method = request.match_info["method"]
        if method == "sendMessage":
            text = body.get("text")
            if not isinstance(text, str) or not text or not body.get("chat_id"):
                return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request"}, status=400)
            if len(text) > 2000:
                return web.json_response({"ok": False, "error_code": 400, "description": "text is too long"},
                                         status=400)
            if self.forced_errors:
                self.forced_errors.pop(0)
                return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests"},
                                         status=429)
            self._record(Sent(str(body["chat_id"]), text))
            return web.json_response({"ok": True, "result": {"message_id": f"b{next(self._ids)}",
                                                             "date": int(time.time() * 1000)}})
        if method == "getUpdates":
            if self.webhook is not None:
                return web.json_response({"ok": False, "error_code": 409,
                                          "description": "Conflict: a webhook is set"}, status=409)
            self.polls += 1
            try:
                update = await asyncio.wait_for(self._queue().get(), min(float(body.get("timeout", 30)), 30.0))
            except TimeoutError:
                return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"})
            return web.json_response({"ok": True, "result": update})
        if method == "deleteWebhook":
            self.webhook = None
            return web.json_response({"ok": True, "result": {"url": ""}})
        if method == "setWebhook":
            self.webhook = body
            return web.json_response({"ok": True, "result": {"url": body.get("url")}})
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": "1", "account_name": "bot.tro_ly_so"}})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    # --- residents' files on Zalo's CDN (the URLs in image and audio events) -------

    def host_file(self, data: bytes, extension: str) -> str:
        """Keep a resident's file where Zalo serves it; returns its URL (as in payload.url)."""
        name = f"{next(self._ids)}{hashlib.sha256(data).hexdigest()[:16]}.{extension}"
        self.files[name] = data
        return f"{self.url}/cdn/{name}"  # type: ignore[attr-defined]

    async def cdn(self, request: web.Request) -> web.StreamResponse:
        if self.cdn_failures:
            return web.Response(status=self.cdn_failures.pop(0))
        name = request.match_info["name"]
        if name not in self.files:
            return web.Response(status=404)
        self.downloads.append(name)
        return web.Response(body=self.files[name], content_type="image/jpeg" if name.endswith(".jpg")
                            else "audio/aac")

    def media_event(self, user_id: str, data: bytes, kind: str = "image", msg_id: str | None = None,
                    text: str | None = None) -> dict[str, Any]:
        """user_send_image / user_send_audio as Zalo sends them: message.attachments[].payload.url (and the text
        the user wrote with it, if any)."""
        url = self.host_file(data, "jpg" if kind == "image" else "aac")
        payload = {"url": url, "thumbnail": url} if kind == "image" else {"url": url}
        message: dict[str, Any] = {"msg_id": msg_id or f"u{next(self._ids)}",
                                   "attachments": [{"type": kind, "payload": payload}]}
        if text:
            message["text"] = text
        return self.oa_event(f"user_send_{kind}", user_id, message=message)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cdn/{name}", self.cdn)
        app.router.add_post("/v3.0/oa/message/cs", self.message_cs)
        app.router.add_post("/v4/oa/access_token", self.oauth_access_token)
        app.router.add_post("/bot{token}/{method}", self.bot_method)
        return app

    # --- webhook events, signed as Zalo signs them ----------------------------

    def sign(self, raw: str, timestamp: str, secret: str | None = None) -> str:
        mac = hashlib.sha256(f"{self.app_id}{raw}{timestamp}{secret or self.oa_secret_key}".encode()).hexdigest()
        return f"mac={mac}"

    def oa_event(self, name: str, user_id: str, timestamp_ms: int | None = None,
                 **extra: Any) -> dict[str, Any]:
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        body: dict[str, Any] = {"app_id": self.app_id, "user_id_by_app": f"app-{user_id}", "event_name": name,
                                "timestamp": ts, "sender": {"id": user_id}, "recipient": {"id": "oa-1"}}
        if name in ("follow", "unfollow"):
            body = {"app_id": self.app_id, "oa_id": "oa-1", "user_id_by_app": f"app-{user_id}",
                    "event_name": name, "timestamp": ts, "source": "oa_profile", "follower": {"id": user_id}}
        body.update(extra)
        return body

    def text_event(self, user_id: str, text: str, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
        mid = msg_id or f"u{next(self._ids)}"
        return self.oa_event("user_send_text", user_id, message={"msg_id": mid, "text": text}, **kw)

    async def deliver(self, http: ClientSession, url: str, body: dict[str, Any], secret: str | None = None,
                      signature: str | None = None) -> tuple[int, dict[str, Any]]:
        """POST an OA event to the webhook as Zalo does; returns (status, JSON answer)."""
        raw = json.dumps(body, ensure_ascii=False)
        headers = {"Content-Type": "application/json",
                   "X-ZEvent-Signature": signature or self.sign(raw, str(body.get("timestamp", "")), secret)}
        async with http.post(url, data=raw.encode(), headers=headers) as r:
            return r.status, await r.json(content_type=None)

    def bot_update(self, chat_id: str, text: str | None = None, event: str = "message.text.received",
                   date_ms: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": f"bm{next(self._ids)}", "from": {"id": chat_id, "is_bot": False},
                                   "chat": {"id": chat_id, "chat_type": "PRIVATE"},
                                   "date": date_ms if date_ms is not None else int(time.time() * 1000)}
        if text is not None:
            message["text"] = text
        return {"event_name": event, "message": message}

    def bot_photo(self, chat_id: str, data: bytes) -> dict[str, Any]:
        """message.image.received as the Zalo Bot API sends it: the image's URL in message.photo."""
        update = self.bot_update(chat_id, event="message.image.received")
        update["message"]["photo"] = self.host_file(data, "jpg")
        return update

    async def deliver_bot(self, http: ClientSession, url: str, update: dict[str, Any],
                          secret: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"X-Bot-Api-Secret-Token": secret if secret is not None else self.bot_secret}
        async with http.post(url, json={"ok": True, "result": update}, headers=headers) as r:
            return r.status, await r.json(content_type=None)


def _zalo(code: int, message: str) -> web.Response:
    # The OA API answers errors with HTTP 200 and a negative `error`.
    return web.json_response({"error": code, "message": message})
