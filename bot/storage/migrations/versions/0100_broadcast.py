"""Broadcasts: announcements, one delivery row per recipient, shared rate buckets.

Revision ID: 0100_broadcast
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = "0100_broadcast"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("report_channel", sa.String(16)),
        sa.Column("report_chat", sa.String(64)),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("text_vi", sa.Text),
        sa.Column("text_en", sa.Text),
        sa.Column("villages", sa.JSON, nullable=False),
        sa.Column("buttons", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("reported_at", sa.Float),
        sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_broadcasts_status_due", "broadcasts", ["status", "due_at"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("broadcast_id", sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("available_at", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float),
        sa.Column("worker", sa.String(64)),
        sa.Column("in_doubt", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error", sa.String(200)),
        sa.Column("sent_at", sa.Float),
        sa.UniqueConstraint("broadcast_id", "resident_id", name="uq_delivery_broadcast_resident"),
    )
    op.create_index("ix_delivery_queue", "broadcast_deliveries", ["status", "channel", "id"])
    op.create_index("ix_delivery_resident", "broadcast_deliveries", ["resident_id", "sent_at"])
    op.create_index("ix_delivery_broadcast_status", "broadcast_deliveries", ["broadcast_id", "status"])
    op.create_table(
        "broadcast_rate_buckets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("paused_until", sa.Float, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("broadcast_rate_buckets")
    op.drop_table("broadcast_deliveries")
    op.drop_index("ix_broadcasts_status_due", "broadcasts")
    op.drop_table("broadcasts")
