"""When the staff chats were told that an announcement waits for approval (NULL: not yet).

Revision ID: 0435_broadcast_approval_posted
Revises: 0430_reply_outbox
"""
import sqlalchemy as sa
from alembic import op

revision = "0435_broadcast_approval_posted"
down_revision = "0430_reply_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("approval_posted_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("approval_posted_at")
