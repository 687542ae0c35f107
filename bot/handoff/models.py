"""Tables of the hand-off: cases, their team threads, every message both ways (the outbox: bot/storage/outbox.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.db import Base, utcnow
from bot.storage.outbox import DELIVERED, FAILED, PENDING, Outbox

BIGID = BigInteger().with_variant(Integer, "sqlite")

OPEN, CLAIMED, RESOLVED, RETURNED, CLOSED = "open", "claimed", "resolved", "returned", "closed"
ACTIVE = (OPEN, CLAIMED)


class Case(Base):
    """A resident's request for a person, with everything the team needs to see."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_resident_status", "resident_id", "status"),
                      Index("ix_cases_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    team: Mapped[str] = mapped_column(String(64))
    escalated_team: Mapped[str | None] = mapped_column(String(64))
    village: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    tried: Mapped[list[Any] | None] = mapped_column(JSON)
    history: Mapped[list[Any] | None] = mapped_column(JSON)  # last messages, redacted
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    assignee_name: Mapped[str | None] = mapped_column(String(128))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the team can first answer
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved: Mapped[bool | None] = mapped_column()


class CaseThread(Base):
    """Where a case lives in one team's Telegram group: a forum topic, or replies to its card."""

    __tablename__ = "case_threads"
    __table_args__ = (UniqueConstraint("case_id", "team", name="uq_case_thread_team"),
                      Index("ix_case_threads_chat_topic", "chat_id", "topic_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)  # forum topic (message_thread_id)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)


class CaseMessage(Base):
    """Every message of a case, both ways (resident text is already redacted)."""

    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("case_id", "source_id", name="uq_case_message_source"),
                      Index("ix_case_messages_case", "case_id", "id"))

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" (from the resident) | "out" (from the team)
    author: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(String(64))  # platform id, so a redelivery is stored once
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


__all__ = ["Case", "CaseThread", "CaseMessage", "Outbox", "PENDING", "DELIVERED", "FAILED", "OPEN", "CLAIMED",
           "RESOLVED", "RETURNED", "CLOSED", "ACTIVE", "BIGID"]
