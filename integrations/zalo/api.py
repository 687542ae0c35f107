"""Zalo's HTTP APIs: OA customer-service messages with token refresh, and the Zalo Bot API.

Error codes come from Zalo's documentation as quoted by public integrations; the ones we act on:
-216 / -124 the access token is invalid or expired (refresh once, send again);
-32 too many requests (wait a minute); -211 the OA's message quota is used up (wait an hour);
-213 / -230 / -201 the resident cannot be messaged now (not following, outside the window in which
an OA may answer, or an unknown user): permanent for this message;
-14014 the refresh token is invalid or already spent (the operator must provide new tokens).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from integrations.zalo.format import PAYLOAD_MARK, Outgoing
from integrations.zalo.memory import Tokens, ZaloMemory, utcnow
from kernel.deliveries import DeliveryCount
from kernel.ports import DeliveryError
from kernel.settings import ZaloSettings

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({-216, -124})
RATE_LIMITED = {-32: 60.0}
QUOTA_EXCEEDED = {-211: 3600.0}
UNREACHABLE = frozenset({-213, -230, -201})
REFRESH_TOKEN_INVALID = -14014
# When the OA's tokens are broken nothing can be sent until an operator acts; callers wait this long.
BROKEN_TOKENS_RETRY = 600.0
# After a failed refresh, the next attempt waits this long.
REFRESH_PAUSE = 60.0
TIMEOUT = aiohttp.ClientTimeout(total=15)
# The Bot API answers a long poll that saw no update with error_code 408.
POLL_TIMEOUT = 408


class PollTimeout(DeliveryError):
    """No update arrived during a long poll (not a failure)."""


class RateLimited(DeliveryError):
    """Zalo's flood limit (HTTP 429 or an OA rate-limit code): try again after `retry_after`."""


def oa_error(code: int, message: str) -> DeliveryError:
    """The DeliveryError for an OA API error code."""
    text = f"Zalo OA error {code}: {message}"
    if code in RATE_LIMITED:
        return RateLimited(text, retry_after=RATE_LIMITED[code])
    if code in QUOTA_EXCEEDED:
        return DeliveryError(text, retry_after=QUOTA_EXCEEDED[code])
    if code in UNREACHABLE:
        return DeliveryError(text, permanent=True)
    if code in TOKEN_INVALID:
        return DeliveryError(text, retry_after=BROKEN_TOKENS_RETRY)
    return DeliveryError(text)


def _transport_error(what: str, exc: BaseException) -> DeliveryError:
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")


def _int(value: object, default: int = 0) -> int:
    # Zalo sometimes sends numbers as strings ("expires_in": "90000", "error": "-14014").
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


