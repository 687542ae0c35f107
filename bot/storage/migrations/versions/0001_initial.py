"""Residents, conversation state, the redacted message log and analytics events.

Revision ID: 0001_initial
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("platform_id", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("village", sa.String(64)),
        sa.Column("consent_at", sa.DateTime(timezone=True)),
        sa.Column("subscribed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "platform_id", name="uq_resident_channel_platform"),
    )
    op.create_table(
        "conversations",
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("payload", sa.String(128)),
        sa.Column("intent", sa.String(64)),
        sa.Column("platform_message_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("resident_id", "platform_message_id", name="uq_message_platform_id"),
    )
    op.create_index("ix_messages_resident_created", "messages", ["resident_id", "id"])
    op.create_table(
        "analytics_events",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("step", sa.String(64)),
        sa.Column("data", sa.JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_events_flow_kind", "analytics_events", ["flow", "kind"])


def downgrade() -> None:
    op.drop_table("analytics_events")
    op.drop_table("messages")
    op.drop_table("conversations")
    op.drop_table("residents")
