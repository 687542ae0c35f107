"""Channel adapters: each translates one platform's payloads to and from the core's types, nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from bot.types import Reply

if TYPE_CHECKING:
    from bot.app import Services
    from bot.server import Channel


class DeliveryError(Exception):
    """A message could not be delivered. `permanent` means retrying will never help
    (the resident blocked the bot, the chat does not exist); `retry_after` is the
    platform's requested wait in seconds, when it gave one."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    """Pushes replies to a resident of one channel outside a request (hand-off answers, broadcasts)."""

    channel: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Deliver in order or raise DeliveryError."""
        ...


def configured_channels(services: "Services") -> list["Channel"]:
    """The channels enabled by the settings (credentials present in the environment)."""
    channels: list[Channel] = []
    if services.settings.telegram.token:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(services))
    return channels
