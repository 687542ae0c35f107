"""Hand-off to village teams: cases, case threads, case messages and the delivery outbox.

Revision ID: 0002_escalation
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_escalation"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("escalated_team", sa.String(64)),
        sa.Column("village", sa.String(64)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("step", sa.String(64)),
        sa.Column("tried", sa.JSON),
        sa.Column("history", sa.JSON),
        sa.Column("assignee_id", sa.BigInteger),
        sa.Column("assignee_name", sa.String(128)),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("reminded_at", TS),
        sa.Column("escalated_at", TS),
        sa.Column("claimed_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("solved", sa.Boolean),
    )
    op.create_index("ix_cases_resident_status", "cases", ["resident_id", "status"])
    op.create_index("ix_cases_status_due", "cases", ["status", "due_at"])
    op.create_table(
        "case_threads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("topic_id", sa.BigInteger),
        sa.Column("card_message_id", sa.BigInteger),
        sa.UniqueConstraint("case_id", "team", name="uq_case_thread_team"),
    )
    op.create_index("ix_case_threads_chat_topic", "case_threads", ["chat_id", "topic_id"])
    op.create_table(
        "case_messages",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(128)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("case_id", "source_id", name="uq_case_message_source"),
    )
    op.create_index("ix_case_messages_case", "case_messages", ["case_id", "id"])
    op.create_table(
        "escalation_outbox",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("buttons", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("platform_message_id", sa.String(64)),
        sa.Column("error", sa.String(256)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_outbox_status_due", "escalation_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_chat_message", "escalation_outbox", ["chat_id", "platform_message_id"])
    op.create_index("ix_outbox_case", "escalation_outbox", ["case_id", "audience", "status"])


def downgrade() -> None:
    op.drop_table("escalation_outbox")
    op.drop_table("case_messages")
    op.drop_table("case_threads")
    op.drop_table("cases")
