"""The Telegram channel on python-telegram-bot: updates in as Incoming, replies out, polling or webhook.

Residents talk to the bot in private chats only; in groups the bot serves staff commands and
ignores everything else. Staff groups are `telegram.staff_chat_ids` in config.yml plus every
`telegram_chat_id` in the commune's teams.yml (read on each update, so edits apply at once).

The core reaches it through ports, built once by the composition root (bot/app.py):

    channel = TelegramChannel(settings, turns, residents, catalogs, commune)
    channel.sender   # TelegramSender (kernel.ports.Sender): send(user_id, replies), send_to_chat()
    channel.desk     # TelegramDesk (kernel.ports.StaffDesk): the staff groups; desk.serve(router) before start()
    await channel.open()        # connect to the Bot API; nothing is received yet
    await channel.start(app)    # start receiving (polling, or the webhook route on `app`)

Residents' buttons with a feature's prefix go through the pipeline, like any other press; what
staff do in their groups goes to the features through the desk (integrations/telegram/desk.py).

At most once: each update becomes a turn with message_id "tg:<update_id>", which the pipeline
records, so a redelivered update is dropped. Polling confirms an update to Telegram (moves the
offset) only after its turn is saved (integrations/telegram/dispatch.py: chats run concurrently,
each in order, a failed update is retried, and kept while the database is down); a webhook request
is answered 200 only then, otherwise 500 so Telegram sends it again. Every handler is attached in
the constructor, before start() receives anything. Incoming text is cleaned at the edge
(kernel/edge.py); a webhook body that is not a readable update gets a 400.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from integrations.telegram.desk import TelegramDesk
from integrations.telegram.dispatch import Dispatcher, Retry, chat_key
from integrations.telegram.limiter import TelegramRateLimiter
from integrations.telegram.sender import CHANNEL, TelegramSender
from kernel.commune import CommuneSource
from kernel.edge import Refused, parse_json
from kernel.flood import FloodLimiter
from kernel.i18n import Catalogs
from kernel.locks import KeyedLocks
from kernel.logs import hide
from kernel.messages import Incoming, Reply, ResidentKey
from kernel.ports import HealthCheck, Leadership, ResidentDirectory, Turns
from kernel.settings import ConfigError, TelegramSettings

log = logging.getLogger(__name__)

# An update whose handling fails (a bug) is tried this many times, with growing pauses, before it is
# given up and logged; while the database is down it is kept and tried until it is back.
MAX_ATTEMPTS = 5
# While updates are in hand the poller asks again this often (without a long poll: Telegram would
# answer at once with the updates in hand), so other chats' new updates are picked up quickly.
BUSY_POLL_SECONDS = 0.2
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# With several processes (a `leader` given), the poller checks this often that it still holds the poll.
LEAD_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class _Skipped:
    """An update that could not be read: only its id is known (so the offset can move past it)."""

    update_id: int


class TelegramChannel:
    """Serves residents and staff on Telegram (the Channel protocol of kernel.ports).

    It gets the core as ports: `turns` answers residents, `residents` hears who blocked the bot;
    `catalogs` reads /lang's argument, `commune` knows the villages (deep links) and the teams' groups."""

    def __init__(self, settings: TelegramSettings, turns: Turns, residents: ResidentDirectory, catalogs: Catalogs,
                 commune: CommuneSource, health: HealthCheck | None = None, leader: Leadership | None = None) -> None:
        self.settings = settings
        self.turns = turns
        self.residents = residents
        self.catalogs = catalogs
        self.commune = commune
        if not self.settings.token:
            raise ConfigError("the Telegram channel needs TELEGRAM_BOT_TOKEN")
        if self.settings.mode == "webhook" and not self.settings.webhook_url:
            raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL (the public https URL Telegram "
                              "posts to, ending in telegram.webhook_path)")
        hide(self.settings.token)  # httpx logs each Bot API URL, which holds the token
        self.limiter = TelegramRateLimiter(self.settings.rate_per_second,
                                           private_chat_interval=self.settings.chat_interval_seconds,
                                           group_per_minute=self.settings.group_per_minute)
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(self.settings.token).base_url(self.settings.api_url)
            .base_file_url(self.settings.file_url)
            .rate_limiter(self.limiter).updater(None).connection_pool_size(64).pool_timeout(30.0)
            .get_updates_connection_pool_size(2).build())
        self.bot = self.app.bot
        self.sender = TelegramSender(self.bot, residents)
        self.desk = TelegramDesk(self.bot, self.sender, self.staff_chat_ids, self.settings.group_per_minute)
        self.webhook_secret = self.settings.webhook_secret or secrets.token_urlsafe(32)
        self.health = health
        # Processes sharing a database poll one at a time (Telegram answers a second poller 409 Conflict).
        self.leader = leader
        self._errors: dict[int, BaseException] = {}  # update_id -> the error its handler raised
        self._failed: dict[int, int] = defaultdict(int)  # webhook: update_id -> failed deliveries
        self._chat_locks = KeyedLocks()  # webhook: one chat in order
        limiter = (FloodLimiter(settings.rate_limit_messages, settings.rate_limit_window_seconds)
                   if settings.rate_limits else None)
        self.dispatch = Dispatcher(self._run_update, health,
                                   Retry(settings.retry_seconds, settings.retry_max_seconds, MAX_ATTEMPTS),
                                   limiter, self._slow_down)
        self._poller: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._install_handlers()

    def staff_chat_ids(self) -> set[int]:
        return set(self.settings.staff_chat_ids) | self.commune.current().teams.chat_ids()

    # --- lifecycle (Channel protocol) ----------------------------------------------

    async def open(self) -> None:
        """Connect to the Bot API (once); nothing is received until start()."""
        await self.app.initialize()

    async def start(self, app: web.Application) -> None:
        """Start receiving: a webhook route on `app`, or a polling task (connecting first if needed)."""
        await self.open()
        if self.settings.mode == "webhook":
            app.router.add_post(self.settings.webhook_path, self.webhook)
            await self.bot.set_webhook(self.settings.webhook_url, secret_token=self.webhook_secret,
                                       allowed_updates=ALLOWED_UPDATES)
            log.info("telegram: webhook set to %s", self.settings.webhook_url)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: polling as @%s", self.bot.username)

    async def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass
        await self.dispatch.stop()  # updates in hand stay unconfirmed: Telegram sends them again
        if self.leader is not None:
            await self.leader.release()  # another process takes the poll over at once
        await self.app.shutdown()

    # --- receiving -------------------------------------------------------------------

    async def _poll(self) -> None:
        """Poll while this process holds the poll (always, without a `leader`); wait to take it over else."""
        while not self._stopping.is_set():
            if self.leader is not None:
                await self.leader.acquire()
                log.info("telegram: process %d polls now", os.getpid())
            if not await self._poll_while_leading():
                return

    async def _poll_while_leading(self) -> bool:
        """Long-poll getUpdates and hand updates to their chats without waiting for them; the offset
        confirmed is the dispatcher's (never past an update still in hand). Returns True when the poll was
        lost (updates in hand still finish here; their redelivery to the next poller is a duplicate), False
        when polling must stop (stopping, or the token refused)."""
        delay = 1.0
        checked = asyncio.get_running_loop().time()
        while not self._stopping.is_set():
            now = asyncio.get_running_loop().time()
            if self.leader is not None and now - checked >= LEAD_CHECK_SECONDS:
                checked = now
                if not await self.leader.held():
                    log.warning("telegram: process %d lost the poll; waiting to take it again", os.getpid())
                    return True
            busy = self.dispatch.busy
            try:
                updates = await self._fetch(self.dispatch.offset(), 0 if busy else self.settings.poll_timeout)
            except InvalidToken:
                log.error("telegram: the bot token was refused; polling stopped")
                return False
            except Conflict as exc:
                log.error("telegram: %s (another instance polling, or a webhook set); retrying", exc.message)
                await asyncio.sleep(5)
                continue
            except Exception as exc:
                log.warning("telegram: getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            fresh = [u for u in updates if not self.dispatch.known(u.update_id)]
            for update in fresh:
                if isinstance(update, Update):
                    self.dispatch.submit(update)
                else:
                    self.dispatch.skip(update.update_id)
            if self.dispatch.busy and not fresh:
                await self.dispatch.wait_progress(BUSY_POLL_SECONDS)
        return False

    async def _fetch(self, offset: int | None, timeout: int) -> list[Any]:
        """The next updates. If PTB cannot parse a batch (an update it does not know how to read),
        fetch it raw and parse update by update, so one bad update cannot stop the bot."""
        try:
            return list(await self.bot.get_updates(offset=offset, timeout=timeout,
                                                   allowed_updates=ALLOWED_UPDATES,
                                                   read_timeout=timeout + 10))
        except TelegramError:
            raise
        except Exception:
            log.exception("telegram: a batch of updates could not be read; reading them one by one")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PTB suggests get_updates, which is what just failed
            raw = await self.bot.do_api_request("getUpdates", api_kwargs={
                "offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES})
        parsed: list[Any] = []
        for data in raw or []:
            try:
                parsed.append(Update.de_json(data, self.bot))
            except Exception:
                log.error("telegram: update %s cannot be read and is skipped", data.get("update_id"))
                parsed.append(_Skipped(int(data["update_id"])))
        return parsed

    async def _run_update(self, update: Update) -> BaseException | None:
        """One update through PTB's handlers; the error a handler raised (PTB reports it to _on_error)."""
        await self.app.process_update(update)
        return self._errors.pop(update.update_id, None)

    async def _slow_down(self, update: Update) -> None:
        """Tell a resident over the per-resident limit to slow down (their extra messages are dropped)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        language = await self.residents.language(self.resident(user.id)) or user.language_code
        _ = self.catalogs.get(self.catalogs.negotiate(language))
        await self.sender.send_to_chat(chat.id, [Reply(_("Bạn gửi nhanh quá. Xin chờ vài giây rồi gửi tiếp."))])

    async def webhook(self, request: web.Request) -> web.Response:
        """POST from Telegram: refuse without the right secret header; 200 once the update is handled."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            log.warning("telegram webhook: request without the right secret token refused (%s)", request.remote)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = parse_json(await request.read(), request.charset)
            if not isinstance(data, dict):
                raise Refused("not an object")
            update = Update.de_json(data, self.bot)
        except Exception:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        async with self._chat_locks[chat_key(update)]:  # Telegram may post one chat's updates in parallel
            error = await self._run_update(update)
        if error is not None:
            self._failed[update.update_id] += 1
            if await self.dispatch.database_down() or self._failed[update.update_id] < MAX_ATTEMPTS:
                return web.json_response({"error": "try again"}, status=500)  # Telegram sends it again
            log.error("telegram: update %s failed %d times; dropped", update.update_id, MAX_ATTEMPTS)
        self._failed.pop(update.update_id, None)
        return web.json_response({})

    async def _on_error(self, update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
        if isinstance(update, Update) and context.error is not None:
            self._errors[update.update_id] = context.error
        log.error("telegram: error handling update %s", getattr(update, "update_id", update),
                  exc_info=context.error)

    # --- handlers ----------------------------------------------------------------------

    def _install_handlers(self) -> None:
        from integrations.telegram import handlers as h

        private = filters.ChatType.PRIVATE
        a = self.app
        a.add_handler(CommandHandler("start", h.on_start(self), filters=private))
        a.add_handler(CommandHandler("help", h.command_payload(self, "intent:help"), filters=private))
        a.add_handler(CommandHandler("menu", h.command_payload(self, "menu"), filters=private))
        a.add_handler(CommandHandler("lang", h.on_lang(self), filters=private))
        a.add_handler(CommandHandler("stop", h.command_payload(self, "cancel"), filters=private))
        a.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, h.on_text(self)))
        a.add_handler(MessageHandler(private & filters.COMMAND, h.command_payload(self, "intent:help")))
        # Anything else a resident sends (contact, location, photo, sticker, ...) is an attachment.
        a.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, h.on_attachment(self)))
        a.add_handler(CallbackQueryHandler(h.on_button(self)))
        a.add_handler(ChatMemberHandler(h.on_member(self), ChatMemberHandler.MY_CHAT_MEMBER))
        a.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, h.on_staff_message(self)))
        a.add_error_handler(self._on_error)

    def resident(self, user_id: int) -> ResidentKey:
        return ResidentKey(CHANNEL, str(user_id))

    async def turn(self, update: Update, incoming: Incoming) -> None:
        """One resident turn: the pipeline, then the replies to the private chat."""
        result = await self.turns.handle(incoming)
        if result.replies and not result.delivered and update.effective_chat is not None:
            await self.sender.send_to_chat(update.effective_chat.id, result.replies, at=result.at)


__all__ = ["TelegramChannel", "MAX_ATTEMPTS"]
