"""SQLite storage of the r4 emulator (its own file; WAL; writes in ``BEGIN IMMEDIATE``).

The pool, pragmas and transactions are :mod:`app.sandbox.common.sqlite_store`'s (as for
the other emulators); ``read``/``write`` yield the bare connection.
"""

from __future__ import annotations

import sqlite3

from app.sandbox.common.sqlite_store import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signers (
    id           TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL,
    type         TEXT NOT NULL,
    private_pem  TEXT NOT NULL,
    public_pem   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    in_directory INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vaults (
    id                  TEXT PRIMARY KEY,
    seq                 INTEGER NOT NULL,
    name                TEXT NOT NULL,
    data_classification TEXT NOT NULL,
    encryption_key_id   TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    dek                 TEXT NOT NULL,
    dek_version         INTEGER NOT NULL,
    signer_id           TEXT NOT NULL REFERENCES signers (id),
    tamper              TEXT,
    pinned_version      INTEGER,
    pin_after_reads     INTEGER,
    reads               INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS summaries (
    vault_id TEXT NOT NULL REFERENCES vaults (id),
    version  INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    listing  TEXT NOT NULL,
    PRIMARY KEY (vault_id, version)
);
CREATE TABLE IF NOT EXISTS items (
    id              TEXT PRIMARY KEY,
    vault_id        TEXT NOT NULL REFERENCES vaults (id),
    seq             INTEGER NOT NULL,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL,
    websites        TEXT NOT NULL,
    group_id        TEXT,
    created_at      TEXT NOT NULL,
    archived_at     TEXT,
    detail_version  INTEGER NOT NULL,
    detail_envelope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_vault ON items (vault_id, seq);
CREATE TABLE IF NOT EXISTS fields (
    id                TEXT PRIMARY KEY,
    item_id           TEXT NOT NULL REFERENCES items (id),
    vault_id          TEXT NOT NULL,
    ord               INTEGER NOT NULL,
    name              TEXT NOT NULL,
    type              TEXT NOT NULL,
    field_instance_id TEXT NOT NULL,
    value             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fields_item ON fields (item_id, ord);
"""


class R4Store(SQLiteStore[sqlite3.Connection]):
    """One SQLite file; connections are pooled and shared by the server's threads."""

    SCHEMA = SCHEMA
    LABEL = "r4 sandbox"
    ROW_FACTORY = sqlite3.Row

    def _handle(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        return conn
