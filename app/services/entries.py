"""Entry operations the views call: cached listing, fresh single reads, writes, secrets.

Every write goes through here so the list cache is invalidated in one place. Plaintext
secrets only pass through as arguments and return values; nothing is kept.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from app import upstream
from app.cloudcruise import CloudCruiseError, NotFoundError, TfaCode, VaultEntry
from app.services.entry_cache import EntryCache, EntryRow, Snapshot


def _cache() -> EntryCache:
    holder = upstream.holder()
    cache = getattr(holder, "entry_cache", None)
    if cache is None:
        cache = holder.entry_cache = EntryCache(current_app.config["ENTRY_CACHE_TTL"])
    return cache


def _rid() -> str | None:
    return getattr(g, "request_id", None)


def snapshot(*, force: bool = False) -> Snapshot:
    client = upstream.client()
    return _cache().get(lambda: client.list_entries(request_id=_rid()), force=force)


def invalidate() -> None:
    _cache().invalidate()


def find_row(entry_id: str) -> EntryRow | None:
    """The cached row for ``entry_id``; one forced refresh if it is not (yet) cached."""
    row = snapshot().find(entry_id)
    if row is None:
        row = snapshot(force=True).find(entry_id)
    return row


def load(entry_id: str) -> VaultEntry:
    """The current entry, read fresh from the API (the cache only maps id → key)."""
    row = find_row(entry_id)
    if row is None:
        raise NotFoundError()
    try:
        entry = upstream.client().get_entry(row.pid, row.domain, request_id=_rid())
    except NotFoundError:
        invalidate()
        raise
    if entry.id and str(entry.id) != entry_id:
        # the key now belongs to another entry (deleted and re-created): not ours any more
        invalidate()
        raise NotFoundError()
    return entry


def exists(pid: str, domain: str) -> VaultEntry | None:
    try:
        return upstream.client().get_entry(pid, domain, request_id=_rid())
    except NotFoundError:
        return None


def _written(call, *, removed: str | None = None):
    """Run a write; fold its result into the cache, or drop the cache if the outcome is
    unknown (an error may still have changed the entry upstream)."""
    try:
        result = call()
    except Exception:
        invalidate()
        raise
    _cache().apply(result if isinstance(result, VaultEntry) else None, removed=removed)
    return result


def create(fields: dict[str, Any]) -> VaultEntry:
    return _written(lambda: upstream.client().create_entry(fields, request_id=_rid()))


def update(entry: VaultEntry, changes: dict[str, Any]) -> VaultEntry:
    """Partial PUT of ``changes`` to ``entry``, identified by id and key."""
    body = {"id": entry.id, "permissioned_user_id": entry.permissioned_user_id}
    body["domain"] = entry.domain
    body.update(changes)
    return _written(lambda: upstream.client().update_entry(body, request_id=_rid()))


def delete(entry: VaultEntry) -> None:
    _written(
        lambda: upstream.client().delete_entry(
            entry.permissioned_user_id, entry.domain, request_id=_rid()
        ),
        removed=str(entry.id),
    )


def clear_browser_state(entry: VaultEntry) -> VaultEntry | None:
    """Clear the entry's stored browser state; then the entry as it is now (the answer is
    ``{"success": true}``, not the entry), folded into the cache, or None if that re-read
    failed (the cache is dropped then, so the next read is fresh)."""
    pid, domain = entry.permissioned_user_id, entry.domain
    _written(lambda: upstream.client().clear_browser_state(pid, domain, request_id=_rid()))
    try:
        return _written(lambda: upstream.client().get_entry(pid, domain, request_id=_rid()))
    except CloudCruiseError:
        return None


def tfa_code(entry: VaultEntry) -> TfaCode:
    return upstream.client().get_tfa_code(
        entry.permissioned_user_id, entry.domain, request_id=_rid()
    )


def reveal(entry: VaultEntry, field: str) -> Any:
    """Decrypt one secret field of ``entry`` (raises crypto.DecryptionError)."""
    return upstream.client().decrypt_secret(entry, field)


def secret_providers() -> list[dict[str, Any]]:
    return upstream.client().list_secret_providers(request_id=_rid())


def provider_items(provider_id: str) -> list[dict[str, Any]]:
    return upstream.client().list_provider_items(provider_id, request_id=_rid())
