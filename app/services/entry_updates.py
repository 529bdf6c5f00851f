"""Saving changes to an entry: conflict check, audit, partial PUT. Used by inline edits and
bulk changes alike.

Optimistic concurrency: the form carries the ``updated_at`` the operator saw. Before the
PUT the entry is read again; if ``updated_at`` moved, the save stops with a
:class:`Conflict` listing, field by field, what is stored now and what the operator typed.

Remaining race window: between that re-read and the PUT (one round trip, typically tens of
milliseconds) another client can still write; the API has no compare-and-set, so the later
write wins. The audit log records both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.cloudcruise import SESSION_BLOBS, CloudCruiseError, NotFoundError, VaultEntry
from app.cloudcruise.crypto import CREDENTIAL_FIELDS
from app.services import audit, entries


def _is_secret(name: str, changes: dict[str, Any], current: VaultEntry) -> bool:
    """A field whose new value is a secret: compared as "given or not", never by value."""
    if name in CREDENTIAL_FIELDS:
        return True
    if name == "proxy_value":
        mode = changes.get("proxy_setting", current.proxy_setting)
        return mode == "custom"
    return False


def same(stored: Any, wanted: Any) -> bool:
    """Equal, treating an unset (null) flag or text as equal to false / empty."""
    if stored is None and wanted in (False, ""):
        return True
    if wanted is None and stored in (False, ""):
        return True
    return stored == wanted and type(stored) is type(wanted)


def diff(current: VaultEntry, wanted: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``wanted`` that differs from ``current`` (secrets: always if given)."""
    data = current.to_mapping()
    out: dict[str, Any] = {}
    for name, value in wanted.items():
        if _is_secret(name, wanted, current):
            if value is not None or current.has_secret(name):
                out[name] = value
            continue
        if not same(data.get(name), value):
            out[name] = value
    if "proxy_value" in out and "proxy_setting" not in out:
        # the mode decides whether the value is encrypted: always send it along
        out["proxy_setting"] = wanted.get("proxy_setting", data.get("proxy_setting"))
    return out


@dataclass
class Conflict:
    """The entry changed since the operator loaded it."""

    current: VaultEntry
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Saved:
    entry: VaultEntry
    changed: list[str]


def _blob_size(value: Any) -> str:
    if not value:
        return "none"
    noun = "cookie" if isinstance(value, list) else "key"
    return f"{len(value)} {noun}{'' if len(value) == 1 else 's'}"


def conflict_rows(current: VaultEntry, wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """Theirs / yours per field the operator wants to set. Secrets show as markers and
    stored browser state (live session tokens) as sizes: never their values."""
    data = current.to_mapping()
    rows = []
    for name, mine in sorted(wanted.items()):
        stored = data.get(name)
        if _is_secret(name, wanted, current):
            marker = True
            theirs = "set" if current.has_secret(name) else "not set"
            yours = "new value" if mine is not None else "remove"
            differs = True
        elif name in SESSION_BLOBS:
            marker = True
            theirs = _blob_size(stored)
            yours = f"replace with {_blob_size(mine)}" if mine else "clear"
            differs = stored != mine
        else:
            marker, theirs, yours, differs = False, stored, mine, stored != mine
        rows.append(
            {"field": name, "theirs": theirs, "yours": yours, "secret": marker, "differs": differs}
        )
    return rows


def save(
    entry_id: str,
    wanted: dict[str, Any],
    *,
    seen_updated_at: str | None,
    action: str,
    batch_id: str | None = None,
    current: VaultEntry | None = None,
) -> Saved | Conflict:
    """Apply ``wanted`` (plaintext field values) to the entry if it did not change meanwhile.

    Raises :class:`NotFoundError` when the entry is gone, :class:`AuditUnavailable` when the
    attempt cannot be recorded (nothing is sent), and any other :class:`CloudCruiseError`
    from the PUT (recorded as a failure).
    """
    current = current or entries.load(entry_id)
    if seen_updated_at is not None and current.updated_at != seen_updated_at:
        return Conflict(current, conflict_rows(current, wanted))
    changes = diff(current, wanted)
    if not changes:
        return Saved(current, [])
    log = audit.audit_log()
    before = {k: v for k, v in current.to_mapping().items() if k in changes}
    attempt = audit.attempt(
        action,
        target=current,
        fields=changes,
        changes=log.describe_changes(
            changes, before, secret={n for n in changes if _is_secret(n, changes, current)}
        ),
        batch_id=batch_id,
    )
    try:
        updated = entries.update(current, changes)
    except CloudCruiseError as exc:
        attempt.failure(exc)
        raise
    attempt.success()
    return Saved(updated, sorted(changes))


__all__ = ["Conflict", "NotFoundError", "Saved", "conflict_rows", "diff", "save"]
