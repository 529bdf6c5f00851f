"""Keyed checkpoints of the audit chain: written by appenders every ``CHECKPOINT_EVERY``
events and by verifications that write (the background job, ``flask audit verify``), read
by every verification.

A checkpoint (last id, last hash, event count, time, MAC under the chain key) goes to the
``audit_checkpoints`` table and to the JSON-lines log sink. Checkpoints are never removed or
moved backwards, so a table that ends below its highest checkpoint was truncated. Both the
appender (:mod:`app.services.audit_store`) and the verifier
(:mod:`app.services.audit_verify`) use this module, which depends on neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection

from app.models import AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from app.services.audit_store import AuditLog

log = logging.getLogger("app.audit")

# the declarative ``__table__`` is typed as any FromClause; these models map Tables
_CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)


@dataclass(frozen=True)
class Checkpoint:
    through_id: int
    through_hash: str
    event_count: int
    verified_at: str
    mac: str

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _checkpoint_mac(key, self))


def keyed_mac(key: bytes, kind: str, values: Iterable[Any]) -> str:
    """MAC of a keyed mark of the chain (a checkpoint, a prune anchor) under the chain key."""
    message = "|".join([kind, *map(str, values)])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _checkpoint_mac(key: bytes, point: Checkpoint) -> str:
    return keyed_mac(
        key,
        "checkpoint",
        (point.through_id, point.through_hash, point.event_count, point.verified_at),
    )


def write_checkpoint(
    conn: Connection, log_: AuditLog, through_id: int, through_hash: str, *, full: bool = False
) -> Checkpoint:
    """Insert a keyed checkpoint in the caller's transaction (log it after the commit)."""
    first = conn.execute(select(func.min(AuditEvent.id))).scalar() or through_id
    point = Checkpoint(
        through_id=through_id,
        through_hash=through_hash,
        event_count=through_id - first + 1,
        verified_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        mac="",
    )
    point = Checkpoint(**{**asdict(point), "mac": _checkpoint_mac(log_.chain_key, point)})
    conn.execute(
        insert(_CHECKPOINTS).values(
            verified_at=datetime.fromisoformat(point.verified_at.replace("Z", "+00:00")),
            through_id=point.through_id,
            through_hash=point.through_hash,
            full=full,
            event_count=point.event_count,
            mac=point.mac,
        )
    )
    return point


def log_checkpoint(point: Checkpoint) -> None:
    """The log sink's copy: ``audit verify --log FILE`` reads these lines back."""
    log.info("audit checkpoint #%s", point.through_id, extra={"audit_checkpoint": asdict(point)})


def table_checkpoints(conn: Connection) -> list[Checkpoint]:
    """Every checkpoint in the table, oldest first."""
    rows = conn.execute(
        select(
            _CHECKPOINTS.c.through_id,
            _CHECKPOINTS.c.through_hash,
            _CHECKPOINTS.c.event_count,
            _CHECKPOINTS.c.verified_at,
            _CHECKPOINTS.c.mac,
        ).order_by(_CHECKPOINTS.c.through_id)
    ).all()
    return [
        Checkpoint(
            r.through_id,
            r.through_hash,
            r.event_count or 0,
            r.verified_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            r.mac or "",
        )
        for r in rows
    ]


def log_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints recorded in a JSON-lines log file (other lines are skipped)."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "audit_checkpoint" not in line:
                continue
            try:
                data = json.loads(line)["audit_checkpoint"]
                found.append(Checkpoint(**data))
            except (ValueError, KeyError, TypeError):
                continue
    return found


def newest_row() -> AuditCheckpoint | None:
    """The newest checkpoint as a model row (the audit page shows when and how it was made)."""
    from app.extensions import db

    return db.session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.through_id.desc()).limit(1)
    ).first()


def has_checkpoint(log_: AuditLog) -> bool:
    with log_.read_engine.connect() as conn:
        return conn.execute(select(AuditCheckpoint.id).limit(1)).first() is not None
