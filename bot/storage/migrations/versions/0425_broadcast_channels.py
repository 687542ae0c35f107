"""An announcement may go to some channels only (chosen on /staff/announce); NULL keeps every channel.

Revision ID: 0425_broadcast_channels
Revises: 0420_community_edits
"""
import sqlalchemy as sa
from alembic import op

revision = "0425_broadcast_channels"
down_revision = "0420_community_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("channels", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("channels")
