"""The typed boundary between channels and the core: messages in, replies out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResidentKey:
    """Who is talking: a channel name and the platform's id of the resident there."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


# What a resident may send besides text and buttons: a contact card, a location (or venue),
# and any other media (photo, sticker, voice, file, ...).
ATTACHMENTS = frozenset({"contact", "location", "media"})
# The largest photo or voice note a resident may send (every channel; the web upload too).
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class MediaFile:
    """A photo or voice note as the channel fetched it from the platform; its type is decided by the core,
    from the content. One the platform announced as larger than MAX_FILE_BYTES is not fetched: `too_large`."""

    data: bytes = b""
    too_large: bool = False
    # What the resident wrote with it (Telegram's caption), as typed: the core redacts it before keeping it.
    caption: str | None = None

    def __repr__(self) -> str:  # never the bytes or the caption in a log line
        return f"MediaFile({len(self.data)} bytes, too_large={self.too_large})"


@dataclass(frozen=True)
class Incoming:
    """One thing a resident did: typed text, pressed a button or sent an attachment (exactly one).

    An attachment is named by its kind (ATTACHMENTS); what it held is never passed on, except a photo or voice
    note's content (`media`, with the kind "media"), which the core keeps only for the resident's case."""

    who: ResidentKey
    text: str | None = None
    payload: str | None = None
    attachment: str | None = None
    # The language the resident chose explicitly in this request (web chat `lang`).
    language: str | None = None
    # The platform's language code for the user (Telegram's `language_code`), a hint only.
    platform_language: str | None = None
    # A platform id of the message or update, so a redelivery is processed at most once.
    message_id: str | None = None
    # For a button press: the conversation's position (TurnResult.at) when the button was shown. A press
    # for a position that is no longer current is ignored, so a double tap or an old button acts once.
    at: str | None = None
    # A photo or voice note's content (attachment "media" only); None for other media (stickers, videos, ...).
    media: MediaFile | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.text, self.payload, self.attachment)) != 1:
            raise ValueError("an incoming message has exactly one of text, a payload or an attachment")
        if self.attachment is not None and self.attachment not in ATTACHMENTS:
            raise ValueError(f"unknown attachment kind {self.attachment!r}")
        if self.media is not None and self.attachment != "media":
            raise ValueError("a file comes with the attachment kind 'media'")


@dataclass(frozen=True)
class Button:
    """A button: what the resident sees and what comes back when pressed."""

    label: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message to the resident: translated text and rows of buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()

    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True)
class TurnState:
    """What the core tells the channel about the conversation after a turn."""

    intent: str | None
    flow: str | None
    step: int | None
    steps: int | None
    language: str

    def as_dict(self) -> dict[str, object]:
        return {
            "intent": self.intent,
            "flow": self.flow,
            "step": self.step,
            "steps": self.steps,
            "language": self.language,
        }


@dataclass(frozen=True)
class TurnResult:
    """Everything a channel needs to answer one incoming message."""

    replies: tuple[Reply, ...]
    state: TurnState
    duplicate: bool = False
    # The resident asked to be forgotten in this turn: a channel drops what it keeps about them too.
    forgotten: bool = False
    # The conversation's position after the turn: channels attach it to the replies' buttons (Incoming.at).
    at: str | None = None
    # A button press for a position that was no longer current: ignored, nothing stored or answered.
    stale: bool = False
    # The core delivers the replies itself (through the channel's Sender, from its outbox; on a pull channel they
    # wait in its mailbox, collected with the answer): the channel must not.
    delivered: bool = False
