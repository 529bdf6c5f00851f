"""Verifying the audit chain against its keyed checkpoints, and the background job that
walks all of it.

What a verification proves (see README, Audit log):

* **Links are keyed.** Each event's hash is an HMAC-SHA-256 of the previous hash and the
  event's canonical text under the chain key, derived from ``VAULT_CONSOLE_AUDIT_KEY`` and
  kept outside the database: with write access to the database alone, an edited, deleted,
  inserted or renumbered event cannot be given a valid link. Events written before the
  chain was keyed (no ``chain`` value) form a legacy prefix checked with plain SHA-256; the
  first keyed event links to the last legacy one, so the legacy prefix cannot be rewritten
  either once a keyed event follows it. A legacy event *after* a keyed one is refused.
* **Checkpoints survive truncation.** Appenders (every ``CHECKPOINT_EVERY`` events) and
  writing verifications record keyed checkpoints (:mod:`app.services.audit_checkpoints`),
  never removed or moved backwards: a table that ends below its highest checkpoint was
  truncated, and every verification says so. ``audit verify --log FILE`` also holds the
  table against the checkpoints in a log file, which catches checkpoints deleted from the
  table.
* **Anchors are keyed.** After a prune the chain continues from the newest anchor
  (:mod:`app.services.audit_prune`); a forged anchor does not verify.

Who writes: :func:`verify` and :func:`verify_since_checkpoint` only read (page views use
them: a GET never writes); :func:`verify_and_checkpoint` also records a checkpoint (the
background job started by "Verify whole chain", and ``flask audit verify``).

What it does not prove: an attacker holding both the database and the audit key can
recompute everything; events lost before they were written (a crash between an upstream
call and the result event) are not in the chain; the log sink is only as safe as the place
the logs are shipped to.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from app.models import AuditAnchor, AuditCheckpoint, AuditEvent
from app.services.audit_checkpoints import (
    Checkpoint,
    has_checkpoint,
    log_checkpoint,
    log_checkpoints,
    newest_row,
    table_checkpoints,
    write_checkpoint,
)
from app.services.audit_prune import anchor_mac
from app.services.audit_store import CHAIN_KEYED, GENESIS, AuditLog, chain_hash, iter_events

log = logging.getLogger("app.audit")

#: the background job (lease and last result in the database) of full verifications
VERIFY_JOB = "audit.verify"
#: the job's lease; the walk renews it as it goes, so a holder that died (host or worker
#: gone) stops showing as "running" everywhere within this time
VERIFY_LEASE_SECONDS = 120.0
#: the walk calls its heartbeat every this many events
HEARTBEAT_EVERY = 2000


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


def verify(
    log_: AuditLog,
    since: Checkpoint | None = None,
    extra_checkpoints: Iterable[Checkpoint] = (),
    *,
    heartbeat: Callable[[], None] | None = None,
) -> Verification:
    """Walk the chain (from ``since``, else from the start) and check it against every
    checkpoint; name the first problem. Reads only. ``heartbeat`` is called every
    ``HEARTBEAT_EVERY`` events (the background job keeps its lease with it)."""
    key = log_.chain_key
    with log_.read_engine.connect() as conn:
        points = table_checkpoints(conn) + list(extra_checkpoints)
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
            broken = _check(row, expected_id, expected_prev, key, keyed_seen)
            if broken:
                return Verification(False, checked, last_id, row["id"] if broken[0] else
                                    expected_id, broken[1], legacy)  # fmt: skip
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
            if heartbeat is not None and checked % HEARTBEAT_EVERY == 0:
                heartbeat()
    return Verification(True, checked, last_id, legacy=legacy, legacy_from=legacy_from)


def _check(
    row: dict[str, Any], expected_id: int, expected_prev: str, key: bytes, keyed_seen: bool
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


def _anchor(conn: Connection, key: bytes) -> tuple[str, int, str | None]:
    """(hash the chain starts from, first id, problem) after the newest prune, if any."""
    anchor = conn.execute(
        select(AuditAnchor.__table__).order_by(AuditAnchor.id.desc()).limit(1)
    ).first()
    if anchor is None:
        return GENESIS, 1, None
    if not anchor.mac or not hmac.compare_digest(anchor.mac, anchor_mac(key, anchor)):
        return GENESIS, 1, "the newest prune anchor does not carry a valid MAC (forged)"
    return anchor.anchor_hash, anchor.first_kept_id or 1, None


def _resume_point(log_: AuditLog, full: bool) -> tuple[Checkpoint | None, Checkpoint | None]:
    """(newest checkpoint, the one to verify from): none to verify from when ``full``, when
    there is none, or when the newest one's MAC does not hold (then the full walk names it)."""
    with log_.read_engine.connect() as conn:
        points = table_checkpoints(conn)
    newest = max(points, key=lambda p: p.through_id, default=None)
    since = None if full or newest is None or not newest.valid(log_.chain_key) else newest
    return newest, since


def verify_since_checkpoint(log_: AuditLog) -> tuple[Verification, AuditCheckpoint | None]:
    """Verify the events after the newest checkpoint (all of them when there is none) and
    write nothing: what the audit and status pages show. Returns the newest checkpoint row."""
    _newest, since = _resume_point(log_, full=False)
    return verify(log_, since), newest_row()


def verify_and_checkpoint(
    log_: AuditLog,
    *,
    full: bool = False,
    log_file: Path | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> tuple[Verification, AuditCheckpoint | None]:
    """Verify (from the newest checkpoint, or everything when ``full``), then record a new
    checkpoint when the chain is intact and has grown. Never moves a checkpoint backwards."""
    extra = log_checkpoints(log_file) if log_file is not None else []
    newest, since = _resume_point(log_, full)
    result = verify(log_, since, extra, heartbeat=heartbeat)
    if not result.ok or result.last_id is None:
        return result, newest_row()
    if newest is not None and result.last_id <= newest.through_id:
        return result, newest_row()
    with log_.engine.connect() as conn:
        head_hash = conn.execute(
            select(AuditEvent.hash).where(AuditEvent.id == result.last_id)
        ).scalar_one()
        point = write_checkpoint(conn, log_, result.last_id, head_hash, full=full or since is None)
        conn.commit()
    log_checkpoint(point)
    return result, newest_row()


# ---------------------------------------------------------------------------- background job


def _engine() -> Engine:
    from app.extensions import db

    engine = db.engine
    assert engine is not None, "Database.init_app() has not run"
    return engine


def last_full_verification() -> Verification | None:
    """The latest full verification's result, whichever host or worker ran it."""
    from app.services import jobs

    state = jobs.state(_engine(), VERIFY_JOB)
    if state is None or not state.result:
        return None
    return Verification(**state.result)


def full_verification_running() -> float | None:
    """Seconds since a full verification (anywhere in the deployment) started, or None."""
    from app.services import jobs

    state = jobs.state(_engine(), VERIFY_JOB)
    if state is None or not state.running() or state.started_at is None:
        return None
    return (datetime.now(UTC) - state.started_at).total_seconds()


class _Lease:
    """The job's lease, renewed by the walk's heartbeat at most every quarter lease."""

    def __init__(self, engine: Engine, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        self.renewed = time.monotonic()

    def keep(self) -> None:
        from app.services import jobs

        if time.monotonic() - self.renewed < VERIFY_LEASE_SECONDS / 4:
            return
        with self.engine.begin() as conn:
            if not jobs.renew(conn, VERIFY_JOB, self.owner, VERIFY_LEASE_SECONDS):
                log.warning("audit full verification lost its lease; finishing anyway")
        self.renewed = time.monotonic()


def start_full_verification(app: Any) -> bool:
    """Walk the whole chain in a background thread, unless a verification is running anywhere
    (one at a time across hosts and workers: a lease in ``background_jobs``, renewed while
    the walk goes on); the result is stored on the job's row for every host to show."""
    from app.services import jobs

    owner = jobs.owner_id() + ":verify"
    if not jobs.try_lease(_engine(), VERIFY_JOB, owner, VERIFY_LEASE_SECONDS):
        return False
    lease = _Lease(_engine(), owner)

    def work() -> None:
        with app.app_context():
            try:
                result, _ = verify_and_checkpoint(
                    app.extensions["audit"], full=True, heartbeat=lease.keep
                )
            except Exception as exc:
                jobs.release(_engine(), VERIFY_JOB, owner, error=type(exc).__name__)
                raise
            jobs.release(_engine(), VERIFY_JOB, owner, result=asdict(result))
            log.info("audit full verification", extra={"summary": result.summary})

    threading.Thread(target=work, name="audit-verify", daemon=True).start()
    return True


def page_state(log_: AuditLog) -> dict[str, Any]:
    """What the audit log and status pages show of the chain, read-only: a full walk's break
    (kept until fixed), "not verified yet" before a first checkpoint, else the events after
    the newest checkpoint verified now; and whether a full walk is running."""
    running = full_verification_running()
    full = last_full_verification()
    if full is not None and not full.ok:
        return {"result": full, "checkpoint": None, "running": running}
    if not has_checkpoint(log_):
        return {"result": None, "checkpoint": None, "running": running}
    result, checkpoint = verify_since_checkpoint(log_)
    return {"result": result, "checkpoint": checkpoint, "running": running}
