"""Audit verification checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("through_id", sa.Integer(), nullable=False),
        sa.Column("through_hash", sa.String(64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
