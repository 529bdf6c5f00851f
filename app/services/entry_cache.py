"""Short-lived per-process cache of ``GET /vault`` (the API has no pagination or search).

The list page filters, sorts and pages in memory, so the upstream fetch dominates. A snapshot
lives ``ENTRY_CACHE_TTL`` seconds (default 15); the console's own writes invalidate it at
once. One fetch at a time per process (single flight): concurrent requests wait for it
rather than stampeding the API. If a refresh fails while an older snapshot exists, the old
one is served, marked stale, together with the error.

Snapshots hold :class:`VaultEntry` objects (ciphertext hidden inside) and precomputed
:class:`EntryRow` summaries for fast filtering; nothing here is ever written to disk.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from app.cloudcruise import CloudCruiseError, VaultEntry
from app.timeutil import parse_time


def proxy_mode(entry: Mapping[str, Any]) -> str:
    """random / static / country / custom, ``legacy`` for the old proxy object, or none."""
    setting = entry.get("proxy_setting")
    if setting in _MODES:
        return setting
    legacy = entry.get("proxy")
    if isinstance(legacy, dict) and legacy.get("enable"):
        return "legacy"
    return "none"


_MODES = frozenset({"random", "static", "country", "custom"})


def has_session_data(entry: Mapping[str, Any]) -> bool:
    return bool(
        entry.get("session_data_set_at")
        or entry.get("cookies")
        or entry.get("local_storage")
        or entry.get("session_storage")
    )


def _host(domain: str) -> str:
    """Host of a URL, cheaply (this runs for every entry of every refresh)."""
    rest = domain.partition("://")[2] or domain
    authority = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0].lower()
    return authority.split(":", 1)[0].lower()


class EntryRow(NamedTuple):
    """What the list needs of one entry, computed once per snapshot (a tuple: fast to build)."""

    entry: VaultEntry
    id: str
    alias: str
    pid: str
    domain: str
    host: str
    tfa: str
    persist_cookies: bool
    persist_local: bool
    persist_session: bool
    proxy: str
    proxy_value: str | None
    has_session: bool
    expires_at: datetime | None
    provider_backed: bool
    updated_at: datetime | None
    haystack: str
    #: alias order; entries without an alias sort after named ones, by their user id
    name_key: tuple[bool, str, str]

    @classmethod
    def of(cls, entry: VaultEntry) -> EntryRow:
        data = entry.to_mapping()
        domain = data.get("domain") or ""
        alias = data.get("user_alias") or ""
        pid = data.get("permissioned_user_id") or ""
        mode = proxy_mode(data)
        return cls(
            entry,
            str(data.get("id") or ""),
            alias,
            pid,
            domain,
            _host(domain),
            data.get("tfa_method") or "none",
            bool(data.get("persist_cookies")),
            bool(data.get("persist_local_storage")),
            bool(data.get("persist_session_storage")),
            mode,
            # static IPs and country codes are plain metadata; a custom URL is a secret
            data.get("proxy_value") if mode in ("static", "country") else None,
            has_session_data(data),
            parse_time(data.get("effective_expires_at")),
            bool(data.get("secret_provider_id")),
            parse_time(data.get("updated_at")),
            f"{alias}\n{pid}\n{domain}".lower(),
            (not alias, alias.lower(), pid.lower()),
        )

    def session_status(self, now: datetime) -> str:
        """active, expiring (within 24 h), expired or none."""
        if not self.has_session:
            return "none"
        if self.expires_at is None:
            return "active"
        remaining = (self.expires_at - now).total_seconds()
        if remaining <= 0:
            return "expired"
        return "expiring" if remaining <= 86400 else "active"


@dataclass
class Snapshot:
    rows: list[EntryRow]
    fetched_at: float
    by_id: dict[str, EntryRow] = field(default_factory=dict)
    stale_error: CloudCruiseError | None = None
    #: sorted orders computed for this snapshot, keyed by (column, descending)
    orders: dict[tuple[str, bool], list[EntryRow]] = field(default_factory=dict)

    def ordered(
        self, key: tuple[str, bool], sort: Callable[[], list[EntryRow]], *, cache: bool = True
    ) -> list[EntryRow]:
        """Rows in the order ``key``; computed once per snapshot when ``cache``."""
        if not cache:
            return sort()
        if key not in self.orders:
            self.orders[key] = sort()
        return self.orders[key]

    @classmethod
    def build(cls, entries: list[VaultEntry]) -> Snapshot:
        rows = [EntryRow.of(e) for e in entries]
        return cls(rows=rows, fetched_at=time.time(), by_id={r.id: r for r in rows if r.id})

    @property
    def age(self) -> float:
        return max(0.0, time.time() - self.fetched_at)

    def find(self, entry_id: str) -> EntryRow | None:
        return self.by_id.get(entry_id)

    def find_key(self, pid: str, domain: str) -> EntryRow | None:
        for row in self.rows:
            if row.pid == pid and row.domain == domain:
                return row
        return None


class EntryCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._generation = 0
        self._fetch_lock = threading.Lock()

    def get(self, fetch: Callable[[], list[VaultEntry]], *, force: bool = False) -> Snapshot:
        """A fresh-enough snapshot; raises CloudCruiseError only if there is nothing to show."""
        current = self._snapshot
        if not force and current and current.stale_error is None and current.age < self.ttl:
            return current
        generation = self._generation
        with self._fetch_lock:
            latest = self._snapshot
            # Someone else refreshed while we waited for the lock: use theirs.
            if (
                latest is not None
                and latest is not current
                and latest.stale_error is None
                and self._generation == generation
            ):
                return latest
            try:
                snapshot = Snapshot.build(fetch())
                # Tens of thousands of long-lived objects: keep the cyclic GC from walking
                # them on every collection (they have no cycles and are freed by refcount).
                gc.freeze()
            except CloudCruiseError as exc:
                if latest is None:
                    raise
                stale = Snapshot(latest.rows, latest.fetched_at, latest.by_id, exc, latest.orders)
                self._snapshot = stale
                return stale
            if self._generation == generation:
                self._snapshot = snapshot
            return snapshot

    def invalidate(self) -> None:
        """Drop the snapshot (the next read fetches everything again)."""
        self._generation += 1
        self._snapshot = None

    def apply(self, entry: VaultEntry | None = None, *, removed: str | None = None) -> None:
        """Fold one of the console's own writes into the snapshot (copy on write), so the
        list stays warm and shows the change at once; other processes see it within the TTL.
        """
        with self._fetch_lock:
            current = self._snapshot
            if current is None or current.stale_error is not None:
                return
            drop = {removed} if removed else set()
            new_row = EntryRow.of(entry) if entry is not None and entry.id else None
            if new_row is not None:
                drop.add(new_row.id)
            rows = [r for r in current.rows if r.id not in drop]
            if new_row is not None:
                rows.append(new_row)
            snapshot = Snapshot(rows, current.fetched_at)
            snapshot.by_id = {r.id: r for r in rows if r.id}
            self._generation += 1
            self._snapshot = snapshot
