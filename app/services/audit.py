"""The audit log: fail-closed, append-only, hash-chained, with a second sink.

* **Chain.** Every event stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical)``
  where ``canonical`` is the event's own sorted-key JSON (all columns but ``hash``). Appends
  are serialised by the database (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a table lock), so
  several worker processes keep one valid chain.
* **Append-only.** Database triggers refuse UPDATE and DELETE (migration 0002); only
  :func:`prune` lifts them, inside one transaction, after archiving what it removes.
* **Second sink.** Each event is also logged as a JSON line (logger ``app.audit``) with its
  hash, so a rewritten database can be caught against the logs.
* **Fail closed.** :meth:`AuditLog.attempt` commits an attempt event before the caller talks
  to CloudCruise; if that write fails, :class:`AuditUnavailable` is raised and nothing is
  sent. The result event follows with the same request id.
* **Secrets.** Secret fields appear only as ``changed`` plus a keyed HMAC fingerprint (the
  key lives in the instance folder or ``VAULT_CONSOLE_AUDIT_KEY``, never in the table).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from app.cloudcruise.crypto import CREDENTIAL_FIELDS
from app.cloudcruise.entry import SESSION_BLOBS
from app.database import file_lock
from app.models import AuditEvent

log = logging.getLogger("app.audit")

GENESIS = "0" * 64
#: Fields whose values never enter the audit log (only a fingerprint does); session blobs
#: (SESSION_BLOBS) hold live tokens: recorded as changed + fingerprint + size only.
SECRET_FIELDS = frozenset(CREDENTIAL_FIELDS)
COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns if c.name != "hash")
_SORTED = tuple(sorted(COLUMNS))
MAX_TEXT = 500
#: an appender writes a keyed checkpoint every this many events (and every verification does)
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


def is_secret_change(name: str, after: Mapping[str, Any]) -> bool:
    if name in SECRET_FIELDS:
        return True
    return name == "proxy_value" and after.get("proxy_setting") == "custom"


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
        row = {name: fields.get(name) for name in COLUMNS}
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
                    from app.services import audit_chain

                    checkpoint = audit_chain.write_checkpoint(conn, self, row["id"], row["hash"])
                conn.commit()
            if checkpoint is not None:
                audit_chain.log_checkpoint(checkpoint)
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
    app.extensions["audit"] = AuditLog(db.engine, app.config["AUDIT_HMAC_KEY"], lock)


def _host_lock(path: str | None) -> contextlib.AbstractContextManager:
    return file_lock(Path(path)) if path else contextlib.nullcontext()


# ---------------------------------------------------------------------------- request glue


@dataclass
class Actor:
    operator_id: int | None
    operator: str | None
    role: str | None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def current_actor() -> Actor:
    """Who is acting in this request (or the command line, outside a request)."""
    from flask import g, has_request_context, request
    from flask_login import current_user

    if not has_request_context():
        return Actor(None, "cli", None)
    user = current_user if current_user and current_user.is_authenticated else None
    return Actor(
        operator_id=user.id if user else None,
        operator=user.username if user else None,
        role=user.role if user else None,
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        request_id=getattr(g, "request_id", None),
    )


def _target(target: Any) -> dict[str, Any]:
    if target is None:
        return {}
    get = target.get if isinstance(target, Mapping) else lambda k: getattr(target, k, None)
    return {
        "target_id": str(get("id")) if get("id") else None,
        "target_pid": get("permissioned_user_id"),
        "target_domain": get("domain"),
    }


def audit_log() -> AuditLog:
    from flask import current_app

    return current_app.extensions["audit"]


def record(
    action: str,
    outcome: str,
    *,
    target: Any = None,
    fields: Iterable[str] | None = None,
    changes: Mapping[str, Any] | None = None,
    status: int | None = None,
    message: str | None = None,
    batch_id: str | None = None,
    phase: str = "event",
    actor: Actor | None = None,
    duration_ms: float | None = None,
    operator_override: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a single event (login, logout, refusals, CLI actions)."""
    who = actor or current_actor()
    values = {
        "request_id": who.request_id,
        "operator_id": who.operator_id,
        "operator": who.operator,
        "role": who.role,
        "ip": who.ip,
        "user_agent": who.user_agent,
    }
    values.update(operator_override or {})
    return audit_log().append(
        action=action,
        outcome=outcome,
        phase=phase,
        batch_id=batch_id,
        fields=sorted(fields) if fields is not None else None,
        changes=dict(changes) if changes else None,
        status=status,
        message=message,
        duration_ms=duration_ms,
        **_target(target),
        **values,
    )


class Attempt:
    """An action about to be sent upstream: the attempt is recorded on creation."""

    def __init__(self, action: str, **context: Any) -> None:
        self.action = action
        self.context = context
        self.started = time.perf_counter()
        self.done = False
        record(action, "attempt", phase="attempt", **context)

    def _finish(self, outcome: str, **extra: Any) -> None:
        if self.done:
            return
        self.done = True
        context = {**self.context, **extra}
        context["duration_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        try:
            record(self.action, outcome, phase="result", **context)
        except AuditUnavailable:
            # The change already happened upstream; the attempt row and the log sink
            # still show it. Never hide the upstream outcome from the operator for this.
            log.error(
                "audit result write failed after upstream call", extra={"audit_action": self.action}
            )

    def success(self, *, target: Any = None, **extra: Any) -> None:
        if target is not None:
            extra.update(target=target)
        self._finish("success", **extra)

    def failure(self, error: Any) -> None:
        status = getattr(error, "status", None)
        message = getattr(error, "message", None) or str(error)
        self._finish("failure", status=status, message=message)


def attempt(action: str, **context: Any) -> Attempt:
    """Record the attempt (raises :class:`AuditUnavailable`); finish with success/failure."""
    return Attempt(action, **context)


def new_batch_id() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------------------- verification
