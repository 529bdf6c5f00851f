"""SQLite storage of the r4 emulator (its own file; WAL; writes in ``BEGIN IMMEDIATE``).

Same approach as the CloudCruise sandbox store: a small connection pool shared by the
server's threads, a busy timeout so several processes can share one file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 5000

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


class R4Store:
    """One SQLite file; connections are pooled and shared by the server's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pool: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        with self._connection() as conn:
            conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}COMMIT;")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:  # switching to WAL can report "locked" without waiting: retry
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the r4 sandbox store is closed")
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._lock:
                if self._closed or len(self._pool) >= 8:
                    conn.close()
                else:
                    self._pool.append(conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction, committed on success, rolled back on error."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()
