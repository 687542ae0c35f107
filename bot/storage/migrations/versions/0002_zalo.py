"""Zalo channel: the OA's access and refresh tokens (kept across restarts) and numbered choices offered.

Revision ID: 0002_zalo
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_zalo"
down_revision = "0001_initial"
branch_labels = ("zalo",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_tokens",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("access_token", sa.Text),
        sa.Column("refresh_token", sa.Text),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("seed_digest", sa.String(64)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "zalo_choices",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("payloads", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("zalo_choices")
    op.drop_table("zalo_tokens")
