"""Audit indexes for the entry filter (user id) and batch lookups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_target_pid_id", "audit_events", ["target_pid", "id"])
    op.create_index("ix_audit_events_batch_id", "audit_events", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_batch_id", "audit_events")
    op.drop_index("ix_audit_events_target_pid_id", "audit_events")
