"""Entry operations the views call: index lookups, fresh single reads, writes, secrets.

Every write goes through here so its answer lands in the entries index in the same request
(:mod:`app.services.entry_index`): every worker and host shows it on the next request.
Single-entry actions resolve id → (permissioned_user_id, domain) through the index, never
through a full ``GET /vault``. Plaintext secrets only pass through as arguments and return
values; nothing is kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g

from app import upstream
from app.cloudcruise import TfaCode, VaultEntry
from app.models import IndexedEntry
from app.services import entry_index
from app.upstream_errors import NotFoundError, UnavailableError, UpstreamError

#: How long the list of secret-provider connections is reused (it changes rarely).
PROVIDERS_TTL = 60.0

_R = TypeVar("_R")


def _rid() -> str | None:
    return getattr(g, "request_id", None)


def locate(entry_id: str) -> IndexedEntry:
    """The indexed entry ``entry_id``; :class:`NotFoundError` (no upstream call) if unknown."""
    row = entry_index.find(entry_id)
    if row is None and not entry_index.status().ready:
        entry_index.ensure_fresh()  # first start: the index was never synced
        row = entry_index.find(entry_id)
    if row is None:
        raise NotFoundError()
    return row


def read(entry_id: str) -> VaultEntry:
    """The current entry for a page (a GET): read fresh like :func:`load`, but the request
    writes nothing; a stale index row is refreshed (and drift audited) in the background."""
    return load(entry_id, heal=entry_index.refresh_in_background)


def load(entry_id: str, *, heal: Callable[[VaultEntry], None] | None = None) -> VaultEntry:
    """The current entry, read fresh from the API (the index maps id → key); its index row
    is brought up to date now (or by ``heal``)."""
    row = locate(entry_id)
    entry = upstream.client().get_entry(row.permissioned_user_id, row.domain, request_id=_rid())
    if entry.id and str(entry.id) != entry_id:
        # the key now belongs to another entry (deleted and re-created): not ours any more
        raise NotFoundError()
    try:
        (heal or entry_index.refresh)(entry)
    except entry_index.MalformedEntry as exc:
        raise UnavailableError(
            f"CloudCruise sent this entry in a shape the console cannot read ({exc.reason}).",
            kind="malformed",
        ) from None
    return entry


def existing_id(permissioned_user_id: str, domain: str) -> str | None:
    """The id of the entry with this key: from the index, else (an entry created elsewhere
    since the last sync) read once and put into the index. None if it cannot be found."""
    row = entry_index.find_key(permissioned_user_id, domain)
    if row is not None:
        return row.id
    try:
        entry = _written(
            lambda: upstream.client().get_entry(permissioned_user_id, domain, request_id=_rid())
        )
    except UpstreamError:
        return None
    return str(entry.id) if entry.id else None


def _written(call: Callable[[], _R], *, removed: str | None = None) -> _R:
    """Run a write and put its answer into the index."""
    result = call()
    if isinstance(result, VaultEntry):
        entry_index.upsert(result)
    if removed:
        entry_index.mark_deleted(removed)
    return result


def create(fields: dict[str, Any]) -> VaultEntry:
    return _written(lambda: upstream.client().create_entry(fields, request_id=_rid()))


def update(entry: VaultEntry, changes: dict[str, Any]) -> VaultEntry:
    """Partial PUT of ``changes`` to ``entry``, identified by id and key."""
    body = {"id": entry.id, "permissioned_user_id": entry.permissioned_user_id}
    body["domain"] = entry.domain
    body.update(changes)
    entry_index.begin_write(str(entry.id))
    return _written(lambda: upstream.client().update_entry(body, request_id=_rid()))


def delete(entry: Any) -> None:
    """Delete the entry (a :class:`VaultEntry` or an indexed row) upstream and in the index."""
    entry_index.begin_write(str(entry.id))
    _written(
        lambda: upstream.client().delete_entry(
            entry.permissioned_user_id, entry.domain, request_id=_rid()
        ),
        removed=str(entry.id),
    )


def clear_browser_state(entry: VaultEntry) -> VaultEntry | None:
    """Clear the entry's stored browser state; then the entry as it is now (the answer is
    ``{"success": true}``, not the entry), put into the index, or None if that re-read
    failed (the next sync brings the index up to date then)."""
    pid, domain = entry.permissioned_user_id, entry.domain
    entry_index.begin_write(str(entry.id))
    upstream.client().clear_browser_state(pid, domain, request_id=_rid())
    try:
        return _written(lambda: upstream.client().get_entry(pid, domain, request_id=_rid()))
    except UpstreamError:
        return None


def tfa_code(entry: Any) -> TfaCode:
    return upstream.client().get_tfa_code(
        entry.permissioned_user_id, entry.domain, request_id=_rid()
    )


def reveal(entry: VaultEntry, field: str) -> Any:
    """Decrypt one secret field of ``entry`` (raises crypto.DecryptionError)."""
    return upstream.client().decrypt_secret(entry, field)


_providers_lock = threading.Lock()


def secret_providers() -> list[dict[str, Any]]:
    """The workspace's secret-provider connections, reused for ``PROVIDERS_TTL`` seconds
    (connection metadata, no secrets)."""
    holder = upstream.holder()
    with _providers_lock:
        cached = getattr(holder, "providers_cache", None)
        if cached is not None and time.monotonic() - cached[0] < PROVIDERS_TTL:
            return list(cached[1])
    providers = upstream.client().list_secret_providers(request_id=_rid())
    with _providers_lock:
        holder.providers_cache = (time.monotonic(), list(providers))
    return providers


def provider_items(provider_id: str) -> list[dict[str, Any]]:
    return upstream.client().list_provider_items(provider_id, request_id=_rid())
