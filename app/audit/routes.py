"""Audit log views. Editors and admins read it; admins export it and see the chain status."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import bp
from app.audit.query import ACTIONS, GROUPS, OUTCOMES, AuditQuery, id_range, merged_page, run
from app.auth.session import reauthenticate, role_required, sudo_active
from app.exports import csv_cell
from app.extensions import db
from app.models import AuditEvent, Role
from app.services import audit, audit_prune, audit_verify, operators
from app.services.audit_store import COLUMNS, now_iso
from app.web import is_htmx, render, sent_by_htmx

EXPORT_COLUMNS = (*COLUMNS, "hash")
MAX_EVENT_ID = 2**63 - 1
HISTORY_SIZE = 10


def _chain_status():
    """Admins see the chain status: events since the newest checkpoint are verified now,
    read-only (a GET never writes; checkpoints come from appenders, the background job and
    the command line); a first (full) verification runs in the background, never here."""
    if not current_user.is_admin:
        return None
    return audit_verify.page_state(audit.audit_log())


@bp.get("")
@role_required(Role.EDITOR)
def index():
    query = AuditQuery.from_args(request.args)
    page = run(db.session, query)
    return render(
        "audit/list.html",
        block="results",
        query=query,
        page=page,
        actions=ACTIONS,
        groups=GROUPS,
        outcomes=OUTCOMES,
        operator_names=[op.username for op in operators.all_operators()]
        + ["cli", "outside the console"],
        chain=_chain_status() if not sent_by_htmx() else None,
        anchors=audit_prune.anchors() if current_user.is_admin else [],
        sudo=sudo_active(),
    )


@bp.post("/verify")
@role_required(Role.ADMIN)
def verify_full():
    """Walk the whole chain in a background thread (long at millions of events)."""
    if audit_verify.start_full_verification(current_app._get_current_object()):
        flash("Verifying the whole chain in the background; this page shows the result.", "info")
    else:
        flash("A full verification is already running.", "info")
    return redirect(url_for("audit.index"), 303)


def _decode(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


@bp.get("/<int:event_id>")
@role_required(Role.EDITOR)
def detail(event_id: int):
    if event_id > MAX_EVENT_ID:  # beyond any database integer: no such event
        abort(404)
    event = db.session.get(AuditEvent, event_id)
    if event is None:
        abort(404)
    related = []
    if event.request_id:
        related = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.request_id == event.request_id, AuditEvent.id != event.id)
                .order_by(AuditEvent.id)
                .limit(20)
            )
        )
    return render(
        "audit/detail.html",
        event=event,
        changes=_decode(event.changes) or {},
        fields=_decode(event.fields) or [],
        related=related,
        actions=ACTIONS,
    )


@bp.get("/entry/<entry_id>")
@role_required(Role.EDITOR)
def entry_history(entry_id: str):
    """The History section of an entry's detail page (loaded lazily by htmx); opened as a
    page of its own, the audit log filtered to that entry."""
    if not is_htmx():
        return redirect(url_for("audit.index", entry=entry_id), 303)
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_id == entry_id, AuditEvent.phase != "attempt")
            .order_by(AuditEvent.id.desc())
            .limit(HISTORY_SIZE)
        )
    )
    return render(
        "audit/_history.html", events=events, entry_id=entry_id, actions=ACTIONS, limit=HISTORY_SIZE
    )


@bp.post("/export")
@role_required(Role.ADMIN)
def export():
    query = AuditQuery.from_args(request.form)
    fmt = request.form.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        abort(400)
    if not sudo_active():
        problem = reauthenticate(request.form.get("password", ""), " for export")
        if problem is not None:
            flash(f"Enter your password to export the audit log. {problem}", "error")
            return redirect(query.url(url_for("audit.index")), 303)
    filters = json.dumps(query.args(before=None, after=None), sort_keys=True)
    attempt = audit.attempt("audit.export", message=f"{fmt} export, filters {filters}")
    query = replace(query, before=None, after=None)
    engine = audit.audit_log().read_engine

    def rows() -> Iterator[dict]:
        with Session(engine) as session:
            low, high = id_range(session, query)
            while True:
                batch = merged_page(session, query, low, high, 2000, True)
                if not batch:
                    return
                for event in batch:
                    yield {c: getattr(event, c) for c in EXPORT_COLUMNS}
                high = batch[-1].id - 1
                session.expunge_all()

    def generate() -> Iterator[str]:
        count = 0
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows():
                writer.writerow({k: csv_cell(v) for k, v in row.items()})
                count += 1
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
        else:
            for row in rows():
                count += 1
                yield json.dumps({k: row[k] for k in EXPORT_COLUMNS}, sort_keys=True) + "\n"
        attempt.success(message=f"{fmt} export of {count} events, filters {filters}")

    name = f"audit-{now_iso()[:19].replace(':', '')}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    response = Response(stream_with_context(generate()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
