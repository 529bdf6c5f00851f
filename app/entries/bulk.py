"""Bulk changes from the entries list: choose → preview → apply → per-entry results.

Selection is the ticked rows (kept across searches, filters and pages by static/js/bulk.js,
in the tab's sessionStorage), or every entry matching the list's current filters. The
preview shows, per entry, the current and new values and remembers the ``updated_at`` it
showed; applying skips (as a conflict) any entry changed since. Each entry is saved on its
own (one audit event each, sharing a batch id): failures leave the others applied and can be
retried.

Every entry of a batch leaves an audit event with the batch id: the attempt and result of
a save, or, for an entry nothing was sent for, one event saying why (already as requested,
skipped, changed meanwhile, gone). The results page, ``GET /entries/bulk/<batch_id>``, is
rebuilt from those events: applying answers with a redirect to it (POST-redirect-GET), so
reloading it or going back never applies the batch again.

Plain full-page forms: the wizard works without JavaScript. With it, each step is swapped
into ``<main>`` by htmx, so the steps leave no POST answers in the browser history: Back
from the results goes to the list.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import abort, copy_current_request_context, g, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.session import role_required
from app.cloudcruise import fields as catalogue
from app.entries import bp
from app.entries.bulk_forms import FORMS, KINDS, SHOWN, BulkForm, kind_of
from app.entries.listing import ListQuery, matching_ids
from app.extensions import db
from app.models import AuditEvent, IndexedEntry, Role
from app.services import audit, entries, entry_index
from app.services.audit import AuditUnavailable
from app.services.entry_commands import Conflict, Failed, Refused, save
from app.services.entry_updates import diff, removals
from app.upstream_errors import NotFoundError, UpstreamError
from app.web import hx_redirect, render, sent_by_htmx, toast

MAX_BULK = 2000
NO_SELECTION = "Select at least one entry first (tick rows, or “all entries matching”)."
WORKERS = 6
UNCHANGED = "Already as requested; nothing sent."
CONFLICT = "Changed by someone else since the preview; not overwritten."
GONE = "The entry no longer exists."
UNANSWERED = "The change may or may not have been applied: open the entry to check."
NO_RESULT = "No result was recorded for this entry; open it to check whether it changed."
UNRECORDED = (
    "The audit log could not record this batch, so its results cannot be shown again: "
    "note them now. Entries marked failed were not changed."
)
_BATCH_ID = re.compile(r"^[0-9a-f]{32}$")
#: the status column of a batch event that says why nothing was sent for an entry
CONFLICT_STATUS = 409
GONE_STATUS = 404


@dataclass
class Shown:
    """An entry as the results table names it (also when it is gone from the index)."""

    id: str
    alias: str
    pid: str
    host: str


@dataclass
class Item:
    row: Any  # IndexedEntry (choose, preview, apply) or Shown (results)
    changes: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # will-change | unchanged | blocked | updated | failed | conflict
    message: str = ""
    #: an audit event with the batch id says what happened to this entry
    recorded: bool = True

    @property
    def current(self) -> dict[str, Any]:
        return self.row.to_mapping()


def _selection(form: Any) -> tuple[list[IndexedEntry], str | None]:
    """Rows the operator picked (from the index): ticked ids, or every entry matching the
    list filters. The preview shows indexed values; applying re-reads each entry."""
    if form.get("all_matching") == "1":
        ids = matching_ids(ListQuery.from_args(form), MAX_BULK + 1)
    else:
        ids = list(dict.fromkeys(form.getlist("ids")))[: MAX_BULK + 1]
    if len(ids) > MAX_BULK:
        return (
            [],
            f"More than {MAX_BULK} entries selected; bulk changes are limited to {MAX_BULK} "
            "at a time.",
        )
    found = {
        row.id: row
        for start in range(0, len(ids), 500)
        for row in db.session.scalars(
            select(IndexedEntry).where(
                IndexedEntry.id.in_(ids[start : start + 500]), entry_index.live()
            )
        )
    }
    return [found[i] for i in ids if i in found], None


def _kind() -> str:
    kind = request.form.get("kind", "")
    if kind not in FORMS:
        abort(400)
    return kind


def _plan(rows: list[IndexedEntry], wanted: dict[str, Any]) -> list[Item]:
    items = []
    for row in rows:
        item = Item(row, diff(row, wanted))
        multiple = wanted.get("allow_multiple_sessions", row.allow_multiple_sessions)
        problems = removals(item.changes)[1]
        if wanted.get("max_concurrency") is not None and not multiple:
            item.status = "blocked"
            item.message = "Multiple sessions are not allowed for this entry, so no limit applies."
        elif problems:
            item.status, item.message = "blocked", " ".join(dict.fromkeys(problems.values()))
        elif not item.changes:
            item.status, item.message = "unchanged", UNCHANGED
        else:
            item.status = "will-change"
        items.append(item)
    return items


def _render(step: str, kind: str, form: BulkForm, status: int = 200, **context: Any):
    response = render(
        "entries/bulk.html",
        status=status,
        step=step,
        kind=kind,
        kind_label=KINDS[kind][0],
        form=form,
        shown=SHOWN[kind],
        **context,
    )
    if status >= 500 and context.get("banner") and sent_by_htmx():
        toast(response, context["banner"], "error")  # htmx does not swap a 5xx in
    return response


@bp.post("/bulk")
@role_required(Role.EDITOR)
def bulk_choose():
    kind = _kind()
    try:
        rows, problem = _selection(request.form)
    except UpstreamError as exc:
        return _render("choose", kind, FORMS[kind](formdata=None), 503, rows=[], banner=exc.message)
    if problem or not rows:
        return _render(
            "choose", kind, FORMS[kind](formdata=None), 422, rows=[],
            banner=problem or NO_SELECTION,
        )  # fmt: skip
    return _render("choose", kind, FORMS[kind](formdata=None), rows=rows)


def _prepared() -> tuple[str, BulkForm, list[IndexedEntry], Any]:
    """The kind, validated change and selection of a preview/apply request, or an error
    page (the choose step again, with the reason) as the last element."""
    kind = _kind()
    form = FORMS[kind]()
    try:
        rows, problem = _selection(request.form)
    except UpstreamError as exc:
        return kind, form, [], _render("choose", kind, form, 503, rows=[], banner=exc.message)
    if problem or not rows:
        error = _render("choose", kind, form, 422, rows=[], banner=problem or NO_SELECTION)
        return kind, form, [], error
    if not form.validate():
        return kind, form, rows, _render("choose", kind, form, 422, rows=rows)
    return kind, form, rows, None


@bp.post("/bulk/preview")
@role_required(Role.EDITOR)
def bulk_preview():
    kind, form, rows, error = _prepared()
    if error is not None:
        return error
    items = _plan(rows, form.wanted())
    return _render("preview", kind, form, items=items, summary=_count(items))


@bp.post("/bulk/apply")
@role_required(Role.EDITOR)
def bulk_apply():
    kind, form, rows, error = _prepared()
    if error is not None:
        return error
    wanted = form.wanted()
    items = _plan(rows, wanted)
    batch_id = audit.new_batch_id()
    action = f"entry.{KINDS[kind][1]}.update"
    request_id = g.request_id
    actor = audit.current_actor()

    def note(item: Item, outcome: str, status: int | None = None) -> Item:
        """Record, under the batch id, why nothing was sent for ``item``."""
        row = item.row
        mode = wanted.get("proxy_setting", row.proxy_setting)
        secret = {n for n in wanted if catalogue.is_secret(n, {"proxy_setting": mode})}
        changes = None
        if item.status != "unchanged":  # what was asked, for the log and for a retry
            changes = audit.audit_log().describe_changes(wanted, row.to_mapping(), secret=secret)
        try:
            audit.record(
                action, outcome, target=row, fields=sorted(wanted), changes=changes,
                status=status, message=item.message, batch_id=batch_id, actor=actor,
            )  # fmt: skip
        except AuditUnavailable:
            item.recorded = False
        return item

    def apply_one(item: Item) -> Item:
        g.request_id = request_id  # the copied context has its own g
        if item.status == "unchanged":
            return note(item, "success")
        if item.status != "will-change":
            return note(item, "refused")
        seen = request.form.get(f"seen-{item.row.id}")
        try:
            # re-read here, not in save(): a failed read is noted like the other skips
            current = entries.load(item.row.id)
        except NotFoundError:
            item.status, item.message = "failed", GONE
            return note(item, "failure", GONE_STATUS)
        except UpstreamError as exc:
            item.status, item.message = "failed", f"{exc.message} Nothing was sent."
            return note(item, "failure", exc.status)
        try:
            # the conflict check compares what the API holds now with what the preview showed
            outcome = save(
                actor, item.row.id, wanted, seen_updated_at=seen, action=action,
                batch_id=batch_id, current=current,
            )  # fmt: skip
        except AuditUnavailable as exc:  # nothing was sent
            item.status, item.message, item.recorded = "failed", str(exc), False
            return item
        if isinstance(outcome, Conflict):
            item.status, item.message = "conflict", CONFLICT
            return note(item, "refused", CONFLICT_STATUS)
        if isinstance(outcome, Refused):
            # the change cannot be expressed for this entry as it is now (save() logged the
            # refusal; the note puts it in the batch)
            reasons = [text for texts in outcome.field_errors.values() for text in texts]
            item.status, item.message = "blocked", " ".join(reasons) or outcome.message
            return note(item, "refused")
        if isinstance(outcome, Failed):
            item.status = "failed"
            error = outcome.error
            gone = isinstance(error, NotFoundError)
            item.message = GONE if gone else _failure(outcome.message, getattr(error, "status", 0))
        else:
            item.status = "updated"
            item.message = ", ".join(catalogue.labels(outcome.changed)) or "no change needed"
        return item

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        # each task gets its own copy of the request context (a context is pushed by one
        # thread at a time)
        futures = [pool.submit(copy_current_request_context(apply_one), item) for item in items]
        items = [future.result() for future in futures]
    if all(item.recorded for item in items):
        return hx_redirect(url_for("entries.bulk_results", batch_id=batch_id))
    # the log cannot rebuild this batch: show what happened now (applying again is safe:
    # entries already changed come back as "changed meanwhile")
    return _render(
        "results", kind, form, items=items, summary=_count(items), batch_id=batch_id,
        retry_ids=[i.row.id for i in items if i.status in ("failed", "conflict")],
        unrecorded=UNRECORDED,
    )  # fmt: skip


@bp.get("/bulk/<batch_id>")
@role_required(Role.EDITOR)
def bulk_results(batch_id: str):
    """A batch's results, rebuilt from its audit events: for the editor who ran it and for
    admins. Read-only, so reloading or coming back to it is safe."""
    if not _BATCH_ID.match(batch_id):
        abort(404)
    events = list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.batch_id == batch_id).order_by(AuditEvent.id)
        )
    )
    if not events:
        abort(404)
    if not current_user.is_admin and any(e.operator_id != current_user.id for e in events):
        abort(403)
    names = {n for e in events for n in (_decode(e.fields) or [])}
    kind = kind_of(events[0].action, names)
    if kind is None:
        abort(404)
    items = _rebuilt(events)
    retry_ids = [i.row.id for i in items if i.status in ("failed", "conflict")]
    form = FORMS[kind](formdata=FORMS[kind].formdata(_asked(events)))
    return _render(
        "results", kind, form, items=items, summary=_count(items), batch_id=batch_id,
        retry_ids=retry_ids, ran_by=events[0].operator, ran_at=events[0].ts,
    )  # fmt: skip


def _decode(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def _rebuilt(events: list[AuditEvent]) -> list[Item]:
    """One item per entry of the batch, from its events (a save's attempt and result, or
    the one event saying why nothing was sent)."""
    by_target: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_target.setdefault(event.target_id or "", []).append(event)
    rows = {
        row.id: row
        for row in db.session.scalars(
            select(IndexedEntry).where(IndexedEntry.id.in_([t for t in by_target if t]))
        )
    }
    items = []
    for target, group in by_target.items():
        first = group[0]
        row = rows.get(target)
        shown = (
            Shown(row.id, row.alias, row.pid, row.host)
            if row is not None
            else Shown(target, "", first.target_pid or target, _host(first.target_domain))
        )
        status, message = _outcome(group)
        items.append(Item(shown, status=status, message=message))
    return sorted(items, key=lambda i: ((i.row.alias or i.row.pid).casefold(), i.row.pid))


def _host(domain: str | None) -> str:
    try:
        return urlsplit(domain or "").hostname or (domain or "")
    except ValueError:
        return domain or ""


def _outcome(group: list[AuditEvent]) -> tuple[str, str]:
    """(status, message) of one entry from its events of the batch."""
    result = next((e for e in reversed(group) if e.phase == "result"), None)
    if result is not None:
        if result.outcome == "success":
            return "updated", _changed(result)
        return "failed", _failure(result.message, result.status)
    noted = next((e for e in reversed(group) if e.phase == "event"), None)
    if noted is None:
        return "failed", NO_RESULT  # an attempt without its result
    message = noted.message or ""
    if noted.outcome == "success":
        return "unchanged", message or UNCHANGED
    if noted.outcome == "refused":
        if noted.status == CONFLICT_STATUS:
            return "conflict", message or CONFLICT
        return "blocked", message
    return "failed", message or GONE


def _failure(message: str | None, status: int | None) -> str:
    """Why an entry failed; when no answer arrived (timeout, connection) the change may
    have been applied all the same."""
    text = message or "CloudCruise refused the change."
    return text if status is not None else f"{text} {UNANSWERED}"


def _changed(event: AuditEvent) -> str:
    """What a save changed, in the catalogue's words: ``Persist cookies: No → Yes``."""
    changes = _decode(event.changes) or {}
    parts = []
    for name in _decode(event.fields) or sorted(changes):
        change = changes.get(name)
        if isinstance(change, dict) and "after" in change:
            before = catalogue.format_value(name, change.get("before"))
            after = catalogue.format_value(name, change["after"])
            parts.append(f"{catalogue.label(name)}: {before} → {after}")
        else:
            parts.append(f"{catalogue.label(name)}: changed")
    return ", ".join(parts) or "no change needed"


def _asked(events: list[AuditEvent]) -> dict[str, Any]:
    """The change the batch asked for, as far as its events recorded it (each records the
    fields it sent or would have sent: all share one change). A secret is known only as
    changed (its marker, not its value)."""
    wanted: dict[str, Any] = {}
    for event in events:
        changes = _decode(event.changes)
        if not isinstance(changes, dict):
            continue
        for name, change in changes.items():
            if isinstance(change, dict):
                wanted[name] = change.get("after", change)
    return wanted


def _count(items: list[Item]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts
