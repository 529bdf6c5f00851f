"""The audit chain's storage: the event format, its keyed links, and appends.

* **Chain.** Every event stores ``prev_hash`` and ``hash``, an HMAC-SHA-256 of
  ``prev_hash + canonical`` under the chain key (plain SHA-256 for legacy events), where
  ``canonical`` is the event's own sorted-key JSON (all columns but ``hash``). Appends are
  serialised by the database (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory
  transaction lock), so several worker processes keep one valid chain.
* **Append-only.** Database triggers refuse UPDATE and DELETE (migration 0002); only
  :func:`app.services.audit_prune.prune` lifts them, inside one transaction, after archiving
  what it removes.
* **Checkpoints.** Every ``CHECKPOINT_EVERY``-th append also writes a keyed checkpoint in
  the same transaction (:mod:`app.services.audit_checkpoints`).
* **Second sink.** Each event is also logged as a JSON line (logger ``app.audit``) with its
  hash, so a rewritten database can be caught against the logs.
* **Fail closed.** Any failure to write raises :class:`AuditUnavailable`; the recorder
  (:mod:`app.services.audit_recording`) commits an attempt event before the caller talks to
  an upstream, so nothing is sent when the log cannot be written.
* **Secrets.** Secret fields appear only as ``changed`` plus a keyed HMAC fingerprint (the
  key lives in the instance folder or ``VAULT_CONSOLE_AUDIT_KEY``, never in the table).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from app.cloudcruise.fields import CREDENTIAL_FIELDS, SESSION_BLOBS
from app.cloudcruise.fields import is_secret as is_secret_change
from app.database import file_lock
from app.models import AuditEvent
from app.services.audit_checkpoints import log_checkpoint, write_checkpoint

log = logging.getLogger("app.audit")

GENESIS = "0" * 64
#: Fields whose values never enter the audit log (only a fingerprint does); session blobs
#: (SESSION_BLOBS) hold live tokens: recorded as changed + fingerprint + size only.
SECRET_FIELDS = frozenset(CREDENTIAL_FIELDS)
COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns if c.name != "hash")
_SORTED = tuple(sorted(COLUMNS))
MAX_TEXT = 500
#: an appender writes a keyed checkpoint every this many events
CHECKPOINT_EVERY = 1000


class AuditUnavailable(RuntimeError):
    """The audit log could not be written; the action must not go ahead."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: events written before the chain was keyed have no ``chain`` value (the legacy segment)
CHAIN_KEYED = 2
_SORTED_LEGACY = tuple(name for name in _SORTED if name != "chain")


def canonical(row: Mapping[str, Any]) -> str:
    """The exact text that is hashed for an event (every column except ``hash``; a legacy
    event's text predates the ``chain`` column and leaves it out)."""
    names = _SORTED if row.get("chain") is not None else _SORTED_LEGACY
    # keys in sorted order: the same bytes as json.dumps(..., sort_keys=True), cheaper
    return json.dumps(
        {name: row.get(name) for name in names}, separators=(",", ":"), ensure_ascii=True
    )


def chain_key(audit_key: str | bytes) -> bytes:
    """The key of the chain's links, derived from ``VAULT_CONSOLE_AUDIT_KEY`` (kept outside
    the database, so the database alone cannot recompute a link)."""
    key = audit_key.encode() if isinstance(audit_key, str) else audit_key
    return hmac.new(key, b"vault-console audit chain v2", hashlib.sha256).digest()


