"""Verifying the audit chain, its keyed checkpoints, and pruning.

What a verification proves (see README, Audit log):

* **Links are keyed.** Each event's hash is an HMAC-SHA-256 of the previous hash and the
  event's canonical text under the chain key, derived from ``VAULT_CONSOLE_AUDIT_KEY`` and
  kept outside the database: with write access to the database alone, an edited, deleted,
  inserted or renumbered event cannot be given a valid link. Events written before the
  chain was keyed (no ``chain`` value) form a legacy prefix checked with plain SHA-256; the
  first keyed event links to the last legacy one, so the legacy prefix cannot be rewritten
  either once a keyed event follows it. A legacy event *after* a keyed one is refused.
* **Checkpoints survive truncation.** Every verification and every ``CHECKPOINT_EVERY``
  appends write a keyed checkpoint (last id, last hash, count, time, MAC) to the table and to
  the JSON-lines log sink. Checkpoints are never removed or moved backwards: a table that
  ends below its highest checkpoint was truncated, and every verification says so.
  ``audit verify --log FILE`` also holds the table against the checkpoints in a log file,
  which catches checkpoints deleted from the table.
* **Prune leaves a trace.** It appends an ``audit.pruned`` event first and writes a keyed
  anchor the kept chain continues from; a forged anchor does not verify.

What it does not prove: an attacker holding both the database and the audit key can
recompute everything; events lost before they were written (a crash between an upstream
call and the result event) are not in the chain; the log sink is only as safe as the place
the logs are shipped to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from app.models import AuditAnchor, AuditCheckpoint, AuditEvent
from app.services.audit import (
    CHAIN_KEYED,
    COLUMNS,
    GENESIS,
    Actor,
    AuditLog,
    chain_hash,
    record,
)

log = logging.getLogger("app.audit")

#: the background job (lease and last result in the database) of full verifications
VERIFY_JOB = "audit.verify"
#: prune keeps events younger than this unless forced
PRUNE_MIN_AGE_DAYS = 30

_ALL = (*COLUMNS, "hash")
_SELECT_AFTER = f"SELECT {', '.join(_ALL)} FROM audit_events WHERE id > :after ORDER BY id LIMIT :n"  # noqa: S608 - fixed column names
_CHECKPOINTS = AuditCheckpoint.__table__


@dataclass
class Verification:
    ok: bool
    checked: int
    last_id: int | None
    first_bad_id: int | None = None
    reason: str | None = None
    legacy: int = 0
    #: the first legacy event walked (1, unless a prune removed the chain's start)
    legacy_from: int = 1

    @property
    def summary(self) -> str:
        if self.ok:
            last = self.legacy_from + self.legacy - 1
            legacy = (
                f" (#{self.legacy_from}–#{last} in the legacy unkeyed segment)"
                if self.legacy
                else ""
            )
            return f"Chain intact: {self.checked} events verified.{legacy}"
        if self.first_bad_id is None:
            return f"Chain broken: {self.reason}"
        return f"Chain broken at event #{self.first_bad_id}: {self.reason}"


@dataclass(frozen=True)
class Checkpoint:
    through_id: int
    through_hash: str
    event_count: int
    verified_at: str
    mac: str

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _checkpoint_mac(key, self))


def _mac(key: bytes, kind: str, values: Iterable[Any]) -> str:
    message = "|".join([kind, *map(str, values)])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _checkpoint_mac(key: bytes, point: Checkpoint) -> str:
    return _mac(
        key,
        "checkpoint",
        (point.through_id, point.through_hash, point.event_count, point.verified_at),
    )


_ANCHOR_FIELDS = (
    "pruned_before", "first_kept_id", "anchor_hash", "archived_count", "archive_sha256",
    "pruned_by",
)  # fmt: skip


def _anchor_mac(key: bytes, anchor: Any) -> str:
    """``anchor``: a row or a mapping of the anchor's fields."""
    values = anchor if isinstance(anchor, dict) else anchor._mapping
    return _mac(key, "anchor", (values[name] for name in _ANCHOR_FIELDS))


# ---------------------------------------------------------------------------- checkpoints


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


