"""GET /api/chat/history: the resident's own conversation, redacted as stored, and the guide they left open,
so a reload or a closed tab does not wipe what the page showed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kernel.messages import Reply, ResidentKey, TurnState

RESIDENT, ASSISTANT = "resident", "assistant"


@dataclass(frozen=True)
class Past:
    """What the page shows again: messages oldest first as (RESIDENT | ASSISTANT, text), the conversation's
    state and position (TurnResult.at), a "continue" reply when a guide is open, and the client ids of the
    resident's messages among them (answered: a page does not send them again)."""

    messages: tuple[tuple[str, str], ...]
    state: TurnState
    at: str | None
    resume: Reply | None
    answered: tuple[str, ...] = ()


class History(Protocol):
    """The past of a resident (bot.history.ChatHistory); None when no such resident exists."""

    async def past(self, who: ResidentKey, locale: str | None = None) -> Past | None: ...
