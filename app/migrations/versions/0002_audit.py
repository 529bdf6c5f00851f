"""Audit log: append-only, hash-chained events and prune anchors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = {
    "sqlite": [
        """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
        """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
           FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    ],
}


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("batch_id", sa.String(64)),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("operator_id", sa.Integer()),
        sa.Column("operator", sa.String(64)),
        sa.Column("role", sa.String(16)),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("target_id", sa.String(64)),
        sa.Column("target_pid", sa.String(255)),
        sa.Column("target_domain", sa.String(2048)),
        sa.Column("fields", sa.Text()),
        sa.Column("changes", sa.Text()),
        sa.Column("status", sa.Integer()),
        sa.Column("message", sa.String(500)),
        sa.Column("duration_ms", sa.Float()),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])
    op.create_index("ix_audit_events_operator_id", "audit_events", ["operator", "id"])
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])
    op.create_index("ix_audit_events_target_id", "audit_events", ["target_id", "id"])
    op.create_index("ix_audit_events_outcome_id", "audit_events", ["outcome", "id"])
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pruned_before", sa.String(32), nullable=False),
        sa.Column("first_kept_id", sa.Integer()),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.Column("archived_count", sa.Integer(), nullable=False),
        sa.Column("archive_path", sa.String(1024), nullable=False),
        sa.Column("archive_sha256", sa.String(64), nullable=False),
    )
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events")
    op.drop_table("audit_anchors")
    op.drop_table("audit_events")
