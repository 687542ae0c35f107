"""Ports: what the assistant needs from the outside world, implemented by integrations/ (and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kernel.messages import Button, Incoming, Reply, ResidentKey, TurnResult

if TYPE_CHECKING:
    from kernel.feature import StaffRouter


class DeliveryError(Exception):
    """A message could not be delivered. `permanent` means retrying will never help
    (the resident blocked the bot, the chat does not exist); `retry_after` is the
    platform's requested wait in seconds, when it gave one."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Turns(Protocol):
    """The core's side of a conversation (bot.pipeline.Pipeline): a resident's message in, the answer out."""

    async def handle(self, incoming: Incoming) -> TurnResult:
        """Process one incoming message (at most once per message_id) and return what to answer."""
        ...


class ResidentDirectory(Protocol):
    """What a channel may read about residents and report about them; storage alone writes the rows."""

    async def language(self, who: ResidentKey) -> str | None:
        """The language the resident chose, or None (unknown resident, or no choice yet)."""
        ...

    async def known(self, who: ResidentKey) -> bool:
        """True when the resident exists (has talked to the assistant and was not forgotten)."""
        ...

    async def set_blocked(self, who: ResidentKey, blocked: bool) -> None:
        """The resident blocked (or unblocked) the assistant on the platform; nothing is sent to the blocked."""
        ...

    async def unsubscribe(self, who: ResidentKey, via: str) -> None:
        """The resident left the channel (e.g. unfollowed the Zalo OA): announcements stop; `via` names
        the reason in the analytics event. Their other data stays until they ask to be forgotten."""
        ...


class Mailboxes(Protocol):
    """Every mailbox of a pull channel at once (bot.senders.MailboxSet)."""

    async def collect(self, channel: str, user_id: str, ack: str | None = None) -> tuple[list[Reply], str | None]:
        """What waits for the resident and the cursor to acknowledge it with (see Mailbox.take)."""
        ...


class HealthCheck(Protocol):
    """The database behind the assistant, as a health endpoint sees it."""

    async def ping(self) -> bool:
        """True when the database answers; raises otherwise."""
        ...


async def database_down(health: HealthCheck | None, timeout: float = 3.0) -> bool:
    """True when the database does not answer (quickly): an outage, not a bad message, so keep retrying."""
    if health is None:
        return False
    try:
        await asyncio.wait_for(health.ping(), timeout)
    except Exception:  # any failure to reach it is an outage
        return True
    return False


class Leadership(Protocol):
    """A job only one process may do at a time (polling Telegram), held until the process dies or releases
    it (bot.storage.leader.SessionLock on PostgreSQL); the others wait to take it over."""

    async def acquire(self) -> None:
        """Wait until this process holds it (tried again every few seconds)."""
        ...

    async def held(self) -> bool:
        """Whether this process still holds it (False once its hold was lost, e.g. the database restarted)."""
        ...

    async def release(self) -> None:
        """Let another process take it over (nothing if not held)."""
        ...


class Sender(Protocol):
    """Pushes replies to a resident of one channel: a turn's replies, hand-off answers, broadcasts."""

    channel: str

    async def send(self, user_id: str, replies: Sequence[Reply], at: str | None = None) -> None:
        """Deliver in order or raise DeliveryError. `at` is the conversation's position a turn's buttons
        answer (TurnResult.at), for channels that carry it in the button."""
        ...


class Mailbox(Protocol):
    """Messages kept for a resident of a pull channel (the web chat) until they are collected."""

    name: str

    async def take(self, channel: str, user_id: str, after: int | None) -> tuple[list[Reply], int | None]:
        """The waiting messages, oldest first, and the position after them.

        With `after` None each message is marked delivered as it is returned (returned once). With a
        position, messages up to it are acknowledged (delivered) and the later ones are returned, again
        and again until acknowledged, so a response lost on the way loses nothing."""
        ...


class Channel(Protocol):
    """A messaging channel started beside the web chat (it may add routes to the web app, e.g. a webhook).

    `open` connects to the platform (clients, tokens) without receiving, so the server can start the
    features' workers, which send through it, before any message arrives; `start` begins receiving."""

    async def open(self) -> None: ...

    async def start(self, app: Any) -> None: ...

    async def stop(self) -> None: ...


class StaffDesk(Protocol):
    """Where a team works on cases and staff compose announcements: Telegram groups, the web desk.

    The features talk to "a staff desk" only. A desk posts what features send to a `place` (a Telegram
    group's chat id, a web desk's team), optionally in a `thread` (a case's forum topic) or as a reply;
    ids are strings whatever the desk. What staff do there (commands, button presses, messages) comes
    back as kernel.feature.StaffAction to the StaffRouter the desk was given with `serve`, before it
    receives anything."""

    name: str
    # Seconds between two posts to one place that the platform allows (0: no pace); the hand-off outbox
    # keeps it across servers through the database.
    place_interval: float

    async def open_thread(self, place: str, title: str) -> str | None:
        """A new thread for one case at `place` (a forum topic), or None where the place has none."""
        ...

    async def post(self, place: str, text: str, buttons: Sequence[Sequence[Button]] = (),
                   thread: str | None = None, reply_to: str | None = None) -> str:
        """Post a message with rows of buttons; returns its id at the desk. Raises DeliveryError."""
        ...

    async def close_thread(self, place: str, thread: str) -> None:
        """Close a case's thread once the case has ended (a forum topic: no more posts in it). Closing a
        thread that is already closed is not an error. Raises DeliveryError."""
        ...

    def serve(self, router: StaffRouter) -> None:
        """Route what staff do at this desk to the features; called once, before the desk receives."""
        ...
