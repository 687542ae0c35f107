"""The outbox table: every message to a resident or a team, written in the transaction that decided it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.db import Base, utcnow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
REPLY = "reply"  # the kind of a turn's own reply (no case)


class Outbox(Base):
    """A message to deliver, written in the transaction that decided it; delivered after commit.

    A turn's replies (kind "reply", no case) carry the incoming message's id (`source`), so a redelivered
    message finds them, and the position their buttons answer (`at`); hand-off rows belong to a case."""

    __tablename__ = "escalation_outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),
                      Index("ix_outbox_chat_message", "chat_id", "platform_message_id"),
                      Index("ix_outbox_chat_source", "chat_id", "source"),
                      # What waits for a resident, asked at every web chat message (migration 0460).
                      Index("ix_outbox_chat_status", "chat_id", "status", "kind"),
                      Index("ix_outbox_case", "case_id", "audience", "status"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(16))  # "team" | "resident"
    team: Mapped[str | None] = mapped_column(String(64))  # for audience "team"
    channel: Mapped[str] = mapped_column(String(16))  # "telegram" for teams; the resident's channel
    chat_id: Mapped[str] = mapped_column(String(128))  # team chat id or the resident's platform id
    kind: Mapped[str] = mapped_column(String(16))  # reply | card | message | reminder | notice | close
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)  # rows of [label, payload]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due time; a worker that takes a row moves it one lease ahead, so a killed worker's row comes due again.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))  # a reply's incoming message id
    at: Mapped[str | None] = mapped_column(String(16))  # a reply's conversation position (TurnResult.at)
    error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
