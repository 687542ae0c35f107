"""Broadcast tables: an announcement, one delivery row per recipient, and the shared rate buckets."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.db import Base

# Broadcast.status
DRAFT = "draft"  # composed in a chat, waiting for the author's confirm button
AWAITING_APPROVAL = "awaiting_approval"
SCHEDULED = "scheduled"
SENDING = "sending"
DONE = "done"
CANCELLED = "cancelled"

# Delivery.status
PENDING = "pending"
CLAIMED = "sending"
SENT = "sent"
FAILED = "failed"


class Broadcast(Base):
    """One announcement. Times are Unix seconds (UTC) so both databases compare them alike."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(64))  # staff id from staff.yml
    # Where progress reports go (the author's Telegram chat), when composed from a chat.
    report_channel: Mapped[str | None] = mapped_column(String(16))
    report_chat: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    text_vi: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    villages: Mapped[list[str]] = mapped_column(JSON)  # village codes; empty = the whole commune
    channels: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None = every channel workers send on
    # Extra button rows: [[{"payload": ..., "vi": label, "en": label}, ...], ...]
    buttons: Mapped[list[list[dict[str, str]]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[float | None] = mapped_column(Float)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # When the staff chats were told it waits for approval (approvals.py); None: not yet, or not needed.
    approval_posted_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Delivery(Base):
    """One recipient of one broadcast: the durable queue row workers claim, send and settle."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "resident_id", name="uq_delivery_broadcast_resident"),
        Index("ix_delivery_queue", "status", "channel", "id"),
        Index("ix_delivery_resident", "resident_id", "sent_at"),
        Index("ix_delivery_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[float] = mapped_column(Float)  # not to be tried before
    lease_until: Mapped[float | None] = mapped_column(Float)  # a claim older than this is abandoned
    worker: Mapped[str | None] = mapped_column(String(64))
    # A worker died while this row was being sent: it may have reached the resident already.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[float | None] = mapped_column(Float)


class RateBucket(Base):
    """A platform's send schedule shared by every worker process (see ratelimit.py)."""

    __tablename__ = "broadcast_rate_buckets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # the earliest time the next message may go out
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