def chain_hash(prev_hash: str, row: Mapping[str, Any], key: bytes | None = None) -> str:
    """An event's link: HMAC-SHA-256 under the chain key; plain SHA-256 for a legacy event."""
    message = (prev_hash + canonical(row)).encode()
    if row.get("chain") is None:
        return hashlib.sha256(message).hexdigest()
    if key is None:
        raise ValueError("a keyed event needs the chain key")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _clip(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    text_value = " ".join(str(value).split())
    return text_value if len(text_value) <= limit else text_value[: limit - 1] + "…"


class AuditLog:
    """Appends events to the audit table; one instance per app."""

    def __init__(self, engine: Engine, hmac_key: str, lock_path: str | None = None) -> None:
        #: the process's one engine (shared with the rest of the console)
        self.engine = engine
        #: reads (verification, export); the same engine, named for what it is used for
        self.read_engine = engine
        #: SQLite appenders on this host queue on a file lock (woken by the kernel) before
        #: taking the database write lock, instead of SQLite's busy-wait sleeps
        self.lock_path = lock_path if engine.dialect.name == "sqlite" else None
        self._hmac_key = hmac_key.encode()
        self.chain_key = chain_key(hmac_key)

    def fingerprint(self, name: str, value: Any) -> str:
        """Keyed HMAC of a secret value: equal values compare equal, nothing is revealed."""
        payload = f"{name}\x00{json.dumps(value, sort_keys=True, default=str)}".encode()
        return hmac.new(self._hmac_key, payload, hashlib.sha256).hexdigest()[:32]

    def describe_changes(
        self,
        after: Mapping[str, Any],
        before: Mapping[str, Any] | None = None,
        secret: set[str] | None = None,
    ) -> dict[str, Any]:
        """Per-field change record: before/after for plain fields, fingerprints for secrets.

        ``secret`` names the secret fields when ``after`` alone cannot tell (a custom proxy
        URL changed without its mode); by default :func:`is_secret_change` decides.
        """
        before = before or {}
        out: dict[str, Any] = {}
        for name, value in after.items():
            if name in ("id", "permissioned_user_id", "domain") and before.get(name) == value:
                continue
            if (name in secret) if secret is not None else is_secret_change(name, after):
                out[name] = {"changed": True, "fingerprint": self.fingerprint(name, value)}
                if value is None:
                    out[name] = {"changed": True, "cleared": True}
            elif name in SESSION_BLOBS:
                size = len(value) if isinstance(value, list | dict) else 0
                out[name] = {"changed": True, "items": size}
                if value:
                    out[name]["fingerprint"] = self.fingerprint(name, value)
            else:
                item: dict[str, Any] = {"after": value}
                if before:
                    item["before"] = before.get(name)
                out[name] = item
        return out

    def snapshot(self, entry: Any) -> dict[str, Any]:
        """``before`` values of an entry's plain fields (for deletes); secrets as set/unset."""
        data = entry.to_mapping() if hasattr(entry, "to_mapping") else dict(entry)
        out: dict[str, Any] = {}
        for name, value in sorted(data.items()):
            if name in SECRET_FIELDS or (name == "proxy_value" and entry.has_secret(name)):
                out[name] = {"before": "set" if entry.has_secret(name) else None}
            elif name in SESSION_BLOBS:
                out[name] = {"before": f"{len(value)} items" if value else None}
            elif isinstance(value, str | int | float | bool) or value is None:
                out[name] = {"before": value}
        return out

    def append(self, **fields: Any) -> dict[str, Any]:
        """Write one event to the chain; raises :class:`AuditUnavailable` on any failure."""
        row: dict[str, Any] = {name: fields.get(name) for name in COLUMNS}
        for name in ("message", "user_agent"):
            row[name] = _clip(row[name])
        for name in ("fields", "changes"):
            if row[name] is not None and not isinstance(row[name], str):
                row[name] = json.dumps(row[name], sort_keys=True, ensure_ascii=True, default=str)
        try:
            with _host_lock(self.lock_path), self.engine.connect() as conn:
                _serialise_appends(conn)
                head = conn.execute(
                    select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
                ).first()
                if head is None:  # empty, or everything was pruned: continue from the anchor
                    anchor = conn.execute(
                        text(
                            "SELECT first_kept_id, anchor_hash FROM audit_anchors "
                            "ORDER BY id DESC LIMIT 1"
                        )
                    ).first()
                    row["id"], row["prev_hash"] = tuple(anchor) if anchor else (1, GENESIS)
                else:
                    row["id"], row["prev_hash"] = head.id + 1, head.hash
                # stamped under the write lock, so ids and timestamps grow together
                row["ts"] = now_iso()
                row["chain"] = CHAIN_KEYED
                row["hash"] = chain_hash(row["prev_hash"], row, self.chain_key)
                conn.execute(insert(AuditEvent), [row])
                checkpoint = None
                if row["id"] % CHECKPOINT_EVERY == 0:
                    checkpoint = write_checkpoint(conn, self, row["id"], row["hash"])
                conn.commit()
            if checkpoint is not None:
                log_checkpoint(checkpoint)
        except SQLAlchemyError as exc:
            log.error(
                "audit write failed",
                extra={"audit_action": row["action"], "error": type(exc).__name__},
            )
            raise AuditUnavailable(
                "The audit log could not be written, so the action was not carried out. "
                "Ask an admin to check the console database."
            ) from None
        log.info("audit %s %s", row["action"], row["outcome"], extra={"audit": row})
        return row


#: pg_advisory_xact_lock key of audit appends ("vcaudit" in ASCII)
APPEND_LOCK = 0x76_6361_7564_6974


def _serialise_appends(conn: Connection) -> None:
    """Start the append's transaction holding the chain's lock, so the head read next is the
    head the event links to: SQLite takes its write lock up front (BEGIN IMMEDIATE);
    PostgreSQL an advisory transaction lock, which needs no table privilege beyond SELECT and
    INSERT (an app role without UPDATE/DELETE/TRUNCATE can still append)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})


def init_app(app: Any) -> None:
    from app.extensions import db

    lock = f"{app.config['INSTANCE_PATH']}/audit.lock"
    engine = db.engine
    assert engine is not None, "Database.init_app() has not run"
    app.extensions["audit"] = AuditLog(engine, app.config["AUDIT_HMAC_KEY"], lock)


def _host_lock(path: str | None) -> contextlib.AbstractContextManager[None]:
    return file_lock(Path(path)) if path else contextlib.nullcontext()


_ALL = (*COLUMNS, "hash")
_SELECT_AFTER = f"SELECT {', '.join(_ALL)} FROM audit_events WHERE id > :after ORDER BY id LIMIT :n"  # noqa: S608 - fixed column names


def iter_events(conn: Connection, after_id: int = 0, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every event after ``after_id`` in id order (all columns), read ``batch`` at a time."""
    last = after_id
    while True:
        rows = conn.execute(text(_SELECT_AFTER), {"after": last, "n": batch}).fetchall()
        for row in rows:
            event = dict(zip(_ALL, row, strict=True))
            last = event["id"]
            yield event
        if len(rows) < batch:
            return
