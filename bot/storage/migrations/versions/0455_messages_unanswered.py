"""The dashboard's unanswered messages, newest first, from a small covering index of their own (messages).

Revision ID: 0455_messages_unanswered
Revises: 0450_writer_days_prev
"""
import sqlalchemy as sa
from alembic import op

revision = "0455_messages_unanswered"
down_revision = "0450_writer_days_prev"
branch_labels = None
depends_on = None

UNANSWERED = "direction = 'in' AND intent IN ('out_of_scope', 'low_confidence') AND text IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_messages_unanswered", "messages", ["created_at"], postgresql_include=["intent", "text"],
                    postgresql_where=sa.text(UNANSWERED), sqlite_where=sa.text(UNANSWERED))


def downgrade() -> None:
    op.drop_index("ix_messages_unanswered", "messages")
