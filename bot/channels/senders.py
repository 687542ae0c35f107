"""Where messages to residents go outside a request: push senders per channel, mailboxes for pull channels.

Channels that can push (Telegram, Zalo) register a `Sender`. The web chat cannot push: its
messages wait in mailboxes (e.g. the hand-off outbox) and the page collects them with
`GET /api/chat/poll?user=...` or with its next `POST /api/chat`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.channels import Sender
from bot.types import Reply


class Mailbox(Protocol):
    """Messages kept for a resident of a pull channel until they are collected."""

    async def take(self, channel: str, user_id: str) -> list[Reply]:
        """Return the waiting messages, oldest first, and mark them delivered (each is returned once)."""
        ...


class SenderRegistry:
    """The push sender of each channel and the mailboxes of pull channels, built once at start-up."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}
        self._mailboxes: list[Mailbox] = []

    def register(self, sender: Sender) -> None:
        self._senders[sender.channel] = sender

    def get(self, channel: str) -> Sender | None:
        return self._senders.get(channel)

    def channels(self) -> Sequence[str]:
        return tuple(self._senders)

    def add_mailbox(self, mailbox: Mailbox) -> None:
        self._mailboxes.append(mailbox)

    async def collect(self, channel: str, user_id: str) -> list[Reply]:
        """Everything waiting for the resident in every mailbox (each message returned once)."""
        out: list[Reply] = []
        for mailbox in self._mailboxes:
            out += await mailbox.take(channel, user_id)
        return out
