"""A turn's replies go through the outbox too: rows without a case, with their message id and position.

Revision ID: 0430_reply_outbox
Revises: 0425_broadcast_channels
"""
import sqlalchemy as sa
from alembic import op

revision = "0430_reply_outbox"
down_revision = "0425_broadcast_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_outbox") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
        batch.add_column(sa.Column("at", sa.String(16), nullable=True))
        batch.create_index("ix_outbox_chat_source", ["chat_id", "source"])


def downgrade() -> None:
    op.execute("DELETE FROM escalation_outbox WHERE case_id IS NULL")
    with op.batch_alter_table("escalation_outbox") as batch:
        batch.drop_index("ix_outbox_chat_source")
        batch.drop_column("at")
        batch.drop_column("source")
        batch.alter_column("case_id", existing_type=sa.Integer, nullable=False)
