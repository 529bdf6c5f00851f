"""Leases for background jobs, held in the console database so every worker and host agrees.

A job (the entries sync, later audit verification) runs only in the process that holds its
lease. Taking the lease is one conditional UPDATE ("free, or expired, [and not attempted
within the last N seconds]"), which the database serialises on SQLite and PostgreSQL alike:
of any number of concurrent takers exactly one sees ``rowcount == 1``. A crashed holder's
lease simply expires. The job's outcome is stored on the same row for every process to show.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from app.models import BackgroundJob

# the declarative ``__table__`` is typed as any FromClause; these models map Tables
_JOBS = cast(Table, BackgroundJob.__table__)


def owner_id() -> str:
    """Who holds a lease: host, process and thread (unique across a deployment)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:128]


@dataclass(frozen=True)
class JobState:
    name: str
    lease_owner: str | None
    lease_until: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    succeeded_at: datetime | None
    last_error: str | None
    result: dict[str, Any]

    def running(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.lease_until is not None and self.lease_until > now

    @property
    def failing(self) -> bool:
        """The last run failed (and none succeeded after it)."""
        return self.last_error is not None


def _ensure(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(select(_JOBS.c.name).where(_JOBS.c.name == name)).first():
            return
        try:
            with conn.begin_nested():
                conn.execute(insert(_JOBS).values(name=name))
        except IntegrityError:
            pass  # another process created it first


def state(engine: Engine, name: str) -> JobState | None:
    with engine.connect() as conn:
        row = conn.execute(select(_JOBS).where(_JOBS.c.name == name)).first()
    if row is None:
        return None
    data = row._mapping
    try:
        result = json.loads(data.get("result") or "{}")
    except ValueError:
        result = {}
    return JobState(
        name=name,
        lease_owner=data.get("lease_owner"),
        lease_until=data.get("lease_until"),
        started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        succeeded_at=data.get("succeeded_at"),
        last_error=data.get("last_error"),
        result=result,
    )


def try_lease(
    engine: Engine,
    name: str,
    owner: str,
    seconds: float,
    *,
    not_started_within: float | None = None,
) -> bool:
    """Take the lease of job ``name`` for ``seconds`` if it is free; True when taken.

    ``not_started_within``: also refuse when a run started less than that many seconds ago
    (so a deployment starts at most one run per interval, whatever its number of workers).
    """
    _ensure(engine, name)
    now = datetime.now(UTC)
    free = (_JOBS.c.lease_until.is_(None)) | (_JOBS.c.lease_until < now)
    condition = (_JOBS.c.name == name) & free
    if not_started_within is not None:
        since = now - timedelta(seconds=not_started_within)
        condition &= (_JOBS.c.started_at.is_(None)) | (_JOBS.c.started_at < since)
    with engine.begin() as conn:
        taken = conn.execute(
            update(_JOBS)
            .where(condition)
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds), started_at=now)
        )
        return taken.rowcount == 1


def wait_for_lease(
    engine: Engine, name: str, owner: str, seconds: float, *, timeout: float
) -> bool:
    """Take the lease, waiting up to ``timeout`` seconds for a running holder to finish."""
    deadline = time.monotonic() + timeout
    while True:
        if try_lease(engine, name, owner, seconds):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def renew(conn: Connection, name: str, owner: str, seconds: float) -> bool:
    """Extend a held lease inside the caller's transaction (also takes SQLite's write lock
    first thing); False when the lease was lost meanwhile."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    renewed = conn.execute(
        update(_JOBS)
        .where((_JOBS.c.name == name) & (_JOBS.c.lease_owner == owner))
        .values(lease_until=until)
    )
    return renewed.rowcount == 1


def give_back(engine: Engine, name: str, owner: str) -> None:
    """Free a held lease without recording a run (the holder found nothing to do)."""
    with engine.begin() as conn:
        conn.execute(
            update(_JOBS)
            .where((_JOBS.c.name == name) & (_JOBS.c.lease_owner == owner))
            .values(lease_owner=None, lease_until=None)
        )


def release(
    engine: Engine,
    name: str,
    owner: str,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    """Give the lease back and record the run's outcome (``error`` None means success)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "finished_at": now}
    if error is None:
        values.update(succeeded_at=now, last_error=None, result=json.dumps(result or {}))
    else:
        values.update(last_error=error[:500])
    with engine.begin() as conn:
        conn.execute(
            update(_JOBS)
            .where((_JOBS.c.name == name) & (_JOBS.c.lease_owner == owner))
            .values(**values)
        )