def _table_checkpoints(conn: Connection) -> list[Checkpoint]:
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


# ---------------------------------------------------------------------------- verify


def iter_events(conn: Connection, after_id: int = 0, batch: int = 5000) -> Iterator[dict]:
    last = after_id
    while True:
        rows = conn.execute(text(_SELECT_AFTER), {"after": last, "n": batch}).fetchall()
        for row in rows:
            event = dict(zip(_ALL, row, strict=True))
            last = event["id"]
            yield event
        if len(rows) < batch:
            return


def _anchor(conn: Connection, key: bytes) -> tuple[str, int, str | None]:
    """(hash the chain starts from, first id, problem) after the newest prune, if any."""
    anchor = conn.execute(
        select(AuditAnchor.__table__).order_by(AuditAnchor.id.desc()).limit(1)
    ).first()
    if anchor is None:
        return GENESIS, 1, None
    if not anchor.mac or not hmac.compare_digest(anchor.mac, _anchor_mac(key, anchor)):
        return GENESIS, 1, "the newest prune anchor does not carry a valid MAC (forged)"
    return anchor.anchor_hash, anchor.first_kept_id or 1, None


def verify(
    log_: AuditLog,
    since: Checkpoint | None = None,
    extra_checkpoints: Iterable[Checkpoint] = (),
) -> Verification:
    """Walk the chain (from ``since``, else from the start) and check it against every
    checkpoint; name the first problem."""
    key = log_.chain_key
    with log_.read_engine.connect() as conn:
        points = _table_checkpoints(conn) + list(extra_checkpoints)
        forged = [p for p in points if not p.valid(key)]
        if forged:
            reason = f"the checkpoint through #{forged[0].through_id} has no valid MAC (forged)"
            return Verification(False, 0, None, None, reason)
        start_hash, first_id, problem = _anchor(conn, key)
        if problem:
            return Verification(False, 0, None, None, problem)
        head = conn.execute(select(func.max(AuditEvent.id))).scalar()
        highest = max(points, key=lambda p: p.through_id, default=None)
        if highest is not None and (head is None or head < highest.through_id):
            reason = (
                f"truncated after #{head or 0}: a checkpoint vouches for events through "
                f"#{highest.through_id} ({highest.event_count} events, {highest.verified_at})"
            )
            return Verification(False, 0, head, (head or 0) + 1, reason)
        by_id = {p.through_id: p for p in points if p.through_id >= first_id}
        if since is not None and since.through_id >= first_id:
            held = conn.execute(
                select(AuditEvent.hash).where(AuditEvent.id == since.through_id)
            ).scalar()
            if held != since.through_hash:
                reason = "the last verified event is missing or was changed"
                return Verification(False, 0, None, since.through_id, reason)
            expected_prev, expected_id = since.through_hash, since.through_id + 1
            after_id, keyed_seen = since.through_id, True
        else:
            expected_prev, expected_id, after_id, keyed_seen = start_hash, first_id, 0, False
        checked = legacy = 0
        legacy_from = 1
        last_id = since.through_id if since is not None else None
        for row in iter_events(conn, after_id):
            problem = _check(row, expected_id, expected_prev, key, keyed_seen)
            if problem:
                return Verification(False, checked, last_id, row["id"] if problem[0] else
                                    expected_id, problem[1], legacy)  # fmt: skip
            if row.get("chain") is None:
                legacy_from = row["id"] if not legacy else legacy_from
                legacy += 1
            else:
                keyed_seen = True
            point = by_id.get(row["id"])
            if point is not None and point.through_hash != row["hash"]:
                reason = "it does not match the checkpoint that vouched for it"
                return Verification(False, checked, last_id, row["id"], reason, legacy)
            expected_prev, expected_id = row["hash"], row["id"] + 1
            checked += 1
            last_id = row["id"]
    return Verification(True, checked, last_id, legacy=legacy, legacy_from=legacy_from)


def _check(
    row: dict, expected_id: int, expected_prev: str, key: bytes, keyed_seen: bool
) -> tuple[bool, str] | None:
    """(whether the row itself is the bad one, reason), or None when the link holds."""
    if row["id"] != expected_id:
        return False, (
            f"expected event #{expected_id} next but found #{row['id']} "
            "(an event was deleted or inserted)"
        )
    if row["prev_hash"] != expected_prev:
        return (
            True,
            "its link to the previous event does not match (deleted, inserted or reordered)",
        )
    if row.get("chain") is None and keyed_seen:
        return True, "an unkeyed event after keyed ones (the chain was rewritten)"
    if row.get("chain") not in (None, CHAIN_KEYED):
        return True, f"unknown chain version {row.get('chain')!r}"
    if not hmac.compare_digest(chain_hash(row["prev_hash"], row, key), row["hash"]):
        return True, "its content does not match its hash (the event was edited)"
    return None


def verify_and_checkpoint(
    log_: AuditLog, *, full: bool = False, log_file: Path | None = None
) -> tuple[Verification, Any]:
    """Verify (from the newest checkpoint, or everything when ``full``), then record a new
    checkpoint when the chain is intact and has grown. Never moves a checkpoint backwards."""
    extra = log_checkpoints(log_file) if log_file is not None else []
    with log_.read_engine.connect() as conn:
        points = _table_checkpoints(conn)
        newest = max(points, key=lambda p: p.through_id, default=None)
    since = None if full or newest is None or not newest.valid(log_.chain_key) else newest
    result = verify(log_, since, extra)
    if not result.ok or result.last_id is None:
        return result, _newest_row()
    if newest is not None and result.last_id <= newest.through_id:
        return result, _newest_row()
    with log_.engine.connect() as conn:
        head_hash = conn.execute(
            select(AuditEvent.hash).where(AuditEvent.id == result.last_id)
        ).scalar_one()
        point = write_checkpoint(conn, log_, result.last_id, head_hash, full=full or since is None)
        conn.commit()
    log_checkpoint(point)
    return result, _newest_row()


def _newest_row() -> AuditCheckpoint | None:
    from app.extensions import db

    return db.session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.through_id.desc()).limit(1)
    ).first()


def has_checkpoint(log_: AuditLog) -> bool:
    with log_.read_engine.connect() as conn:
        return conn.execute(select(AuditCheckpoint.id).limit(1)).first() is not None


# ---------------------------------------------------------------------------- background


def last_full_verification() -> Verification | None:
    """The latest full verification's result, whichever host or worker ran it."""
    from app.extensions import db
    from app.services import jobs

    state = jobs.state(db.engine, VERIFY_JOB)
    if state is None or not state.result:
        return None
    return Verification(**state.result)


def full_verification_running() -> float | None:
    """Seconds since a full verification (anywhere in the deployment) started, or None."""
    from app.extensions import db
    from app.services import jobs

    state = jobs.state(db.engine, VERIFY_JOB)
    if state is None or not state.running() or state.started_at is None:
        return None
    return (datetime.now(UTC) - state.started_at).total_seconds()


def start_full_verification(app: Any) -> bool:
    """Walk the whole chain in a background thread, unless a verification is running anywhere
    (one at a time across hosts: a lease); the result is stored for every host to show."""
    from app.extensions import db
    from app.services import jobs

    owner = jobs.owner_id() + ":verify"
    if not jobs.try_lease(db.engine, VERIFY_JOB, owner, 3600):
        return False

    def work() -> None:
        with app.app_context():
            try:
                result, _ = verify_and_checkpoint(app.extensions["audit"], full=True)
            except Exception as exc:
                jobs.release(db.engine, VERIFY_JOB, owner, error=type(exc).__name__)
                raise
            jobs.release(db.engine, VERIFY_JOB, owner, result=asdict(result))
            log.info("audit full verification", extra={"summary": result.summary})

    threading.Thread(target=work, name="audit-verify", daemon=True).start()
    return True


# ---------------------------------------------------------------------------- prune

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
    it); the kept chain continues from a keyed anchor, so :func:`verify` still checks
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
        conn.execute(AuditEvent.__table__.delete().where(AuditEvent.id <= cutoff_id))
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
        conn.execute(
            insert(AuditAnchor.__table__).values(**anchor, mac=_anchor_mac(log_.chain_key, anchor))
        )
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
