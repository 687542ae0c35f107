"""Dashboard: what the assistant could not answer, and who was active.

Inbound messages the assistant could not answer carry `out_of_scope` or `low_confidence` in `intent`:
ix_messages_intent finds them by period. ix_messages_inbound (inbound messages only) counts the residents
who wrote in a period. unanswered_handled: the groups of such messages a staff member marked as handled
(the group's key is kept as a hash, never the wording), up to the newest message they saw.

Revision ID: 0410_unanswered
Revises: 0400_dashboard
"""
import sqlalchemy as sa
from alembic import op

revision = "0410_unanswered"
down_revision = "0400_dashboard"
branch_labels = None
depends_on = None

INBOUND = sa.text("direction = 'in'")


def upgrade() -> None:
    op.create_index("ix_messages_intent", "messages", ["intent", "created_at"])
    op.create_index("ix_messages_inbound", "messages", ["created_at", "resident_id"],
                    postgresql_where=INBOUND, sqlite_where=INBOUND)
    op.create_table(
        "unanswered_handled",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("handled_by", sa.String(64), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unanswered_handled")
    op.drop_index("ix_messages_inbound", table_name="messages")
    op.drop_index("ix_messages_intent", table_name="messages")
