"""What waits for a resident (the web chat asks at every message) found by chat, status and kind (outbox).

Without statistics SQLite's planner took the status index and read every pending row of every resident;
the web chat's replies stay pending until a page acknowledges them, so that grew with each turn.

Revision ID: 0460_outbox_chat_status
Revises: 0455_messages_unanswered
"""
from alembic import op

revision = "0460_outbox_chat_status"
down_revision = "0455_messages_unanswered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_chat_status", "escalation_outbox", ["chat_id", "status", "kind"])


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_status", "escalation_outbox")
