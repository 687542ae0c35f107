"""Who wrote over a long period: the residents' first day in it read by prev_day (writer_days).

Revision ID: 0450_writer_days_prev
Revises: 0445_writer_days
"""
from alembic import op

revision = "0450_writer_days_prev"
down_revision = "0445_writer_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_writer_days_prev", "writer_days", ["prev_day", "day", "resident_id"])


def downgrade() -> None:
    op.drop_index("ix_writer_days_prev", "writer_days")
