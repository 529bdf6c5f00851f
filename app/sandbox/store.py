"""SQLite storage for the sandbox, safe to share between threads and OS processes.

* WAL journal and a 5 s busy timeout on every connection, so readers never block and
  writers from several processes queue instead of failing;
* every write runs inside ``BEGIN IMMEDIATE`` (:meth:`Store.write`), so a
  read-modify-write (PUT merge) cannot lose a concurrent update
  (:mod:`app.sandbox.common.sqlite_store`);
* each entry row keeps its serialized API response next to the stored entry, so
  ``GET /vault`` concatenates strings instead of decoding and re-encoding rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .common.sqlite_store import MetaTables, SQLiteStore
from .common.sqlite_store import dumps as _dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id                   TEXT PRIMARY KEY,
    permissioned_user_id TEXT NOT NULL,
    domain               TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    data                 TEXT NOT NULL,
    response             TEXT NOT NULL,
    UNIQUE (permissioned_user_id, domain)
);
CREATE INDEX IF NOT EXISTS entries_created ON entries (created_at, id);
CREATE TABLE IF NOT EXISTS providers (
    id       TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_items (
    id          TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    ref         TEXT NOT NULL,
    data        TEXT NOT NULL,
    response    TEXT NOT NULL,
    UNIQUE (provider_id, ref)
);
CREATE TABLE IF NOT EXISTS email_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id    TEXT NOT NULL,
    code        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS email_codes_entry ON email_codes (entry_id, received_at);
"""


class DuplicateEntry(Exception):
    """The (permissioned_user_id, domain) pair is already taken."""


@dataclass(frozen=True)
class EntryRow:
    id: str
    data: dict[str, Any]
    response: str


class Tables(MetaTables):
    """Queries over one connection (inside a transaction when obtained from ``write``)."""

    # -- entries ------------------------------------------------------------------
    def entries_json(self) -> bytes:
        """The JSON array of all entries (UTF-8), joined from the precomputed responses."""
        rows = self.conn.execute(
            "SELECT CAST(response AS BLOB) FROM entries ORDER BY created_at, id"
        ).fetchall()
        return b"[" + b",".join([r[0] for r in rows]) + b"]"

    def count_entries(self) -> int:
        return self.conn.execute("SELECT count(*) FROM entries").fetchone()[0]

    def _row(self, where: str, args: tuple[Any, ...]) -> EntryRow | None:
        row = self.conn.execute(
            f"SELECT id, data, response FROM entries WHERE {where}",  # noqa: S608
            args,
        ).fetchone()
        return EntryRow(row[0], json.loads(row[1]), row[2]) if row else None

    def entry(self, permissioned_user_id: str, domain: str) -> EntryRow | None:
        return self._row("permissioned_user_id = ? AND domain = ?", (permissioned_user_id, domain))

    def entry_by_id(self, entry_id: str) -> EntryRow | None:
        return self._row("id = ?", (entry_id,))

    def insert_entries(self, items: list[tuple[dict[str, Any], str]]) -> None:
        """Insert ``(stored entry, response JSON)`` pairs; raise :class:`DuplicateEntry`."""
        try:
            self.conn.executemany(
                "INSERT INTO entries (id, permissioned_user_id, domain, created_at, updated_at,"
                " data, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e["id"],
                        e["permissioned_user_id"],
                        e["domain"],
                        e["created_at"],
                        e["updated_at"],
                        _dumps(e),
                        response,
                    )
                    for e, response in items
                ],
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateEntry(str(exc)) from None

    def replace_entry(self, entry: dict[str, Any], response: str) -> None:
        try:
            self.conn.execute(
                "UPDATE entries SET permissioned_user_id = ?, domain = ?, updated_at = ?,"
                " data = ?, response = ? WHERE id = ?",
                (
                    entry["permissioned_user_id"],
                    entry["domain"],
                    entry["updated_at"],
                    _dumps(entry),
                    response,
                    entry["id"],
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateEntry(str(exc)) from None

    def delete_entry(self, entry_id: str) -> None:
        self.conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self.conn.execute("DELETE FROM email_codes WHERE entry_id = ?", (entry_id,))

    # -- secret providers ---------------------------------------------------------
    def providers_json(self) -> str:
        rows = self.conn.execute("SELECT response FROM providers ORDER BY seq, id")
        return "[" + ",".join(r[0] for r in rows) + "]"

    def provider_exists(self, provider_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM providers WHERE id = ?", (provider_id,))
        return row.fetchone() is not None

    def provider_items_json(self, provider_id: str) -> str:
        rows = self.conn.execute(
            "SELECT response FROM provider_items WHERE provider_id = ? ORDER BY seq, id",
            (provider_id,),
        )
        return "[" + ",".join(r[0] for r in rows) + "]"

    def provider_item(self, provider_id: str, ref: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT data FROM provider_items WHERE provider_id = ? AND ref = ?",
            (provider_id, ref),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def insert_provider(self, provider: dict[str, Any], seq: int) -> None:
        self.conn.execute(
            "INSERT INTO providers (id, seq, response) VALUES (?, ?, ?)",
            (provider["id"], seq, _dumps(provider)),
        )

    def insert_provider_item(
        self, provider_id: str, item: dict[str, Any], public: dict[str, Any], seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO provider_items (id, provider_id, seq, ref, data, response)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (item["id"], provider_id, seq, item["ref"], _dumps(item), _dumps(public)),
        )

    # -- received email codes -----------------------------------------------------
    def add_email_code(self, entry_id: str, code: str, received_at: str) -> None:
        self.conn.execute(
            "INSERT INTO email_codes (entry_id, code, received_at) VALUES (?, ?, ?)",
            (entry_id, code, received_at),
        )

    def latest_email_code(self, entry_id: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT code, received_at FROM email_codes WHERE entry_id = ?"
            " ORDER BY received_at DESC, id DESC LIMIT 1",
            (entry_id,),
        ).fetchone()
        return (row[0], row[1]) if row else None


class Store(SQLiteStore[Tables]):
    """One SQLite file; a small pool of connections shared by the server's threads."""

    SCHEMA = SCHEMA
    LABEL = "sandbox"

    def _handle(self, conn: sqlite3.Connection) -> Tables:
        return Tables(conn)
