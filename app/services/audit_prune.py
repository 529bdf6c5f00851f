"""Pruning the audit log: archive old events to JSON Lines, remove them, and leave a keyed
anchor the kept chain continues from.

Prune leaves a trace: it appends an ``audit.pruned`` attempt event first (never pruned by
the run that writes it) and a result event after; the anchor carries a MAC under the chain
key, so a forged anchor does not verify (:mod:`app.services.audit_verify`). Only here are the
append-only triggers lifted, inside the one transaction that deletes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text

from app.models import AuditAnchor, AuditEvent
from app.services.audit_checkpoints import keyed_mac
from app.services.audit_recording import Actor, record
from app.services.audit_store import GENESIS, AuditLog, iter_events

log = logging.getLogger("app.audit")

#: prune keeps events younger than this unless forced
PRUNE_MIN_AGE_DAYS = 30

# the declarative ``__table__`` is typed as any FromClause; these models map Tables
_EVENTS = cast(Table, AuditEvent.__table__)
_ANCHORS = cast(Table, AuditAnchor.__table__)

_ANCHOR_FIELDS = (
    "pruned_before", "first_kept_id", "anchor_hash", "archived_count", "archive_sha256",
    "pruned_by",
)  # fmt: skip


def anchor_mac(key: bytes, anchor: Any) -> str:
    """``anchor``: a row or a mapping of the anchor's fields."""
    values = anchor if isinstance(anchor, dict) else anchor._mapping
    return keyed_mac(key, "anchor", (values[name] for name in _ANCHOR_FIELDS))


#: The append-only guards (as created by migration 0002), lifted only while pruning.
_GUARDS = {
    "sqlite": (
        ["DROP TRIGGER audit_events_no_delete"],
        [
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
        ],
    ),
    "postgresql": (
        ["ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"],
        ["ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update"],
    ),
}


@dataclass
class PruneResult:
    archived: int
    archive_path: str
    archive_sha256: str | None
    first_kept_id: int | None


class PruneRefused(ValueError):
    """Pruning would remove events younger than ``PRUNE_MIN_AGE_DAYS`` (without force)."""


def prune(
    log_: AuditLog,
    before: str,
    archive_path: Any,
    *,
    actor: Actor | None = None,
    force: bool = False,
) -> PruneResult:
    """Archive events older than ``before`` (ISO date/time) to JSON Lines, then delete them.

    An ``audit.pruned`` event is appended first (it is never pruned by the run that writes
    it); the kept chain continues from a keyed anchor, so verification still checks
    everything that remains. Refuses events younger than ``PRUNE_MIN_AGE_DAYS`` days unless
    ``force``.
    """
    path = Path(archive_path)
    cutoff_date = datetime.fromisoformat(before.replace("Z", "+00:00"))
    if cutoff_date.tzinfo is None:
        cutoff_date = cutoff_date.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - cutoff_date).days
    if age < PRUNE_MIN_AGE_DAYS and not force:
        raise PruneRefused(
            f"events younger than {PRUNE_MIN_AGE_DAYS} days are kept; choose an earlier "
            "--before, or add --force"
        )
    who = actor or Actor(None, "cli", None)
    engine = log_.engine
    with engine.connect() as conn:
        candidates = conn.execute(
            select(func.count(), func.max(AuditEvent.id)).where(AuditEvent.ts < before)
        ).first()
    if not candidates or not candidates[0]:
        return PruneResult(0, str(path), None, None)
    pruned = record(
        "audit.pruned", "attempt", phase="attempt", actor=who,
        message=f"pruning events before {before}: {candidates[0]} events through "
                f"#{candidates[1]}, archive {path}",
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        cutoff_id = min(candidates[1], pruned["id"] - 1)
        digest = hashlib.sha256()
        count = 0
        last_hash = GENESIS
        with open(path, "x", encoding="utf-8") as fh:
            for row in iter_events(conn):
                if row["id"] > cutoff_id:
                    break
                line = json.dumps(row, sort_keys=True, ensure_ascii=True) + "\n"
                fh.write(line)
                digest.update(line.encode())
                count += 1
                last_hash = row["hash"]
            fh.flush()
        drop, restore = _GUARDS.get(engine.dialect.name, ([], []))
        for statement in drop:
            conn.execute(text(statement))
        conn.execute(_EVENTS.delete().where(AuditEvent.id <= cutoff_id))
        for statement in restore:
            conn.execute(text(statement))
        anchor = {
            "created_at": datetime.now(UTC),
            "pruned_before": before,
            "first_kept_id": cutoff_id + 1,
            "anchor_hash": last_hash,
            "archived_count": count,
            "archive_path": str(path),
            "archive_sha256": digest.hexdigest(),
            "pruned_by": who.operator,
        }
        conn.execute(insert(_ANCHORS).values(**anchor, mac=anchor_mac(log_.chain_key, anchor)))
    record(
        "audit.pruned", "success", actor=who,
        message=f"archived events #{anchor['first_kept_id'] - count}–#{cutoff_id} "
                f"({count}) before {before}, archive sha256 {digest.hexdigest()}",
    )  # fmt: skip
    log.info("audit pruned", extra={"archived": count, "archive": str(path)})
    return PruneResult(count, str(path), digest.hexdigest(), cutoff_id + 1)


def anchors() -> list[AuditAnchor]:
    """Every prune so far, newest first (the audit page lists them)."""
    from app.extensions import db

    return list(db.session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc())))
