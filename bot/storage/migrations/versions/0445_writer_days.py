"""Who wrote on each closed day (the dashboard's active residents from a roll-up, bot/rollup_writers.py).

Revision ID: 0445_writer_days
Revises: 0440_funnel_rollup
"""
import sqlalchemy as sa
from alembic import op

revision = "0445_writer_days"
down_revision = "0440_funnel_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "writer_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("resident_id", sa.Integer, primary_key=True),
        sa.Column("prev_day", sa.Date, nullable=False),
    )
    op.create_index("ix_writer_days_resident", "writer_days", ["resident_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_writer_days_resident", "writer_days")
    op.drop_table("writer_days")
