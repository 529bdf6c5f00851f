"""Entries index (secret-free copy of the vault's metadata) and background job leases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_index",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("permissioned_user_id", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(2048), nullable=False),
        sa.Column("user_alias", sa.String(255)),
        sa.Column("tfa_method", sa.String(32)),
        sa.Column("persist_cookies", sa.Boolean(), nullable=False),
        sa.Column("persist_local_storage", sa.Boolean(), nullable=False),
        sa.Column("persist_session_storage", sa.Boolean(), nullable=False),
        sa.Column("skip_csrf_cookies", sa.Boolean()),
        sa.Column("cookie_domain_to_store", sa.String(2048)),
        sa.Column("expiry_time_from_last_use", sa.String(255)),
        sa.Column("expiry_time_from_session_data_set", sa.String(255)),
        sa.Column("allow_multiple_sessions", sa.Boolean()),
        sa.Column("max_concurrency", sa.Integer()),
        sa.Column("prevent_concurrency_during_login", sa.Boolean()),
        sa.Column("proxy_setting", sa.String(32)),
        sa.Column("proxy_value", sa.String(255)),
        sa.Column("secret_provider_id", sa.String(255)),
        sa.Column("secret_ref", sa.String(1024)),
        sa.Column("secret_cache_ttl_seconds", sa.Integer()),
        sa.Column("fp_user_name", sa.String(64)),
        sa.Column("fp_password", sa.String(64)),
        sa.Column("fp_tfa_secret", sa.String(64)),
        sa.Column("fp_proxy_value", sa.String(64)),
        sa.Column("effective_expires_at", sa.DateTime()),
        sa.Column("session_data_set_at", sa.DateTime()),
        sa.Column("cookie_count", sa.Integer(), nullable=False),
        sa.Column("local_storage_count", sa.Integer(), nullable=False),
        sa.Column("session_storage_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("updated_at_text", sa.String(64)),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("tfa", sa.String(32), nullable=False),
        sa.Column("proxy_mode", sa.String(16), nullable=False),
        sa.Column("has_session", sa.Boolean(), nullable=False),
        sa.Column("name_key", sa.String(600), nullable=False),
        sa.Column("pid_key", sa.String(255), nullable=False),
        sa.Column("search_text", sa.String(2600), nullable=False),
        sa.Column("digest", sa.String(40), nullable=False),
        sa.Column("config_digest", sa.String(40), nullable=False),
        sa.Column("changed_outside_at", sa.DateTime()),
        sa.Column("console_written_at", sa.DateTime()),
        sa.Column("deleted_at", sa.DateTime()),
    )
    for name, columns in (
        ("ix_entry_index_key", ["permissioned_user_id", "domain"]),
        ("ix_entry_index_name", ["name_key", "id"]),
        ("ix_entry_index_pid", ["pid_key", "domain"]),
        ("ix_entry_index_host", ["host", "domain"]),
        ("ix_entry_index_tfa", ["tfa", "name_key"]),
        ("ix_entry_index_proxy", ["proxy_mode", "name_key"]),
        ("ix_entry_index_updated", ["updated_at"]),
        ("ix_entry_index_expires", ["has_session", "effective_expires_at"]),
        ("ix_entry_index_outside", ["changed_outside_at"]),
        ("ix_entry_index_provider", ["secret_provider_id"]),
    ):
        op.create_index(name, "entry_index", columns)
    op.create_table(
        "background_jobs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", sa.DateTime()),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("succeeded_at", sa.DateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("result", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("background_jobs")
    op.drop_table("entry_index")
