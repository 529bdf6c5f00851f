"""The entries index: one synchronized, secret-free copy of the vault's metadata.

The CloudCruise API lists a workspace only as a whole (``GET /vault``, no paging, no search),
so the console keeps a table of what its list, filters, sorts, overview and drift detection
need (:class:`app.models.IndexedEntry`) in the console database, where every worker and
host reads the same rows.

* **Sync** (:func:`sync`): one process at a time across the deployment (a lease row, see
  :mod:`app.services.jobs`) streams ``GET /vault`` into a temporary table, then reconciles
  the index with it in one transaction (insert, update, delete). Malformed entries are
  reported by id and leave their old row alone; a failed sync leaves the index as it was.
* **Freshness** (:func:`ensure_fresh`): a request that finds the index older than
  ``SYNC_SECONDS`` starts a background sync and is answered from the index at once; only a
  request that finds it never synced waits for the first sync.
* **Console writes** (:func:`upsert`, :func:`mark_deleted`) land in the index in the same
  request, from the API's answer, so every worker shows them on the next request. A sync
  whose fetch began before such a write leaves that row alone.
* **Drift**: entries created, deleted or changed in their configuration by anyone but this
  console are audited as ``entry.changed_outside`` (non-secret values old → new, secret
  fields only as "changed", detected by a keyed fingerprint of their ciphertext). Runtime
  data agents write (session timestamps, cookies, storage) updates the row silently.

Never stored: plaintext, ciphertext, cookie or storage values (only their counts).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, overload

from flask import Flask, current_app
from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from app.background import in_background
from app.cloudcruise import SECRET_FIELDS, VaultEntry
from app.cloudcruise import fields as catalogue
from app.extensions import db
from app.models import IndexedEntry
from app.services import jobs
from app.timeutil import parse_time
from app.upstream_errors import UpstreamError

log = logging.getLogger("app.entry_index")

JOB = "entries.sync"
#: how long a sync may hold its lease before another process may take over
LEASE_SECONDS = 600
#: how long a request that finds the index never synced waits for the first sync
FIRST_SYNC_WAIT = 45
#: a fresh read this soon after a console write began is not drift (the write's own effect)
WRITE_GRACE_SECONDS = 60
#: rows per INSERT while streaming into the staging table
BATCH = 1000
#: who the audit log names for changes made elsewhere
OUTSIDE = "outside the console"

# the declarative ``__table__`` is typed as any FromClause; these models map Tables
INDEX = cast(Table, IndexedEntry.__table__)

#: Configuration fields (the API's names, the catalogue's order): a change by anyone but the
#: console is drift.
CONFIG_FIELDS = catalogue.CONFIG_FIELDS
#: Secret fields, present in the index only as a keyed fingerprint of their ciphertext.
FINGERPRINTS = {name: f"fp_{name}" for name in SECRET_FIELDS}
#: Runtime data agents write: indexed, never drift.
RUNTIME_FIELDS = (
    "effective_expires_at",
    "session_data_set_at",
    "cookie_count",
    "local_storage_count",
    "session_storage_count",
    "created_at",
    "updated_at",
    "updated_at_text",
)
DERIVED_FIELDS = ("host", "tfa", "proxy_mode", "has_session", "name_key", "pid_key", "search_text")
#: Every column a sync writes from upstream data, in a fixed order (the digest's order).
UPSTREAM_COLUMNS = (
    "id",
    *CONFIG_FIELDS,
    *FINGERPRINTS.values(),
    *RUNTIME_FIELDS,
    *DERIVED_FIELDS,
)
_DRIFT_COLUMNS = (*CONFIG_FIELDS, *FINGERPRINTS.values(), "proxy_mode")
_PROXY_MODES = frozenset({"random", "static", "country", "custom"})


class MalformedEntry(ValueError):
    """An element of ``GET /vault`` the index cannot take; ``entry_id`` names it if it can."""

    def __init__(self, entry_id: str | None, reason: str) -> None:
        super().__init__(reason)
        self.entry_id = entry_id
        self.reason = reason


# ---------------------------------------------------------------------------- derivation


def proxy_mode(entry: Mapping[str, Any]) -> str:
    """random / static / country / custom, ``legacy`` for the old proxy object, or none."""
    setting = entry.get("proxy_setting")
    if isinstance(setting, str) and setting in _PROXY_MODES:
        return setting
    legacy = entry.get("proxy")
    if isinstance(legacy, dict) and legacy.get("enable"):
        return "legacy"
    return "none"


def host_of(domain: str) -> str:
    """Host of a URL, cheaply (this runs for every entry of every sync)."""
    rest = domain.partition("://")[2] or domain
    authority = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0].lower()[:255]
    return authority.split(":", 1)[0].lower()[:255]


def session_status(has_session: bool, expires_at: datetime | None, now: datetime) -> str:
    """active, expiring (within 24 h), expired or none."""
    if not has_session:
        return "none"
    if expires_at is None:
        return "active"
    remaining = (expires_at - now).total_seconds()
    if remaining <= 0:
        return "expired"
    return "expiring" if remaining <= 86400 else "active"


def _text(value: Any, limit: int, name: str, entry_id: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEntry(entry_id, f"{name} is not text")
    if len(value) > limit:
        raise MalformedEntry(entry_id, f"{name} is longer than {limit} characters")
    return value


def _flag(value: Any, name: str, entry_id: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise MalformedEntry(entry_id, f"{name} is not true or false")


def _int(value: Any, name: str, entry_id: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise MalformedEntry(entry_id, f"{name} is not a whole number")
    return int(value)


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def _digest(values: Mapping[str, Any], names: Iterable[str]) -> str:
    # repr of str/int/bool/None/datetime is stable across processes and cheap (this runs twice
    # for every entry of every sync)
    payload = repr(tuple(map(values.get, names)))
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def fingerprint(key: bytes, name: str, ciphertext: str) -> str:
    """Keyed HMAC of a secret field's ciphertext: equal ciphertexts compare equal."""
    message = f"index\x00{name}\x00{ciphertext}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def row_values(entry: VaultEntry, key: bytes) -> dict[str, Any]:
    """The index row of ``entry``: metadata, fingerprints of secrets, derived sort keys."""
    data = entry.to_mapping()
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise MalformedEntry(None, "the entry has no id")
    entry_id = str(raw_id)
    if len(entry_id) > 64:
        raise MalformedEntry(entry_id[:64], "the id is longer than 64 characters")
    pid, domain = data.get("permissioned_user_id"), data.get("domain")
    if not isinstance(pid, str) or not pid:
        raise MalformedEntry(entry_id, "permissioned_user_id is missing or not text")
    if not isinstance(domain, str) or not domain:
        raise MalformedEntry(entry_id, "domain is missing or not text")
    mode = proxy_mode(data)

    def text(name: str, limit: int) -> str | None:
        return _text(data.get(name), limit, name, entry_id)

    def flag(name: str) -> bool | None:
        return _flag(data.get(name), name, entry_id)

    def whole(name: str) -> int | None:
        return _int(data.get(name), name, entry_id)

    values: dict[str, Any] = {
        "id": entry_id,
        "permissioned_user_id": text("permissioned_user_id", 255),
        "domain": text("domain", 2048),
        "user_alias": text("user_alias", 255) or None,
        "tfa_method": text("tfa_method", 32) or None,
        "persist_cookies": bool(flag("persist_cookies")),
        "persist_local_storage": bool(flag("persist_local_storage")),
        "persist_session_storage": bool(flag("persist_session_storage")),
        "skip_csrf_cookies": flag("skip_csrf_cookies"),
        "cookie_domain_to_store": text("cookie_domain_to_store", 2048),
        "expiry_time_from_last_use": text("expiry_time_from_last_use", 255),
        "expiry_time_from_session_data_set": text("expiry_time_from_session_data_set", 255),
        "allow_multiple_sessions": flag("allow_multiple_sessions"),
        "max_concurrency": whole("max_concurrency"),
        "prevent_concurrency_during_login": flag("prevent_concurrency_during_login"),
        "proxy_setting": text("proxy_setting", 32),
        # a static IP or country code is plain metadata; a custom URL is a secret
        "proxy_value": text("proxy_value", 255) if mode in ("static", "country") else None,
        "secret_provider_id": text("secret_provider_id", 255),
        "secret_ref": text("secret_ref", 1024),
        "secret_cache_ttl_seconds": whole("secret_cache_ttl_seconds"),
        "effective_expires_at": parse_time(data.get("effective_expires_at")),
        "session_data_set_at": parse_time(data.get("session_data_set_at")),
        "cookie_count": _count(data.get("cookies")),
        "local_storage_count": _count(data.get("local_storage")),
        "session_storage_count": _count(data.get("session_storage")),
        "created_at": parse_time(data.get("created_at")),
        "updated_at": parse_time(data.get("updated_at")),
        "updated_at_text": text("updated_at", 64),
    }
    for name, column in FINGERPRINTS.items():
        ciphertext = entry.ciphertext(name)
        values[column] = fingerprint(key, name, ciphertext) if ciphertext else None
    alias = values["user_alias"] or ""
    values.update(
        host=host_of(domain),
        tfa=values["tfa_method"] or "none",
        proxy_mode=mode,
        has_session=bool(
            values["session_data_set_at"]
            or values["cookie_count"]
            or values["local_storage_count"]
            or values["session_storage_count"]
        ),
        # entries without an alias sort after named ones, by their user id
        name_key=f"{'1' if not alias else '0'}{alias.lower()}\x01{pid.lower()}",
        pid_key=pid.lower(),
        search_text=f"{alias}\n{pid}\n{domain}".lower(),
    )
    values["digest"] = _digest(values, UPSTREAM_COLUMNS)
    values["config_digest"] = _digest(values, _DRIFT_COLUMNS)
    return values


