"""The Zalo channel: signed webhook events in, customer-service messages (or Bot API messages) out.

Two Zalo products serve residents the same way, chosen by `zalo.mode`:
- "oa": a Zalo Official Account (OA Open API v3). Events are signed with
  X-ZEvent-Signature: mac=sha256(app_id + body + timestamp + oa_secret_key); replies go to
  /v3.0/oa/message/cs with buttons; the access token is refreshed and kept in the database.
- "bot": the Zalo Bot API (Telegram-like bot token). Events carry X-Bot-Api-Secret-Token;
  replies go to sendMessage as text, buttons as a numbered list.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

import aiohttp
from aiohttp import web

from integrations.zalo import media as zalo_media
from integrations.zalo.api import BotClient, OAClient, TokenKeeper
from integrations.zalo.events import Event, parse_bot_event, parse_oa_event
from integrations.zalo.format import button_payload, chosen_number, render
from integrations.zalo.memory import ZaloMemory
from kernel.deliveries import DeliveryCount
from kernel.edge import Refused, clean_text, decode_body, parse_json, token
from kernel.flood import FloodLimiter
from kernel.i18n import Catalogs
from kernel.locks import KeyedLocks
from kernel.messages import Incoming, Reply, ResidentKey
from kernel.ports import DeliveryError, HealthCheck, ResidentDirectory, Turns, database_down
from kernel.safety import screen
from kernel.settings import ZaloSettings

log = logging.getLogger(__name__)
TOLD_MAX = 10_000  # residents remembered as told to slow down (the set does not grow with every flooder)
CHANNEL = "zalo"
MAX_TEXT = 4096
DELIVERY_ATTEMPTS = 3
STOP_GRACE_SECONDS = 10.0
class ZaloSender:
    """Pushes replies to a Zalo resident (Sender protocol): the channel's replies, hand-off answers
    and broadcasts all go through here."""

    channel = CHANNEL

    def __init__(self, settings: ZaloSettings, memory: ZaloMemory, residents: ResidentDirectory,
                 catalogs: Catalogs) -> None:
        self.settings = settings
        self.residents = residents
        self.catalogs = catalogs
        self.zstore = memory
        self.http: aiohttp.ClientSession | None = None
        self.tokens: TokenKeeper | None = None
        self.client: OAClient | BotClient | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._locks = KeyedLocks()
        self._starting = asyncio.Lock()
        self._offered: set[str] = set()  # residents with a numbered list stored in zalo_choices

    async def start(self) -> None:
        """Open the HTTP client and load the OA's tokens (once; later calls return at once)."""
        async with self._starting:
            if self.client is not None:
                return
            self._offered = await self.zstore.offered_users()
            http = aiohttp.ClientSession()
            if self.settings.mode == "bot":
                self.http, self.client = http, BotClient(self.settings, http)
                return
            tokens = TokenKeeper(self.settings, self.zstore, http)
            try:
                await tokens.start()
            except BaseException:
                await http.close()
                raise
            self.http, self.tokens, self.client = http, tokens, OAClient(self.settings, http, tokens)
            self._refresher = asyncio.create_task(tokens.keep_fresh(), name="zalo-token-refresh")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            try:
                await self._refresher
            except asyncio.CancelledError:
                pass
            self._refresher = None
        if self.http is not None:
            await self.http.close()
            self.http = None
            self.client = None

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._locks[user_id]

    @property
    def deliveries(self) -> DeliveryCount:
        """What the API client counted since it was opened (read by /metrics)."""
        return self.client.deliveries if self.client is not None else DeliveryCount(CHANNEL)

    async def forget(self, user_id: str) -> None:
        """Drop the numbers offered to a resident who asked to be forgotten."""
        await self.zstore.forget(user_id)
        self._offered.discard(user_id)

    async def language_of(self, user_id: str) -> str:
        """The language the resident chose, else the default."""
        return self.catalogs.negotiate(await self.residents.language(ResidentKey(CHANNEL, user_id)))

    async def send(self, user_id: str, replies: Sequence[Reply], at: str | None = None) -> None:
        """Deliver in order or raise DeliveryError (Zalo's buttons carry no position: `at` is not used)."""
        if self.client is None:
            await self.start()
        assert self.client is not None
        rendered = render(list(replies), buttons_allowed=self.settings.mode == "oa")
        if rendered.numbered:
            _ = self.catalogs.get(await self.language_of(user_id))
            rendered.add_hint(_("Trả lời bằng số để chọn (ví dụ: 1)."))
        async with self._lock(user_id):
            # Remember the numbers first: the resident may answer before the last message is out.
            # (Most replies offer none; the database is touched only to replace or clear a list.)
            if rendered.numbered or user_id in self._offered:
                await self.zstore.offer(user_id, rendered.numbered)
                if rendered.numbered:
                    self._offered.add(user_id)
                else:
                    self._offered.discard(user_id)
            for message in rendered.messages:
                await self.client.send(user_id, message)


