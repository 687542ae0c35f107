"""The funnel's daily roll-up (funnel_days, funnel_months, funnel_seen, rollup_state) and a day's events by time.

Revision ID: 0440_funnel_rollup
Revises: 0435_broadcast_approval_posted
"""
import sqlalchemy as sa
from alembic import op

revision = "0440_funnel_rollup"
down_revision = "0435_broadcast_approval_posted"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_time", "analytics_events", ["created_at"])
    op.create_table(
        "funnel_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("flow", sa.String(64), primary_key=True),
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("step", sa.String(64), primary_key=True),
        sa.Column("prev_day", sa.Date, primary_key=True),
        sa.Column("residents", sa.Integer, nullable=False),
    )
    op.create_table(
        "funnel_months",
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("flow", sa.String(64), primary_key=True),
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("step", sa.String(64), primary_key=True),
        sa.Column("prev_day", sa.Date, primary_key=True),
        sa.Column("residents", sa.Integer, nullable=False),
    )
    op.create_table(
        "funnel_seen",
        sa.Column("flow", sa.String(64), primary_key=True),
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("step", sa.String(64), primary_key=True),
        sa.Column("resident_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("last_day", sa.Date, nullable=False),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("through", sa.Date, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rollup_state")
    op.drop_table("funnel_seen")
    op.drop_table("funnel_months")
    op.drop_table("funnel_days")
    op.drop_index("ix_events_time", "analytics_events")
