"""Conversation state: a small immutable value saved after every turn."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class DialogueState:
    flow: str | None = None
    step: str | None = None
    # "Không được" presses at the current step: the first gives troubleshooting, the next a person.
    stuck: int = 0
    # Messages in a row the assistant did not understand.
    misunderstood: int = 0
    # What the resident is being asked for ("village_for_handoff", "village_for_subscribe").
    awaiting: str | None = None
    # Steps already tried in this guide that did not work (for the team's case card).
    tried: tuple[str, ...] = ()
    # The commune's day the scam warning was last shown ("" when the day was not known): once a conversation.
    warned: str | None = None
    # Guides set aside for another task or cancelled, as "flow/step", the most recent first: offered again
    # when the new one ends or the resident says "làm tiếp" (kept with the state, so for days).
    paused: tuple[str, ...] = ()
    # The payloads of the last reply's buttons in order: a typed "2" presses the second.
    choices: tuple[str, ...] = ()

    def to_json(self) -> str:
        # The fields in order, shallow: dataclasses.asdict deep-copies every value, and this runs a few
        # times a turn (the saved state, the position); the text is the same, so saved positions still match.
        return json.dumps({name: getattr(self, name) for name in _FIELDS}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> DialogueState:
        if not raw:
            return cls()
        data = json.loads(raw)
        for key in ("tried", "paused", "choices"):
            data[key] = tuple(data.get(key) or ())
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def position(self) -> str:
        """A short mark of where the conversation is (guide, step, tries, what is awaited): a button shown
        at one position answers only that position (8 hex characters, small enough for Telegram's
        64-byte callback data next to a payload)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:8]

    def at(self, flow: str | None, step: str | None) -> DialogueState:
        return replace(self, flow=flow, step=step, stuck=0)

    def ended(self) -> DialogueState:
        return replace(self, flow=None, step=None, stuck=0, tried=())


_FIELDS = tuple(f.name for f in fields(DialogueState))
__all__ = ["DialogueState", "replace"]
