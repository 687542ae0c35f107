"""Where messages to residents go after a turn: push senders per channel, mailboxes for pull channels.

Channels that can push (Telegram, Zalo) register a `Sender`: the turns' replies (bot/replies.py), the
team's answers and announcements go through it. The web chat cannot push: its
messages wait in mailboxes (e.g. the hand-off outbox) and the page collects them with
`GET /api/chat/poll?session=...` or with its next `POST /api/chat`.
"""

from __future__ import annotations

from collections.abc import Sequence

from kernel.edge import ascii_int
from kernel.messages import Reply
from kernel.ports import Mailbox, Sender


class SenderRegistry:
    """The push sender of each channel, registered by the server before the features' workers start."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, sender: Sender) -> None:
        self._senders[sender.channel] = sender

    def get(self, channel: str) -> Sender | None:
        return self._senders.get(channel)

    def channels(self) -> Sequence[str]:
        return tuple(self._senders)


class MailboxSet:
    """The features' mailboxes for pull channels (kernel.ports.Mailboxes), fixed when they are built."""

    def __init__(self, mailboxes: Sequence[Mailbox] = ()) -> None:
        self._mailboxes = tuple(mailboxes)

    async def collect(self, channel: str, user_id: str, ack: str | None = None) -> tuple[list[Reply], str | None]:
        """Everything waiting for the resident in every mailbox, and the cursor to acknowledge it with.

        `ack` is the opaque cursor a previous collect returned ("" the first time): what it covers is
        marked delivered, and what follows is returned until acknowledged. Without `ack` each message is
        returned once (marked delivered as it is read)."""
        positions: dict[str, int] = {}
        for part in (ack or "").split(";"):
            name, _, value = part.partition("=")
            number = ascii_int(value)  # "²".isdigit() is true, int("²") raises
            if number is not None:
                positions[name] = number
        out: list[Reply] = []
        cursor: list[str] = []
        for mailbox in self._mailboxes:
            replies, position = await mailbox.take(channel, user_id,
                                                  None if ack is None else positions.get(mailbox.name, 0))
            out += replies
            if position is not None:
                cursor.append(f"{mailbox.name}={position}")
        return out, (";".join(cursor) if ack is not None else None)