def _key() -> bytes:
    key: str = current_app.config["AUDIT_HMAC_KEY"]
    return key.encode()


def _engine() -> Engine:
    engine = db.engine
    assert engine is not None, "Database.init_app() has not run"
    return engine


# ---------------------------------------------------------------------------- reads


def find(entry_id: str) -> IndexedEntry | None:
    """The indexed entry with this id (None if unknown or deleted by this console)."""
    if not entry_id or len(entry_id) > 64:
        return None
    row = db.session.get(IndexedEntry, entry_id)
    return row if row is not None and row.deleted_at is None else None


def find_key(permissioned_user_id: str, domain: str) -> IndexedEntry | None:
    return db.session.scalars(
        select(IndexedEntry).where(
            IndexedEntry.permissioned_user_id == permissioned_user_id,
            IndexedEntry.domain == domain,
            IndexedEntry.deleted_at.is_(None),
        )
    ).first()


def live() -> Any:
    """The SQL condition of rows that are in the vault (not deleted by this console)."""
    return IndexedEntry.deleted_at.is_(None)


# ---------------------------------------------------------------------------- console writes


def upsert(entry: VaultEntry) -> None:
    """Put the API's answer to one of the console's own writes into the index now."""
    try:
        values = row_values(entry, _key())
    except MalformedEntry as exc:
        log.warning("write answer not indexable", extra={"reason": exc.reason})
        return
    _store(values, drifted=False)