class TokenKeeper:
    """The OA access token: saved in the database, refreshed before it expires (or when Zalo
    says it is invalid), one refresh at a time because each refresh token works only once."""

    def __init__(self, settings: ZaloSettings, zstore: ZaloMemory, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.zstore = zstore
        self.http = http
        self._tokens = Tokens(None, None, None)
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0
        self.refreshes = 0

    async def start(self) -> None:
        self._tokens = await self.zstore.seed(self.settings.access_token, self.settings.refresh_token)

    def _expiring(self, tokens: Tokens) -> bool:
        if not tokens.access_token:
            return True
        if tokens.expires_at is None:
            return False
        return tokens.expires_at - utcnow() < timedelta(seconds=self.settings.refresh_margin_seconds)

    async def access_token(self) -> str:
        """A usable access token, refreshed first when it is about to expire."""
        if self._expiring(self._tokens):
            await self.refresh(self._tokens.access_token)
        assert self._tokens.access_token
        return self._tokens.access_token

    async def refresh(self, stale: str | None) -> None:
        """Replace the access token `stale` (None: whatever is current) with a fresh one."""
        async with self._lock:
            saved = await self.zstore.load()
            if saved and saved.access_token and saved.access_token != stale and not self._expiring(saved):
                self._tokens = saved  # another task or process refreshed it already
                return
            current = saved or self._tokens
            if not current.refresh_token or not self.settings.app_secret:
                log.error("the Zalo OA access token needs refreshing but ZALO_REFRESH_TOKEN or ZALO_APP_SECRET "
                          "is missing; set fresh tokens in the environment and restart")
                raise DeliveryError("Zalo OA access token expired and cannot be refreshed",
                                    retry_after=BROKEN_TOKENS_RETRY)
            if time.monotonic() < self._quiet_until:
                # A refresh failed a moment ago: do not hammer Zalo's OAuth once per waiting message.
                raise DeliveryError("Zalo OA token refresh failed recently", retry_after=REFRESH_PAUSE)
            try:
                fresh = await self._exchange(current.refresh_token)
            except DeliveryError:
                # Perhaps another process (a broadcast worker) spent the refresh token a moment
                # ago and is about to save what it got: give it a moment before giving up.
                deadline = time.monotonic() + self.settings.token_grace_seconds
                while True:
                    again = await self.zstore.load()
                    if again and again.refresh_token != current.refresh_token and again.access_token:
                        self._tokens = again
                        return
                    if time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(0.1)
                self._quiet_until = time.monotonic() + REFRESH_PAUSE
                raise
            if await self.zstore.save(current.refresh_token, fresh):
                self._tokens = fresh
                self.refreshes += 1
                log.info("Zalo OA access token refreshed; it expires at %s", fresh.expires_at)
            else:
                self._tokens = await self.zstore.load() or fresh

    async def _exchange(self, refresh_token: str) -> Tokens:
        url = f"{self.settings.oauth_url.rstrip('/')}/v4/oa/access_token"
        form = {"app_id": self.settings.app_id or "", "grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            async with self.http.post(url, data=form, headers={"secret_key": self.settings.app_secret or ""},
                                      timeout=TIMEOUT) as r:
                if r.status >= 500:
                    raise DeliveryError(f"Zalo OAuth answered HTTP {r.status}")
                body = await r.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise _transport_error("Zalo OAuth request failed", exc) from exc
        if not isinstance(body, dict) or not body.get("access_token"):
            code = _int(body.get("error") if isinstance(body, dict) else None, -1)
            reason = (body.get("error_description") or body.get("error_name") or body.get("message")
                      if isinstance(body, dict) else None) or "no access token in the answer"
            if code == REFRESH_TOKEN_INVALID:
                log.error("Zalo refused the OA refresh token (%s): set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN "
                          "anew from the Zalo developer console", reason)
            raise DeliveryError(f"Zalo OAuth error {code}: {reason}", retry_after=BROKEN_TOKENS_RETRY)
        expires_in = _int(body.get("expires_in"), 3600)
        return Tokens(str(body["access_token"]), str(body.get("refresh_token") or refresh_token),
                      utcnow() + timedelta(seconds=expires_in))

    def next_refresh_in(self) -> float:
        """Seconds until the background refresh should run."""
        expires_at: datetime | None = self._tokens.expires_at
        if expires_at is None:
            return 6 * 3600.0
        due = (expires_at - utcnow()).total_seconds() - self.settings.refresh_margin_seconds
        return min(max(due, 1.0), 6 * 3600.0)

    async def keep_fresh(self) -> None:
        """Refresh ahead of expiry even when nobody is messaging (a refresh token left unused expires too)."""
        while True:
            await asyncio.sleep(self.next_refresh_in())
            try:
                if self._expiring(self._tokens):
                    await self.refresh(self._tokens.access_token)
            except DeliveryError as exc:
                log.warning("background refresh of the Zalo OA token failed: %s", exc)
                await asyncio.sleep(BROKEN_TOKENS_RETRY)


def oa_message(msg: Outgoing, button_type: str) -> dict[str, Any]:
    """The `message` object of a customer-service message: text, and buttons as a template."""
    message: dict[str, Any] = {"text": msg.text}
    if msg.buttons:
        message["attachment"] = {"type": "template", "payload": {"buttons": [
            {"title": label, "type": button_type, "payload": PAYLOAD_MARK + payload}
            for label, payload in msg.buttons]}}
    return message


async def counted(count: DeliveryCount, sending: Awaitable[str | None]) -> str | None:
    """One message's send, counted as delivered or failed (and rate-limited)."""
    try:
        message_id = await sending
    except DeliveryError as exc:
        count.failed += 1
        count.rate_limited += isinstance(exc, RateLimited)
        raise
    count.delivered += 1
    return message_id


class OAClient:
    """Sends customer-service messages (POST /v3.0/oa/message/cs) with the OA access token."""

    def __init__(self, settings: ZaloSettings, http: aiohttp.ClientSession, tokens: TokenKeeper) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.deliveries = DeliveryCount("zalo")

    async def send(self, user_id: str, msg: Outgoing) -> str | None:
        return await counted(self.deliveries, self._send(user_id, msg))

    async def _send(self, user_id: str, msg: Outgoing) -> str | None:
        body = {"recipient": {"user_id": user_id}, "message": oa_message(msg, self.settings.button_type)}
        token = await self.tokens.access_token()
        data = await self._post(token, body)
        if _int(data.get("error")) in TOKEN_INVALID:
            # Nothing was delivered with the refused token: refresh and send exactly once more.
            await self.tokens.refresh(token)
            data = await self._post(await self.tokens.access_token(), body)
        code = _int(data.get("error"), -1)
        if code != 0:
            raise oa_error(code, str(data.get("message") or ""))
        result = data.get("data")
        return str(result.get("message_id")) if isinstance(result, dict) and result.get("message_id") else None

    async def _post(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.settings.base_url}/v3.0/oa/message/cs"
        try:
            async with self.http.post(url, json=body, headers={"access_token": token}, timeout=TIMEOUT) as r:
                if r.status == 429:
                    raise RateLimited("Zalo OA answered HTTP 429", retry_after=_int(r.headers.get("Retry-After"), 60))
                if r.status >= 500:
                    raise DeliveryError(f"Zalo OA answered HTTP {r.status}")
                data = await r.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise _transport_error("Zalo OA request failed", exc) from exc
        if not isinstance(data, dict):
            raise DeliveryError("Zalo OA answered something that is not a JSON object")
        return data


class BotClient:
    """The Zalo Bot API (Telegram-like): POST {api}/bot{token}/{method}, answers {ok, result | error_code}."""

    def __init__(self, settings: ZaloSettings, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.http = http
        self.deliveries = DeliveryCount("zalo")

    async def call(self, method: str, params: dict[str, Any], timeout: aiohttp.ClientTimeout = TIMEOUT) -> Any:
        url = f"{self.settings.base_url}/bot{self.settings.bot_token}/{method}"
        try:
            async with self.http.post(url, json=params, timeout=timeout) as r:
                status = r.status
                data = await r.json(content_type=None) if r.content_type == "application/json" else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise _transport_error("Zalo Bot API request failed", exc) from exc
        if isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        code = _int(data.get("error_code"), status) if isinstance(data, dict) else status
        description = str(data.get("description") or "") if isinstance(data, dict) else f"HTTP {status}"
        text = f"Zalo Bot API {method} error {code}: {description}"
        if code == POLL_TIMEOUT:
            raise PollTimeout(text)
        if code == 429:
            params_ = data.get("parameters") if isinstance(data, dict) else None
            retry = _int(params_.get("retry_after"), 30) if isinstance(params_, dict) else 30
            raise RateLimited(text, retry_after=retry)
        if code in (400, 403, 404):
            raise DeliveryError(text, permanent=True)
        raise DeliveryError(text, retry_after=BROKEN_TOKENS_RETRY if code == 401 else None)

    async def send(self, chat_id: str, msg: Outgoing) -> str | None:
        return await counted(self.deliveries, self._send(chat_id, msg))

    async def _send(self, chat_id: str, msg: Outgoing) -> str | None:
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": msg.text})
        return str(result.get("message_id")) if isinstance(result, dict) and result.get("message_id") else None

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def next_update(self, wait_seconds: int = 30) -> dict[str, Any] | None:
        """Long polling: the next update (Zalo returns one per call), or None when none came in time."""
        try:
            result = await self.call("getUpdates", {"timeout": str(wait_seconds)},
                                     timeout=aiohttp.ClientTimeout(total=wait_seconds + 10))
        except PollTimeout:
            return None
        return result if isinstance(result, dict) else None
