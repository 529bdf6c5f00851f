"""Keyed audit chain: events carry their chain version; checkpoints and prune anchors carry a
keyed MAC (and anchors who pruned).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a new nullable column changes no existing row: the append-only triggers stay in place
    op.add_column("audit_events", sa.Column("chain", sa.Integer()))
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.add_column(sa.Column("event_count", sa.Integer()))
        batch.add_column(sa.Column("mac", sa.String(64)))
    with op.batch_alter_table("audit_anchors") as batch:
        batch.add_column(sa.Column("pruned_by", sa.String(64)))
        batch.add_column(sa.Column("mac", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("audit_anchors") as batch:
        batch.drop_column("mac")
        batch.drop_column("pruned_by")
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("mac")
        batch.drop_column("event_count")
    op.drop_column("audit_events", "chain")
