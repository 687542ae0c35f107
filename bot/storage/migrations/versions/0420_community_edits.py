"""Community data edited from the browser: who changed schedule.yml or classes.yml, and when.

Revision ID: 0420_community_edits
Revises: 0410_unanswered
"""
import sqlalchemy as sa
from alembic import op

revision = "0420_community_edits"
down_revision = "0410_unanswered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file", sa.String(32), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("community_edits")