def refresh(entry: VaultEntry) -> None:
    """Bring one entry's row up to date from a fresh read (detail page, edit, save), so the
    index heals between syncs. A configuration change found this way is drift like any other
    and is audited first; a row that is already current is not written. Raises
    :class:`MalformedEntry` for an entry the console cannot read."""
    values = row_values(entry, _key())
    with _engine().connect() as conn:
        old = conn.execute(
            select(
                *[INDEX.c[n] for n in ("id", *_DRIFT_COLUMNS, "digest", "config_digest")],
                INDEX.c.deleted_at,
                INDEX.c.console_written_at,
            ).where(INDEX.c.id == values["id"])
        ).first()
    if old is not None and (old.digest == values["digest"] or old.deleted_at is not None):
        return
    # a console write to this entry started moments ago (maybe in another request or host):
    # what changed is that write, not someone outside
    writing = (
        old is not None
        and old.console_written_at is not None
        and ((datetime.now(UTC) - old.console_written_at).total_seconds() < WRITE_GRACE_SECONDS)
    )
    drifted = old is not None and old.config_digest != values["config_digest"] and not writing
    if drifted:
        _audit_drift([{"kind": "changed", "before": _row_dict(old), "after": values}])
    _store(values, drifted=drifted)


def refresh_in_background(entry: VaultEntry) -> None:
    """:func:`refresh` for a page read: checks (reading only) whether the row is current and,
    if not, refreshes it in a background thread, so the request itself writes nothing.
    Raises :class:`MalformedEntry` now for an entry the console cannot read."""
    values = row_values(entry, _key())
    with _engine().connect() as conn:
        digest = conn.execute(
            select(INDEX.c.digest).where(INDEX.c.id == values["id"], INDEX.c.deleted_at.is_(None))
        ).scalar()
    if digest == values["digest"]:
        return
    in_background("index-refresh", refresh, entry)


