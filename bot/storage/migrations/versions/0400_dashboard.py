"""Dashboard: indexes for the funnel by guide, period and village.

The funnel (bot/stats.py) filters events by guide, kind and period and counts distinct residents per step:
one index holding all of those columns answers it from the index alone (PostgreSQL: an index-only scan). It
replaces ix_events_flow_kind, its prefix. Residents are selected by village for the village filter.

Revision ID: 0400_dashboard
Revises: 0300_staff
"""
from alembic import op

revision = "0400_dashboard"
down_revision = "0300_staff"
branch_labels = None
depends_on = None

FUNNEL_COLUMNS = ["flow", "kind", "created_at", "step", "resident_id"]


def upgrade() -> None:
    op.create_index("ix_events_funnel", "analytics_events", FUNNEL_COLUMNS)
    op.drop_index("ix_events_flow_kind", table_name="analytics_events")
    op.create_index("ix_residents_village", "residents", ["village"])


def downgrade() -> None:
    op.drop_index("ix_residents_village", table_name="residents")
    op.create_index("ix_events_flow_kind", "analytics_events", ["flow", "kind"])
    op.drop_index("ix_events_funnel", table_name="analytics_events")
