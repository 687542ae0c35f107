"""One history: joins the three branches (hand-off, Zalo, broadcasts) that grew from the first schema.

A database created before this revision carries three rows in alembic_version (one per head);
upgrading replaces them with this one and changes no table.

Revision ID: 0200_merge
Revises: 0002_escalation, 0002_zalo, 0100_broadcast
"""

revision = "0200_merge"
down_revision = ("0002_escalation", "0002_zalo", "0100_broadcast")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
