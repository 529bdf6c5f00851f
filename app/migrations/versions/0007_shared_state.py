"""Shared state for several hosts: server-side sessions, throttle counters (replacing the
login attempts table); PostgreSQL
refuses TRUNCATE of the audit log and sorts the entries index in byte order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NO_TRUNCATE = [
    """CREATE OR REPLACE FUNCTION audit_events_no_truncate() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate()""",
]
#: the list's sort keys compare byte-wise, as on SQLite, whatever the database's locale
BYTE_ORDER = {"name_key": 600, "pid_key": 255, "host": 255, "tfa": 32, "proxy_mode": 16,
              "search_text": 2600}  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("sudo_until", sa.DateTime()),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("ip", sa.String(64)),
    )
    op.create_index("ix_operator_sessions_operator", "operator_sessions", ["operator_id"])
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.drop_table("login_attempts")
    if op.get_bind().dialect.name == "postgresql":
        for statement in NO_TRUNCATE:
            op.execute(statement)
        for column, length in BYTE_ORDER.items():
            op.alter_column(
                "entry_index", column, type_=sa.String(length, collation="C"), nullable=False
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    op.drop_table("throttle_counters")
    op.drop_table("operator_sessions")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
    )
