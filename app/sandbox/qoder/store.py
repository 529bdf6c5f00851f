"""SQLite storage of the Qoder emulator (on :mod:`app.sandbox.common.sqlite_store`).

* WAL journal and a 5 s busy timeout on every connection; every write runs inside
  ``BEGIN IMMEDIATE`` (:meth:`Store.write`), so several processes may share one file.
* Timestamps are integer microseconds since the epoch (``*_us`` columns); IDs are
  UUIDv7-style hex (48-bit milliseconds, then 12 bits of sub-millisecond time, RFC 9562
  "method 3") made from the same microsecond as ``created_at``, so ordering by ID is
  ordering by creation time. A per-store clock (``meta.last_us``, advanced inside the
  write transaction) keeps both strictly increasing, across processes too.
* Secrets are never stored: only a SHA-256 digest of what the client sent.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.sandbox.common.sqlite_store import MetaTables, SQLiteStore
from app.sandbox.common.sqlite_store import dumps as _dumps

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

VAULT_PREFIX = "vault_"
CREDENTIAL_PREFIX = "vcred_"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vaults (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    created_us   INTEGER NOT NULL,
    updated_us   INTEGER NOT NULL,
    archived_us  INTEGER
);
CREATE TABLE IF NOT EXISTS credentials (
    id             TEXT PRIMARY KEY,
    vault_id       TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    auth_type      TEXT NOT NULL,
    mcp_server_url TEXT,
    secret_name    TEXT,
    protocol       TEXT,
    metadata       TEXT NOT NULL,
    public         TEXT NOT NULL,
    secret_digest  TEXT NOT NULL,
    created_us     INTEGER NOT NULL,
    updated_us     INTEGER NOT NULL,
    archived_us    INTEGER
);
CREATE INDEX IF NOT EXISTS credentials_vault ON credentials (vault_id, id);
"""

LIST_TABLES = {
    # table -> the column the ``name`` filter searches
    "vaults": "display_name",
    "credentials": "coalesce(mcp_server_url, secret_name)",
}


# -- ids and time ------------------------------------------------------------------------
def now_us() -> int:
    return time.time_ns() // 1000


def make_id(prefix: str, us: int, rand: bytes | None = None) -> str:
    """``prefix`` + 32 hex: UUIDv7 layout whose 12 ``rand_a`` bits are sub-ms time."""
    ms, sub = divmod(us, 1000)
    rand_a = sub * 4096 // 1000  # strictly increasing in ``sub`` (4096 > 1000)
    tail = int.from_bytes(rand if rand is not None else secrets.token_bytes(8), "big")
    value = (
        ((ms & (1 << 48) - 1) << 80)
        | (0x7 << 76)
        | (rand_a << 64)
        | (0b10 << 62)
        | (tail & (1 << 62) - 1)
    )
    return f"{prefix}{value:032x}"


