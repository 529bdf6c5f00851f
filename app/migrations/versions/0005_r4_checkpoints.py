"""r4: highest checkpoint version seen per vault.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "r4_checkpoint_versions",
        sa.Column("vault_id", sa.String(64), primary_key=True),
        sa.Column("highest_version", sa.Integer(), nullable=False),
        sa.Column("signer", sa.String(128)),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("r4_checkpoint_versions")