class ZaloChannel:
    """The webhook on the shared aiohttp app, and delivery of each turn's replies."""

    def __init__(self, settings: ZaloSettings, turns: Turns, residents: ResidentDirectory,
                 sender: ZaloSender, health: HealthCheck | None = None) -> None:
        self.settings = settings
        self.health = health
        self.turns = turns
        self.residents = residents
        self.sender = sender
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        # Per resident, as on the web: events over the limit are acknowledged (Zalo must not redeliver
        # them) and dropped; the resident is told once per window.
        self.limiter = (FloodLimiter(settings.rate_limit_messages, settings.rate_limit_window_seconds)
                        if settings.rate_limits else None)
        self._told: set[str] = set()  # residents told to slow down, until they are let through again

    async def open(self) -> None:
        """Open the HTTP client and load the OA's tokens (once); nothing is received until start()."""
        await self.sender.start()

    async def start(self, app: web.Application) -> None:
        """Start receiving: the webhook route on `app`, or polling the Bot API (connecting first if needed)."""
        await self.open()
        if self.settings.mode == "bot" and not self.settings.webhook_url:
            # No public URL: ask Zalo for updates instead (the webhook route is not served at all).
            assert isinstance(self.sender.client, BotClient)
            await self.sender.client.call("deleteWebhook", {})
            self._poller = asyncio.create_task(self._poll(self.sender.client), name="zalo-bot-polling")
            log.info("Zalo channel (bot) polling for updates")
            return
        app.router.add_post(self.settings.webhook_path, self.webhook)
        if self.settings.mode == "bot":
            assert isinstance(self.sender.client, BotClient) and self.settings.webhook_secret
            await self.sender.client.set_webhook(self.settings.webhook_url, self.settings.webhook_secret)
        log.info("Zalo channel (%s) listening on %s", self.settings.mode, self.settings.webhook_path)

    async def _poll(self, client: BotClient) -> None:
        backoff = 1.0
        while True:
            try:
                update = await client.next_update()
            except DeliveryError as exc:
                log.warning("Zalo Bot API polling failed: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            if update is None or not isinstance(update.get("message"), dict):
                continue
            await self._handle_kept(parse_bot_event(update))

    async def _handle_kept(self, event: Event) -> None:
        """Zalo's Bot API hands out each update once, so a failed one is kept here: tried again while the
        database is down (until it is back), otherwise up to DELIVERY_ATTEMPTS times."""
        attempt = 0
        while True:
            try:
                await self._handle(event)
                return
            except Exception:
                attempt += 1
                if not await database_down(self.health) and attempt >= DELIVERY_ATTEMPTS:
                    log.exception("Zalo Bot API update from %s could not be handled; dropped", event.user_id)
                    return
                log.warning("Zalo Bot API update from %s failed (try %d); kept", event.user_id, attempt)
                await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))


    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        if self._tasks:
            # Let replies in flight go out, but do not hold a shutdown for long retries.
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS)
            if pending:
                log.warning("stopping with %d Zalo replies still undelivered", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.sender.close()

    async def drain(self) -> None:
        """Wait until every reply scheduled so far has been delivered (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- incoming ---------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        event = self._verify_oa(request, raw) if self.settings.mode == "oa" else self._verify_bot(request, raw)
        if isinstance(event, web.Response):
            return event
        try:
            await self._handle(event)
        except Exception:
            # Not acknowledged: Zalo delivers the event again later, so nothing is lost.
            log.exception("Zalo event from %s could not be handled", event.user_id)
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        return web.json_response({"ok": True})

    def _verify_oa(self, request: web.Request, raw: bytes) -> Event | web.Response:
        header = request.headers.get("X-ZEvent-Signature", "").strip()
        given = header[4:] if header.lower().startswith("mac=") else header
        try:
            text = decode_body(raw, request.charset)
            body = parse_json(text)  # nesting depth checked before anything recurses into it
        except Refused as exc:
            return _refuse(400, str(exc))
        if not isinstance(body, dict):
            return _refuse(400, "the body is not a JSON object")
        timestamp = str(body.get("timestamp") or "")
        secret = self.settings.oa_secret_key or ""
        expected = hashlib.sha256(f"{self.settings.app_id}{text}{timestamp}{secret}".encode()).hexdigest()
        if not given or not hmac.compare_digest(given.lower(), expected):
            log.warning("Zalo event refused: wrong signature")
            return _refuse(401, "wrong signature")
        if not self._fresh(timestamp):
            log.warning("Zalo event refused: timestamp %r is too old or in the future", timestamp[:40])
            return _refuse(401, "stale timestamp")
        return parse_oa_event(body)

    def _verify_bot(self, request: web.Request, raw: bytes) -> Event | web.Response:
        given = request.headers.get("X-Bot-Api-Secret-Token", "")
        secret = self.settings.webhook_secret
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Zalo Bot API event refused: wrong secret token")
            return _refuse(401, "wrong secret token")
        try:
            body = parse_json(raw, request.charset)
        except Refused as exc:
            return _refuse(400, str(exc))
        if isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("result"), dict):
            body = body["result"]
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            return _refuse(400, "not a Zalo Bot API update")
        if not self._fresh(str(body["message"].get("date") or "")):
            return _refuse(401, "stale timestamp")
        return parse_bot_event(body)

    def _fresh(self, timestamp: str) -> bool:
        try:
            value = float(timestamp)
        except ValueError:
            return False
        seconds = value / 1000 if value > 1e11 else value  # Zalo sends milliseconds
        return abs(time.time() - seconds) <= self.settings.max_event_age_seconds

    async def _handle(self, event: Event) -> None:
        if event.kind == "ignored" or not event.user_id:
            return
        try:
            token(event.user_id, "user", 128)
        except Refused:
            log.warning("Zalo event with an unreadable user id ignored")
            return  # acknowledged (a redelivery would not fix it), nothing stored
        if event.message_id is not None:
            try:
                token(event.message_id, "message id", 60)
            except Refused:
                event = replace(event, message_id=None)
        who = ResidentKey(CHANNEL, event.user_id)
        if event.kind == "unfollow":
            # Unfollowing ends announcements for the resident (their other data stays until they ask).
            await self.residents.unsubscribe(who, via="zalo_unfollow")
            log.info("Zalo resident %s unfollowed: unsubscribed", who.user_id)
            return
        if self.limiter is not None and event.kind in ("text", "attachment"):
            if not self.limiter.allow(event.user_id):
                await self._slow_down(event.user_id)
                return
            self._told.discard(event.user_id)
        incoming = await self._incoming(who, event)
        if incoming is None:
            return
        result = await self.turns.handle(incoming)
        if result.forgotten:
            await self.sender.forget(event.user_id)  # nothing about the resident stays behind
        if result.replies and not result.duplicate and not result.delivered:
            self._deliver(event.user_id, list(result.replies))

    async def _slow_down(self, user_id: str) -> None:
        if user_id in self._told:
            return
        if len(self._told) >= TOLD_MAX:  # flooders who never came back: at worst one is told twice
            self._told.clear()
        self._told.add(user_id)
        _ = self.sender.catalogs.get(await self.sender.language_of(user_id))
        self._deliver(user_id, [Reply(_("Bạn gửi nhanh quá. Xin chờ vài giây rồi gửi tiếp."))])

    async def _incoming(self, who: ResidentKey, event: Event) -> Incoming | None:
        if event.kind == "follow":
            # Following greets the resident and offers the menu, through the normal pipeline.
            return Incoming(who=who, payload="intent:greet", message_id=event.message_id)
        if event.kind == "attachment":
            # An image or audio is fetched for the resident's case (the core keeps it); other media: the kind only.
            media = None
            if event.url is not None and event.text == "media":
                if self.sender.http is None:
                    await self.sender.start()
                assert self.sender.http is not None
                caption = clean_text(event.caption)[:MAX_TEXT] if event.caption else None
                media = await zalo_media.fetch(self.sender.http, event.url, caption)
            return Incoming(who=who, attachment=event.text, message_id=event.message_id, media=media)
        text = clean_text(event.text or "").strip()  # NUL, lone surrogates: never reach the core
        if not text:
            return None
        payload = button_payload(text)
        if payload is not None and screen(payload).found:
            payload = None  # typed by hand and holding a phone or ID number: treat it as text, redacted
        if payload is None and (number := chosen_number(text)) is not None:
            payload = await self.sender.zstore.choice(who.user_id, number)
        if payload is not None:
            try:
                return Incoming(who=who, payload=token(payload, "payload"), message_id=event.message_id)
            except Refused:
                pass  # not a payload of ours ("#tl:case:end:²"): read as text
        return Incoming(who=who, text=text[:MAX_TEXT], message_id=event.message_id)

    # --- outgoing ---------------------------------------------------------

    def _deliver(self, user_id: str, replies: list[Reply]) -> None:
        # Zalo wants the webhook answered within seconds; replies go out after the answer.
        task = asyncio.create_task(self._deliver_now(user_id, replies))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_now(self, user_id: str, replies: list[Reply]) -> None:
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                await self.sender.send(user_id, replies)
                return
            except DeliveryError as exc:
                if exc.permanent or attempt == DELIVERY_ATTEMPTS:
                    log.warning("reply to Zalo resident %s not delivered: %s", user_id, exc)
                    return
                await asyncio.sleep(min(exc.retry_after or 2.0 ** attempt, 30.0))
            except Exception:
                log.exception("reply to Zalo resident %s not delivered", user_id)
                return


def _refuse(status: int, why: str) -> web.Response:
    return web.json_response({"error": why}, status=status)
