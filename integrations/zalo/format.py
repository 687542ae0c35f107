"""Replies as Zalo messages: text cut to Zalo's length limit, buttons kept within its limits or numbered."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.messages import Reply
from kernel.text import chosen_number as chosen_number  # the channel reads typed numbers with it
from kernel.text import split_text

# Zalo refuses (error -210 in public reports) a customer-service text longer than this.
MAX_TEXT = 2000
# A message with buttons carries at most this many; titles and payloads are bounded too.
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_BUTTON_PAYLOAD = 1000
# Button payloads travel back inside a text event; the marker tells them from typed text.
PAYLOAD_MARK = "#tl:"


@dataclass(frozen=True)
class Outgoing:
    """One message for Zalo: text and, when Zalo can show them, buttons (label, payload)."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()


@dataclass
class Rendered:
    """A resident's replies as Zalo messages, and the payloads behind numbers offered as text."""

    messages: list[Outgoing] = field(default_factory=list)
    numbered: list[str] = field(default_factory=list)

    def add_hint(self, note: str) -> None:
        """Tell the resident how to answer a numbered list (after the last message)."""
        last = self.messages[-1]
        if len(last.text) + len(note) + 1 <= MAX_TEXT:
            self.messages[-1] = Outgoing(f"{last.text}\n{note}", last.buttons)
        else:
            self.messages.append(Outgoing(note))


def buttons_fit(buttons: list[tuple[str, str]], max_buttons: int = MAX_BUTTONS) -> bool:
    """Whether Zalo can show these buttons as real buttons on one message."""
    return 0 < len(buttons) <= max_buttons and all(
        0 < len(label) <= MAX_BUTTON_TITLE and len(PAYLOAD_MARK + payload) <= MAX_BUTTON_PAYLOAD
        for label, payload in buttons)


def render(replies: list[Reply] | tuple[Reply, ...], buttons_allowed: bool = True) -> Rendered:
    """Zalo messages for the replies. Buttons beyond Zalo's limits (or on a platform without
    buttons) become a numbered list at the end of the message; the resident answers with the number.
    Numbering runs across the whole batch so every number stays unambiguous."""
    out = Rendered()
    for reply in replies:
        buttons = [(b.label, b.payload) for b in reply.flat_buttons()]
        pieces = split_text(reply.text, MAX_TEXT) or ([""] if buttons else [])
        if buttons and buttons_allowed and buttons_fit(buttons):
            out.messages += [Outgoing(p) for p in pieces[:-1]]
            out.messages.append(Outgoing(pieces[-1] or "…", tuple(buttons)))
            continue
        if buttons:
            lines = []
            for label, payload in buttons:
                out.numbered.append(payload)
                lines.append(f"{len(out.numbered)}. {label}")
            menu = "\n".join(lines)
            if len(pieces[-1]) + len(menu) + 2 <= MAX_TEXT:
                pieces[-1] = f"{pieces[-1]}\n\n{menu}".strip()
            else:
                pieces += split_text(menu, MAX_TEXT)
        out.messages += [Outgoing(p) for p in pieces]
    return out


def button_payload(text: str) -> str | None:
    """The payload of a pressed button when the text event carries one, else None."""
    stripped = text.strip()
    if stripped.startswith(PAYLOAD_MARK):
        payload = stripped[len(PAYLOAD_MARK):]
        return payload or None
    return None
