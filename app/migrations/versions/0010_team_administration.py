"""Team administration: operator source (local or SSO) and SSO subject, TOTP secret
(encrypted outside the database's reach), password change bookkeeping, recovery codes, and
one-time invitation and reset links.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="local"))
        batch.add_column(sa.Column("sso_subject", sa.String(512)))
        batch.add_column(sa.Column("totp_secret", sa.Text()))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime()))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime()))
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False,
                      server_default=sa.false())
        )  # fmt: skip
        batch.create_unique_constraint("uq_operators_sso_subject", ["sso_subject"])
    op.create_table(
        "operator_recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime()),
    )
    op.create_index("ix_operator_recovery_codes_operator", "operator_recovery_codes",
                    ["operator_id"])  # fmt: skip
    op.create_table(
        "operator_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime()),
        sa.Column("created_by", sa.String(64)),
    )
    op.create_index("ix_operator_links_operator", "operator_links", ["operator_id"])


def downgrade() -> None:
    op.drop_table("operator_links")
    op.drop_table("operator_recovery_codes")
    with op.batch_alter_table("operators") as batch:
        batch.drop_constraint("uq_operators_sso_subject", type_="unique")
        for name in ("must_change_password", "password_changed_at", "totp_enabled_at",
                     "totp_secret", "sso_subject", "source"):  # fmt: skip
            batch.drop_column(name)
