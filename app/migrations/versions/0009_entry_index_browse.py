"""Entries index: indexes that cover the list's common queries (live rows in name order with
the search text, 2FA filter, updated order, user id order) and the live count. The rows'
digests are computed differently from now on, so the index is emptied: the next sync fills it
again as a first sync (no drift is reported for the change of digest).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD = {
    "ix_entry_index_name": ["name_key", "id"],
    "ix_entry_index_pid": ["pid_key", "domain"],
    "ix_entry_index_tfa": ["tfa", "name_key"],
    "ix_entry_index_updated": ["updated_at"],
}
NEW = {
    # the first page, deep pages, the search (its text is in the index) and every count
    "ix_entry_index_browse": ["deleted_at", "name_key", "id", "search_text"],
    "ix_entry_index_tfa": ["deleted_at", "tfa", "name_key", "id"],
    "ix_entry_index_updated": ["deleted_at", "updated_at", "pid_key", "id"],
    "ix_entry_index_pid": ["deleted_at", "pid_key", "domain", "id"],
}


def upgrade() -> None:
    op.execute("DELETE FROM entry_index")
    op.execute("DELETE FROM background_jobs WHERE name = 'entries.sync'")
    for name in OLD:
        op.drop_index(name, table_name="entry_index")
    for name, columns in NEW.items():
        op.create_index(name, "entry_index", columns)


def downgrade() -> None:
    for name in NEW:
        op.drop_index(name, table_name="entry_index")
    for name, columns in OLD.items():
        op.create_index(name, "entry_index", columns)
