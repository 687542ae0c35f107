"""The typed boundary between channels and the core: messages in, replies out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResidentKey:
    """Who is talking: a channel name and the platform's id of the resident there."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Incoming:
    """One thing a resident did: typed text or pressed a button (exactly one of the two)."""

    who: ResidentKey
    text: str | None = None
    payload: str | None = None
    # The language the resident chose explicitly in this request (web chat `lang`).
    language: str | None = None
    # The platform's language code for the user (Telegram's `language_code`), a hint only.
    platform_language: str | None = None
    # A platform id of the message or update, so a redelivery is processed at most once.
    message_id: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.payload is None):
            raise ValueError("an incoming message has either text or a payload")


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
    notices: tuple[str, ...] = field(default_factory=tuple)