def _store(values: dict[str, Any], *, drifted: bool) -> None:
    """Write one row as of now (a sync whose fetch began earlier leaves it alone)."""
    now = datetime.now(UTC)
    with _engine().begin() as conn:
        kept = conn.execute(
            select(INDEX.c.changed_outside_at).where(INDEX.c.id == values["id"])
        ).scalar()
        conn.execute(delete(INDEX).where(INDEX.c.id == values["id"]))
        conn.execute(
            insert(INDEX).values(
                **values,
                changed_outside_at=now if drifted else kept,
                console_written_at=now,
                deleted_at=None,
            )
        )
    db.session.expire_all()


def begin_write(entry_id: str) -> None:
    """A console write to this entry is about to be sent: a fresh read elsewhere that sees
    its effect before the answer lands here must not take it for an outside change."""
    with _engine().begin() as conn:
        conn.execute(
            update(INDEX).where(INDEX.c.id == entry_id).values(console_written_at=datetime.now(UTC))
        )


def mark_deleted(entry_id: str) -> None:
    """This console deleted the entry: hide it now; the next sync removes the row."""
    now = datetime.now(UTC)
    with _engine().begin() as conn:
        conn.execute(
            update(INDEX)
            .where(INDEX.c.id == entry_id)
            .values(deleted_at=now, console_written_at=now)
        )
    db.session.expire_all()


# ---------------------------------------------------------------------------- sync


@dataclass
class SyncResult:
    entries: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    outside: int = 0
    malformed: list[tuple[str | None, str]] = field(default_factory=list)
    duration_ms: float = 0.0
    first: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "outside": self.outside,
            "malformed": [{"id": i, "reason": r} for i, r in self.malformed[:20]],
            "malformed_count": len(self.malformed),
            "duration_ms": round(self.duration_ms, 1),
        }

    def line(self) -> str:
        text_ = (
            f"Synced {self.entries:,} entries in {self.duration_ms / 1000:.2f} s: "
            f"{self.added:,} added, {self.changed:,} changed, {self.removed:,} removed, "
            f"{self.outside:,} changed outside the console."
        )
        if self.malformed:
            text_ += f" {len(self.malformed):,} malformed (kept as they were): " + ", ".join(
                f"{i or 'no id'} ({r})" for i, r in self.malformed[:10]
            )
        return text_


class SyncBusy(RuntimeError):
    """Another process is syncing the index right now."""


def _staging_table() -> Table:
    """Temporary table shaped like the index (all nullable), plus a ``skip`` flag for
    malformed entries (present upstream, not indexable: their old row is kept)."""
    metadata = MetaData()
    # keyed by id like the index, so every comparison with it is a lookup, not a scan
    columns = [
        Column(c.name, c.type, primary_key=c.name == "id", nullable=c.name != "id")
        for c in INDEX.columns
    ]
    columns.append(Column("skip", Boolean, nullable=True))
    return Table(
        "entry_index_incoming",
        metadata,
        *columns,
        prefixes=["TEMPORARY"],
        postgresql_on_commit="PRESERVE ROWS",
    )


STAGING = _staging_table()
#: a staged row with no values (a malformed entry: only its id, to keep its old row)
_EMPTY_STAGED = dict.fromkeys(c.name for c in STAGING.columns)


