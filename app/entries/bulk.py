"""Bulk changes from the entries list: choose → preview → apply → per-entry results.

Selection is the ticked rows, or every entry matching the list's current filters. The
preview shows, per entry, the current and new values and remembers the ``updated_at`` it
showed; applying skips (as a conflict) any entry changed since. Each entry is saved on its
own (one audit event each, sharing a batch id): failures leave the others applied and can be
retried. Plain full-page forms: the wizard works without JavaScript.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import abort, copy_current_request_context, g, request
from sqlalchemy import select

from app.auth.session import role_required
from app.cloudcruise import fields as catalogue
from app.entries import bp
from app.entries.bulk_forms import FORMS, KINDS, SHOWN, BulkForm
from app.entries.feedback import upstream_message
from app.entries.listing import ListQuery, matching_ids
from app.extensions import db
from app.models import IndexedEntry, Role
from app.services import audit, entry_index
from app.services.audit import AuditUnavailable
from app.services.entry_commands import Conflict, Failed, Refused, save
from app.services.entry_updates import diff, removals
from app.upstream_errors import NotFoundError, UpstreamError
from app.web import render

MAX_BULK = 2000
NO_SELECTION = "Select at least one entry first (tick rows, or “all entries matching”)."
WORKERS = 6


@dataclass
class Item:
    row: IndexedEntry
    changes: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # will-change | unchanged | blocked | updated | failed | conflict
    message: str = ""

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
            item.status, item.message = "unchanged", "Already as requested."
        else:
            item.status = "will-change"
        items.append(item)
    return items


def _render(step: str, kind: str, form: BulkForm, status: int = 200, **context: Any):
    return render(
        "entries/bulk.html",
        status=status,
        step=step,
        kind=kind,
        kind_label=KINDS[kind][0],
        form=form,
        shown=SHOWN[kind],
        **context,
    )


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

    def apply_one(item: Item) -> Item:
        g.request_id = request_id  # the copied context has its own g
        if item.status != "will-change":
            return item
        seen = request.form.get(f"seen-{item.row.id}")
        try:
            # save() re-reads the entry: the conflict check compares what the API holds now
            outcome = save(
                actor, item.row.id, wanted, seen_updated_at=seen, action=action,
                batch_id=batch_id,
            )  # fmt: skip
        except AuditUnavailable as exc:
            item.status, item.message = "failed", str(exc)
            return item
        if isinstance(outcome, Conflict):
            item.status = "conflict"
            item.message = "Changed by someone else since the preview; not overwritten."
        elif isinstance(outcome, Refused):
            item.status, item.message = "failed", outcome.message
        elif isinstance(outcome, Failed):
            item.status = "failed"
            item.message = (
                "The entry no longer exists."
                if isinstance(outcome.error, NotFoundError)
                else upstream_message(outcome.error)
            )
        else:
            item.status = "updated"
            item.message = ", ".join(catalogue.labels(outcome.changed)) or "no change needed"
        return item

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        # each task gets its own copy of the request context (a context is pushed by one
        # thread at a time)
        futures = [pool.submit(copy_current_request_context(apply_one), item) for item in items]
        items = [future.result() for future in futures]
    summary = _count(items)
    return _render(
        "results", kind, form, items=items, summary=summary, batch_id=batch_id,
        retry_ids=[i.row.id for i in items if i.status in ("failed", "conflict")],
    )  # fmt: skip


def _count(items: list[Item]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts
