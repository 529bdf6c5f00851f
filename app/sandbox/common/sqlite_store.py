"""A SQLite file safe to share between threads and OS processes.

* WAL journal and a 5 s busy timeout on every connection, so readers never block and
  writers from several processes queue instead of failing;
* every write runs inside ``BEGIN IMMEDIATE`` (:meth:`SQLiteStore.write`), so a
  read-modify-write cannot lose a concurrent update;
* a small pool of connections is shared by the server's threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from app.fileperms import private_file

BUSY_TIMEOUT_MS = 5000
POOL_SIZE = 8

H = TypeVar("H")


def dumps(value: Any) -> str:
    """Compact JSON, as the stores keep it in their TEXT columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class MetaTables:
    """Queries over one connection; every store has a ``meta (key, value)`` table."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str, *, replace: bool = True) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self.conn.execute(f"{verb} INTO meta (key, value) VALUES (?, ?)", (key, value))  # noqa: S608


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (persistent in the file). Changing the journal mode can report
    "locked" without waiting for the busy timeout while another process is setting up the
    same new file, so retry for as long as the busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SQLiteStore(Generic[H]):
    """One SQLite file created with ``SCHEMA``; :meth:`read` and :meth:`write` yield the
    handle :meth:`_handle` makes of a pooled connection (e.g. a query class)."""

    SCHEMA: ClassVar[str] = ""
    #: Names the store in the error raised once it is closed.
    LABEL: ClassVar[str] = "sandbox"
    ROW_FACTORY: ClassVar[Any] = None

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        private_file(self.path)  # the store holds the workspace's keys
        self._pool: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        with self._connection() as conn:
            conn.executescript(f"BEGIN IMMEDIATE;{self.SCHEMA}COMMIT;")

    def _handle(self, conn: sqlite3.Connection) -> H:
        raise NotImplementedError

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Per-connection setup after the pragmas (e.g. SQL functions)."""

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = self.ROW_FACTORY
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._prepare(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.LABEL} store is closed")
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._lock:
                if self._closed or len(self._pool) >= POOL_SIZE:
                    conn.close()
                else:
                    self._pool.append(conn)

    @contextmanager
    def read(self) -> Iterator[H]:
        """Autocommit reads: each statement sees the latest committed state."""
        with self._connection() as conn:
            yield self._handle(conn)

    @contextmanager
    def write(self) -> Iterator[H]:
        """A ``BEGIN IMMEDIATE`` transaction, committed on success, rolled back on error."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._handle(conn)
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