def _drop_staging(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.entry_index_incoming")
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS entry_index_incoming")


def _stage(conn: Connection, entries: Iterator[Any], key: bytes, result: SyncResult) -> None:
    """Stream the upstream list into the staging table, a batch at a time."""
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    for raw in entries:
        try:
            if not isinstance(raw, dict):
                raise MalformedEntry(None, "an element of the list is not an object")
            values = row_values(VaultEntry(raw), key)
            if values["id"] in seen:
                raise MalformedEntry(values["id"], "the id appears twice")
        except MalformedEntry as exc:
            result.malformed.append((exc.entry_id, exc.reason))
            if exc.entry_id and exc.entry_id not in seen:
                seen.add(exc.entry_id)
                batch.append({**_EMPTY_STAGED, "id": exc.entry_id, "skip": True})
            continue
        seen.add(values["id"])
        batch.append({**_EMPTY_STAGED, **values, "skip": False})  # one shape per batch
        result.entries += 1
        if len(batch) >= BATCH:
            conn.execute(insert(STAGING), batch)
            batch = []
    if batch:
        conn.execute(insert(STAGING), batch)


def _unprotected(started: datetime) -> Any:
    """Rows the console did not write after this sync's fetch began."""
    return or_(INDEX.c.console_written_at.is_(None), INDEX.c.console_written_at < started)


def _row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _change_record(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Audit ``changes`` of one entry changed outside: plain values old → new, secret
    fields (by fingerprint) as changed only."""
    before, after = before or {}, after or {}
    changes: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = {"before": old, "after": new}
    for name, column in FINGERPRINTS.items():
        if before.get(column) != after.get(column) and name not in changes:
            changes[name] = {"changed": True}
            if not after.get(column):
                changes[name]["cleared"] = True
    if before.get("proxy_mode") != after.get("proxy_mode") and "proxy_setting" not in changes:
        changes["proxy"] = {"before": before.get("proxy_mode"), "after": after.get("proxy_mode")}
    return changes


class _Reconcile:
    """The SQL conditions comparing the staged list with the index, shared by the counts,
    drift detection and the apply step (one definition of "added", "removed", "changed")."""

    def __init__(self, started: datetime) -> None:
        same_id = STAGING.c.id == INDEX.c.id
        self.same_id = same_id
        self.staged = STAGING.c.skip.is_(False)
        #: rows the console did not write after this sync's fetch began
        self.mine = _unprotected(started)
        #: index rows no longer listed upstream (malformed ones count as listed)
        self.gone = and_(~exists().where(same_id), self.mine)
        #: staged entries the index does not have
        self.new = and_(self.staged, ~exists().where(same_id))
        #: on the join of both: an entry whose indexed values differ
        self.differs = and_(self.staged, STAGING.c.digest != INDEX.c.digest, self.mine)
        self.listed = INDEX.c.deleted_at.is_(None)
        self.join = STAGING.join(INDEX, same_id)


def _drift(conn: Connection, match: _Reconcile, first: bool) -> list[dict[str, Any]]:
    """What changed outside the console since the last sync, one record per entry."""
    if first:
        return []
    records = []
    columns = [INDEX.c[n] for n in ("id", *_DRIFT_COLUMNS)]
    staged = [STAGING.c[n] for n in ("id", *_DRIFT_COLUMNS)]
    for row in conn.execute(select(*columns).where(match.gone, match.listed)):
        records.append({"kind": "deleted", "before": _row_dict(row), "after": None})
    for row in conn.execute(select(*staged).where(match.new)):
        records.append({"kind": "created", "before": None, "after": _row_dict(row)})
    ids = list(
        conn.execute(
            select(STAGING.c.id)
            .select_from(match.join)
            .where(
                match.staged,
                STAGING.c.config_digest != INDEX.c.config_digest,
                match.listed,
                match.mine,
            )
        ).scalars()
    )
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        olds = {
            r.id: _row_dict(r) for r in conn.execute(select(*columns).where(INDEX.c.id.in_(chunk)))
        }
        for row in conn.execute(select(*staged).where(STAGING.c.id.in_(chunk))):
            records.append({"kind": "changed", "before": olds.get(row.id), "after": _row_dict(row)})
    return records


def _audit_drift(records: list[dict[str, Any]]) -> None:
    from app.services import audit

    actor = audit.Actor(None, OUTSIDE, None)
    for record in records:
        row = record["after"] or record["before"]
        changes = _change_record(record["before"], record["after"])
        if not changes:
            continue
        message = {
            "created": "created outside the console",
            "deleted": "deleted outside the console",
            "changed": "changed outside the console",
        }[record["kind"]]
        audit.record(
            "entry.changed_outside",
            "success",
            target={
                "id": row["id"],
                "permissioned_user_id": row["permissioned_user_id"],
                "domain": row["domain"],
            },
            fields=sorted(changes),
            changes=changes,
            message=message,
            actor=actor,
        )


def _counts(conn: Connection, match: _Reconcile, result: SyncResult) -> None:
    def count(source: Any, *where: Any) -> int:
        return conn.execute(select(func.count()).select_from(source).where(*where)).scalar_one()

    result.removed = count(INDEX, match.gone, match.listed)
    result.added = count(STAGING, match.new)
    result.changed = count(match.join, match.differs, match.listed)


def _apply(conn: Connection, match: _Reconcile, drifted: set[str], now: datetime) -> None:
    """Make the index equal the staged list (rows the console wrote since the fetch began
    and malformed entries excepted), in the caller's transaction."""
    # carry what the console keeps (not from upstream) over to the rows it rewrites
    conn.execute(
        update(STAGING)
        .where(exists().where(match.same_id, STAGING.c.digest != INDEX.c.digest))
        .values(
            changed_outside_at=select(INDEX.c.changed_outside_at)
            .where(match.same_id)
            .scalar_subquery()
        )
    )
    ids = sorted(drifted)
    for start in range(0, len(ids), 500):
        conn.execute(
            update(STAGING)
            .where(STAGING.c.id.in_(ids[start : start + 500]))
            .values(changed_outside_at=now)
        )
    conn.execute(delete(INDEX).where(match.gone))
    conn.execute(delete(INDEX).where(exists().where(match.same_id, match.differs)))
    # a tombstone of an entry this console deleted, still listed upstream: list it again
    conn.execute(
        delete(INDEX).where(
            INDEX.c.deleted_at.is_not(None),
            exists().where(match.same_id, match.staged),
            match.mine,
        )
    )
    names = [c.name for c in INDEX.columns]
    conn.execute(
        insert(INDEX).from_select(names, select(*[STAGING.c[n] for n in names]).where(match.new))
    )


def _begin_write(conn: Connection) -> None:
    """Start the apply transaction holding the write lock (SQLite: BEGIN IMMEDIATE, so the
    read-then-write below cannot fail on a snapshot another writer moved)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@overload
def sync(*, wait: float = ..., unless_synced: Literal[False] = ...) -> SyncResult: ...


@overload
def sync(*, wait: float = ..., unless_synced: bool) -> SyncResult | None: ...


def sync(*, wait: float = 0.0, unless_synced: bool = False) -> SyncResult | None:
    """Run one sync now. Raises :class:`SyncBusy` when another process holds the lease (after
    waiting up to ``wait`` seconds for it), :class:`UpstreamError` when the API fails, and
    :class:`app.services.audit.AuditUnavailable` when drift cannot be recorded; the index is
    left as it was in every failure."""
    engine = _engine()
    owner = jobs.owner_id()
    if not jobs.wait_for_lease(engine, JOB, owner, LEASE_SECONDS, timeout=wait):
        raise SyncBusy("Another process is syncing the entries index right now.")
    if unless_synced:
        state = jobs.state(engine, JOB)
        if state is not None and state.succeeded_at is not None:
            # the sync this caller waited for has happened: nothing to do
            jobs.give_back(engine, JOB, owner)
            return None
    try:
        result = _sync_holding_lease(owner)
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        jobs.release(engine, JOB, owner, error=message)
        raise
    jobs.release(engine, JOB, owner, result=result.summary())
    return result


def _sync_holding_lease(owner: str) -> SyncResult:
    from app import upstream

    clock = time.perf_counter()
    state = jobs.state(_engine(), JOB)
    result = SyncResult(first=state is None or state.succeeded_at is None)
    key = _key()
    with _engine().connect() as conn:
        _drop_staging(conn)
        conn.commit()
        STAGING.create(conn)
        conn.commit()
        try:
            started = datetime.now(UTC)
            with upstream.client().stream_entries() as entries:
                _stage(conn, entries, key, result)
            conn.commit()
            match = _Reconcile(started)
            _counts(conn, match, result)
            records = _drift(conn, match, result.first)
            conn.commit()
            _audit_drift(records)  # fail closed: unaudited drift is not applied
            result.outside = len(records)
            now = datetime.now(UTC)
            _begin_write(conn)
            if not jobs.renew(conn, JOB, owner, LEASE_SECONDS):
                conn.rollback()
                raise SyncBusy("The sync lease expired before the index could be updated.")
            drifted = {(r["after"] or r["before"])["id"] for r in records if r["after"]}
            _apply(conn, match, drifted, now)
            conn.commit()
            if result.added + result.removed > max(1000, result.entries // 10):
                # the planner's statistics follow the table's size (SQLite keeps none itself)
                conn.exec_driver_sql("ANALYZE entry_index")
                conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            _drop_staging(conn)
            conn.commit()
    result.duration_ms = (time.perf_counter() - clock) * 1000
    db.session.expire_all()
    log.info("entries index synced", extra={"sync": result.summary()})
    return result


# ---------------------------------------------------------------------------- freshness


@dataclass(frozen=True)
class IndexStatus:
    """What the list says about the index: when it was synced, whether that failed, and
    which upstream entries the last sync could not read."""

    synced_at: datetime | None
    error: str | None
    syncing: bool
    unreadable: int = 0
    unreadable_ids: tuple[str, ...] = ()

    @property
    def age(self) -> float | None:
        if self.synced_at is None:
            return None
        return max(0.0, (datetime.now(UTC) - self.synced_at).total_seconds())

    @property
    def ready(self) -> bool:
        return self.synced_at is not None


def status() -> IndexStatus:
    state = jobs.state(_engine(), JOB)
    if state is None:
        return IndexStatus(None, None, False)
    bad = state.result.get("malformed") or []
    return IndexStatus(
        state.succeeded_at,
        state.last_error,
        state.running(),
        int(state.result.get("malformed_count") or 0),
        tuple(str(b.get("id") or "no id") for b in bad if isinstance(b, dict)),
    )


_spawn_lock = threading.Lock()
_running_here: set[int] = set()


def _background(app: Flask) -> None:
    with app.app_context():
        try:
            sync()
        except SyncBusy:
            pass
        except UpstreamError as exc:
            log.warning("background sync failed", extra={"outcome": exc.outcome})
        except Exception:
            log.exception("background sync failed")
        finally:
            with _spawn_lock:
                _running_here.discard(id(app))


def ensure_fresh() -> IndexStatus:
    """Answer from the index; start a background sync when it is older than the interval.

    Only a never-synced index is synced inline (the caller waits; a failure raises
    :class:`UpstreamError` for the page to show)."""
    current = status()
    interval = current_app.config["SYNC_SECONDS"]
    if not current.ready:
        with contextlib.suppress(SyncBusy):
            sync(wait=FIRST_SYNC_WAIT, unless_synced=True)
        return status()
    if current.age is not None and current.age >= interval and not current.syncing:
        start_background_sync(interval)
    return current


def start_background_sync(interval: float) -> bool:
    """Start a sync in a thread of this process unless one is running here, or one started
    anywhere within ``interval`` seconds (then the deployment already has its fetch)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _spawn_lock:
        if id(app) in _running_here:
            return False
        state = jobs.state(_engine(), JOB)
        if state is not None and state.started_at is not None:
            since = (datetime.now(UTC) - state.started_at).total_seconds()
            if since < interval or state.running():
                return False
        _running_here.add(id(app))
    threading.Thread(target=_background, args=(app,), name="entries-sync", daemon=True).start()
    return True


# ---------------------------------------------------------------------------- for views


def total() -> int:
    return db.session.scalar(select(func.count()).select_from(IndexedEntry).where(live())) or 0


def text_filter(needle: str) -> Any:
    """Case-insensitive substring match on alias, permissioned user id and domain."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return IndexedEntry.search_text.like(f"%{escaped}%", escape="\\")