def format_us(us: int | None) -> str | None:
    """RFC 3339 with microseconds and ``Z``: ``2026-05-18T15:34:35.387093Z``."""
    if us is None:
        return None
    return (EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(value: str) -> int:
    """Microseconds since the epoch; no offset means UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _icontains(haystack: Any, needle: Any) -> int:
    if haystack is None or needle is None:
        return 0
    return int(str(needle).casefold() in str(haystack).casefold())


class Tables(MetaTables):
    """Queries over one connection (inside a transaction when obtained from ``write``)."""

    # -- meta --------------------------------------------------------------------------
    def tick(self, at_least: int | None = None) -> int:
        """The next microsecond of the store's clock (call inside ``write``)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'last_us'").fetchone()
        last = int(row[0]) if row else 0
        us = max(at_least if at_least is not None else now_us(), last + 1)
        self.set_meta("last_us", str(us))
        return us

    # -- vaults ------------------------------------------------------------------------
    def vault(self, vault_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM vaults WHERE id = ?", (vault_id,)).fetchone()
        return dict(row) if row else None

    def insert_vault(self, row: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO vaults (id, display_name, metadata, created_us, updated_us,"
            " archived_us) VALUES (?, ?, ?, ?, ?, ?)",
            (
                row["id"],
                row["display_name"],
                _dumps(row.get("metadata") or {}),
                row["created_us"],
                row["updated_us"],
                row.get("archived_us"),
            ),
        )

    def archive_vault(self, vault_id: str, us: int) -> None:
        self.conn.execute(
            "UPDATE vaults SET archived_us = ?, updated_us = ? WHERE id = ?", (us, us, vault_id)
        )

    def delete_vault(self, vault_id: str) -> None:
        self.conn.execute("DELETE FROM vaults WHERE id = ?", (vault_id,))

    # -- credentials ---------------------------------------------------------------------
    def credential(self, vault_id: str, credential_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM credentials WHERE id = ? AND vault_id = ?", (credential_id, vault_id)
        ).fetchone()
        return dict(row) if row else None

    def active_credential_for(
        self, vault_id: str, mcp_server_url: str | None, secret_name: str | None
    ) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM credentials WHERE vault_id = ? AND archived_us IS NULL"
            " AND (mcp_server_url = ? OR secret_name = ?)",
            (vault_id, mcp_server_url, secret_name),
        ).fetchone()
        return row[0] if row else None

    def insert_credential(self, row: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO credentials (id, vault_id, auth_type, mcp_server_url, secret_name,"
            " protocol, metadata, public, secret_digest, created_us, updated_us, archived_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["id"],
                row["vault_id"],
                row["auth_type"],
                row.get("mcp_server_url"),
                row.get("secret_name"),
                row.get("protocol"),
                _dumps(row.get("metadata") or {}),
                _dumps(row.get("public") or {}),
                row["secret_digest"],
                row["created_us"],
                row["updated_us"],
                row.get("archived_us"),
            ),
        )

    def archive_credential(self, credential_id: str, us: int) -> None:
        self.conn.execute(
            "UPDATE credentials SET archived_us = ?, updated_us = ? WHERE id = ?",
            (us, us, credential_id),
        )

    def update_credential(
        self,
        credential_id: str,
        *,
        metadata: dict[str, str],
        public: dict[str, Any],
        secret_digest: str,
        us: int,
    ) -> None:
        self.conn.execute(
            "UPDATE credentials SET metadata = ?, public = ?, secret_digest = ?, updated_us = ?"
            " WHERE id = ?",
            (_dumps(metadata), _dumps(public), secret_digest, us, credential_id),
        )

    def delete_credential(self, credential_id: str) -> None:
        self.conn.execute("DELETE FROM credentials WHERE id = ?", (credential_id,))

    # -- listing -------------------------------------------------------------------------
    def page(
        self,
        table: str,
        *,
        limit: int,
        vault_id: str | None = None,
        include_archived: bool = False,
        name: str | None = None,
        created_gte: int | None = None,
        created_lte: int | None = None,
        after_id: str | None = None,
        before_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Rows newest first and whether more exist beyond the page in its direction.

        ``after_id``: the rows that follow the cursor in list order (older IDs);
        ``before_id``: the ``limit`` rows that precede it (newer IDs), still returned
        newest first. Cursors are compared, not looked up, so a deleted, archived or
        filtered-out cursor still marks a stable position.
        """
        name_column = LIST_TABLES[table]
        where: list[str] = []
        args: list[Any] = []
        if vault_id is not None:
            where.append("vault_id = ?")
            args.append(vault_id)
        if not include_archived:
            where.append("archived_us IS NULL")
        if name:
            where.append(f"icontains({name_column}, ?)")
            args.append(name)
        if created_gte is not None:
            where.append("created_us >= ?")
            args.append(created_gte)
        if created_lte is not None:
            where.append("created_us <= ?")
            args.append(created_lte)
        order = "DESC"
        if after_id is not None:
            where.append("id < ?")
            args.append(after_id)
        elif before_id is not None:
            where.append("id > ?")
            args.append(before_id)
            order = "ASC"
        sql = f"SELECT * FROM {table}"  # noqa: S608 - table and columns are fixed names
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id {order} LIMIT ?"
        rows = [dict(r) for r in self.conn.execute(sql, (*args, limit + 1)).fetchall()]
        has_more = len(rows) > limit
        rows = rows[:limit]
        if order == "ASC":
            rows.reverse()
        return rows, has_more

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


class Store(SQLiteStore[Tables]):
    """One SQLite file; a small pool of connections shared by the server's threads."""

    SCHEMA = SCHEMA
    LABEL = "Qoder sandbox"
    ROW_FACTORY = sqlite3.Row

    def _handle(self, conn: sqlite3.Connection) -> Tables:
        return Tables(conn)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.create_function("icontains", 2, _icontains, deterministic=True)
