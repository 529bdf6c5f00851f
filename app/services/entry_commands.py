"""Audited commands on vault entries: one call per action an operator takes.

Each takes an explicit actor (``audit.current_actor()`` in a request, ``Actor(None, "cli",
None)`` on the command line), records the attempt before anything is sent (fail closed:
:class:`~app.services.audit.AuditUnavailable` propagates and nothing is sent) and its
result after, and returns an outcome (:mod:`app.services.outcomes`). Views parse the
request and render the outcome; they never write audit rows themselves.

Saving uses optimistic concurrency: the form carries the ``updated_at`` the operator saw.
Before the PUT the entry is read again; if ``updated_at`` moved the save stops with a
:class:`~app.services.outcomes.Conflict` listing, field by field, what is stored now and
what the operator typed. Between that re-read and the PUT (one round trip) another client
can still write; the API has no compare-and-set, so the later write wins, and the audit log
records both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.cloudcruise import TfaCode, VaultEntry
from app.cloudcruise import fields as catalogue
from app.cloudcruise.crypto import DecryptionError
from app.services import audit, entries
from app.services.audit import Actor
from app.services.entry_updates import conflict_rows, diff, removals
from app.services.outcomes import Conflict, Failed, Refused, Saved, audited
from app.upstream_errors import NotFoundError

#: stored browser state that "clear browser state" empties
BROWSER_STATE = ("cookies", "local_storage", "session_storage")


def refuse(
    actor: Actor,
    action: str,
    message: str,
    *,
    target: Any = None,
    field_errors: Mapping[str, list[str]] | None = None,
) -> Refused:
    """Record that the console refused ``action`` (nothing was sent) and say why."""
    errors = dict(field_errors or {})
    audit.record(
        action, "refused", target=target, fields=errors or None, message=message, actor=actor
    )
    return Refused(message, errors)


def create(
    actor: Actor, values: Mapping[str, Any], payload: dict[str, Any]
) -> Saved[VaultEntry] | Failed:
    """Create an entry from ``payload`` (plaintext; encrypted by the client). One upstream
    call: the API's 409 is the duplicate check (``Failed`` with a ConflictError)."""
    return audited(
        actor,
        "entry.create",
        lambda: entries.create(payload),
        target=values,
        fields=payload,
        changes=audit.audit_log().describe_changes(payload),
        success_target=lambda created: created,
    )


def save(
    actor: Actor,
    entry_id: str,
    wanted: dict[str, Any],
    *,
    seen_updated_at: str | None,
    action: str,
    batch_id: str | None = None,
    current: VaultEntry | None = None,
) -> Saved[VaultEntry] | Conflict[VaultEntry] | Refused | Failed:
    """Apply ``wanted`` (plaintext field values) if the entry did not change meanwhile.

    ``Saved.changed`` names the fields sent (empty: nothing differed, nothing sent);
    ``Refused`` carries per-field messages for removals the API cannot express;
    ``Failed`` carries the upstream error (a NotFoundError when the entry is gone).
    """
    if current is None:
        try:
            current = entries.load(entry_id)
        except NotFoundError as exc:
            return Failed(exc, exc.message)
    if seen_updated_at is not None and current.updated_at != seen_updated_at:
        return Conflict(current, conflict_rows(current, wanted))
    changes, problems = removals(diff(current, wanted))
    if problems:
        return refuse(
            actor,
            action,
            "refused: " + "; ".join(problems.values()),
            target=current,
            field_errors={name: [text] for name, text in problems.items()},
        )
    if not changes:
        return Saved(current, ())
    mode = changes.get("proxy_setting", current.get("proxy_setting"))
    secret = {n for n in changes if catalogue.is_secret(n, {"proxy_setting": mode})}
    before = {k: v for k, v in current.to_mapping().items() if k in changes}
    target = current
    return audited(
        actor,
        action,
        lambda: entries.update(target, changes),
        target=current,
        fields=changes,
        changes=audit.audit_log().describe_changes(changes, before, secret=secret),
        batch_id=batch_id,
        changed=sorted(changes),
    )


def delete(actor: Actor, entry: Any, confirmation: str) -> Saved[None] | Refused | Failed:
    """Delete ``entry`` (an indexed row) once the operator typed its permissioned user id."""
    typed = confirmation.strip()
    if typed != entry.permissioned_user_id:
        message = (
            "Type the permissioned user id exactly to confirm."
            if typed
            else "Type the permissioned user id to confirm the deletion."
        )
        audit.record(
            "entry.delete", "refused", target=entry, message="confirmation did not match",
            actor=actor,
        )  # fmt: skip
        return Refused(message, {"confirm": [message]})
    return audited(
        actor,
        "entry.delete",
        lambda: entries.delete(entry),
        target=entry,
        changes=audit.audit_log().snapshot(entry),
    )


def clear_browser_state(actor: Actor, entry: VaultEntry) -> Saved[VaultEntry | None] | Failed:
    """Empty the entry's stored cookies and storage; ``Saved.value`` is the entry re-read
    (None if that re-read failed)."""
    return audited(
        actor,
        "entry.clear_state",
        lambda: entries.clear_browser_state(entry),
        target=entry,
        fields=BROWSER_STATE,
    )


def reveal(actor: Actor, entry: VaultEntry, field: str) -> Saved[Any] | Failed:
    """Decrypt one secret field for the operator (the sudo check is the caller's)."""

    def run() -> Any:
        try:
            return entries.reveal(entry, field)
        except DecryptionError as exc:
            raise _LocalFailure(str(exc)) from exc

    return audited(actor, f"entry.{field}.reveal", run, target=entry, fields=[field])


def tfa_code(actor: Actor, entry: Any, round_: int) -> Saved[TfaCode] | Failed:
    """The entry's current 2FA code (one upstream call; the key comes from the index)."""
    return audited(
        actor,
        "entry.tfa_code.view",
        lambda: entries.tfa_code(entry),
        target=entry,
        message=f"round {round_}",
        success_message=lambda code: f"{code.type} code shown",
    )


class _LocalFailure(Exception):
    """A failure in the console after the attempt row (e.g. a value that does not decrypt):
    recorded as the result and returned as ``Failed``."""

    audit_as_failure = True


__all__ = [
    "Conflict",
    "Failed",
    "Refused",
    "Saved",
    "clear_browser_state",
    "create",
    "delete",
    "refuse",
    "reveal",
    "save",
    "tfa_code",
]
