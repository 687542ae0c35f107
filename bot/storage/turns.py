"""A turn's transaction without the ORM's unit of work: the resident and their conversation read as one row into
plain values, written back as Core statements built once (only what changed), and an ORM session on the same
connection only when a feature asks for one (the hand-off's cases).

The ORM cost a turn more than the database did: loading two entities, the flush comparing every attribute of
every object and the statements it builds were about half of a turn's CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.storage.db import AnalyticsEvent, Conversation, Resident, utcnow
from bot.storage.prepared import Prepared

# Where a statement runs: a turn's Core connection or a session's transaction.
Executor = AsyncSession | AsyncConnection
_RESIDENTS = cast(Table, Resident.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
# Built once: SQLAlchemy then finds their compiled form in its cache instead of building and keying them again.
_CONVERSATION_NEW = Prepared(insert(_CONVERSATIONS))
_CONVERSATION_SAVE = Prepared(update(_CONVERSATIONS).where(_CONVERSATIONS.c.resident_id == bindparam("rid")))
_RESIDENT_SAVE = Prepared(update(_RESIDENTS).where(_RESIDENTS.c.id == bindparam("rid")))
_EVENTS = Prepared(insert(cast(Table, AnalyticsEvent.__table__)))
_CHANGEABLE = ("language", "village", "subscribed", "consent_at")  # what a turn may change of the resident


@dataclass
class TurnResident:
    """The resident as a turn reads and changes them (effect handlers set the language, village, consent);
    `TurnTx.save` writes back the fields that changed."""

    id: int
    channel: str
    platform_id: str
    language: str | None = None
    village: str | None = None
    subscribed: bool = False
    consent_at: datetime | None = None
    _loaded: tuple[object, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        self._loaded = self._values()

    def _values(self) -> tuple[object, ...]:
        return self.language, self.village, self.subscribed, self.consent_at

    def changes(self) -> dict[str, object]:
        return {f: now for f, now, then in zip(_CHANGEABLE, self._values(), self._loaded, strict=True) if now != then}



@dataclass
class TurnConversation:
    """The conversation's saved state (`stored`: it has a row already)."""

    state: str = "{}"
    turns: int = 0
    updated_at: datetime | None = None
    stored: bool = False


class TurnTx:
    """One turn's write transaction: its Core connection, the analytics events it tracked, and an ORM session
    on the same connection made only if a feature uses one (flushed before the commit)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._session: AsyncSession | None = None
        self._events: list[dict[str, Any]] = []

    @property
    def session(self) -> AsyncSession:
        """An ORM session in this transaction (a feature's models: cases, their messages)."""
        if self._session is None:
            self._session = AsyncSession(bind=self.conn, expire_on_commit=False, autoflush=True)
        return self._session

    def track(self, resident_id: int | None, kind: str, flow: str | None = None, step: str | None = None,
              data: dict[str, object] | None = None) -> None:
        """An analytics event, written with the turn (one statement for all of a turn's events)."""
        self._events.append({"resident_id": resident_id, "kind": kind, "flow": flow, "step": step, "data": data,
                             "created_at": utcnow()})

    def drop_events_of(self, resident_id: int) -> None:
        """The resident was forgotten in this turn: their events go with them."""
        self._events = [e for e in self._events if e["resident_id"] != resident_id]

    async def save(self, resident: TurnResident, conv: TurnConversation) -> None:
        """Write what the turn changed: the conversation always, the resident's row only if it changed."""
        values = {"state": conv.state, "turns": conv.turns, "updated_at": conv.updated_at}
        if conv.stored:
            await _CONVERSATION_SAVE.run(self.conn, {"rid": resident.id, **values})
        else:
            await _CONVERSATION_NEW.run(self.conn, {"resident_id": resident.id, **values})
            conv.stored = True
        changed = resident.changes()
        if changed:
            await _RESIDENT_SAVE.run(self.conn, {"rid": resident.id, **changed})
            resident._loaded = resident._values()

    async def finish(self) -> None:
        """Before the commit: the tracked events and whatever a feature left in the ORM session."""
        if self._events:
            await _EVENTS.run(self.conn, self._events)
            self._events = []
        if self._session is not None:
            await self._session.flush()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


__all__ = ["Executor", "TurnConversation", "TurnResident", "TurnTx"]
