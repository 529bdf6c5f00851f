"""Audit log views. Editors and admins read it; admins export it and see the chain status."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy import select

from app.audit import bp
from app.audit.query import ACTIONS, OUTCOMES, AuditQuery, escape_like, run
from app.auth.session import role_required, start_sudo, sudo_active
from app.extensions import db
from app.models import AuditEvent, Role
from app.services import audit, operators
from app.services.audit import COLUMNS
from app.services.passwords import verify_password
from app.web import render

EXPORT_COLUMNS = (*COLUMNS, "hash")
HISTORY_SIZE = 10


def _chain_status():
    if not current_user.is_admin:
        return None
    result, checkpoint = audit.verify_and_checkpoint(audit.audit_log())
    return {"result": result, "checkpoint": checkpoint}


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
        outcomes=OUTCOMES,
        operator_names=[op.username for op in operators.all_operators()] + ["cli"],
        chain=_chain_status() if not request.headers.get("HX-Request") else None,
        sudo=sudo_active(),
    )


@bp.post("/verify")
@role_required(Role.ADMIN)
def verify_full():
    result, _ = audit.verify_and_checkpoint(audit.audit_log(), full=True)
    flash(result.summary, "success" if result.ok else "error")
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
    """The History section of an entry's detail page (loaded lazily by htmx)."""
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
        if not verify_password(current_user.password_hash, request.form.get("password", "")):
            audit.record("auth.sudo", "failure", message="wrong password for export")
            flash("Enter your password to export the audit log.", "error")
            return redirect(query.url(url_for("audit.index")), 303)
        audit.record("auth.sudo", "success")
        start_sudo()
    filters = json.dumps(query.args(before=None, after=None), sort_keys=True)
    attempt = audit.attempt("audit.export", message=f"{fmt} export, filters {filters}")
    if query.q:
        from dataclasses import replace

        query = replace(query, q=escape_like(query.q))
    stmt = query.filters().with_only_columns(*AuditEvent.__table__.columns)
    engine = audit.audit_log().read_engine

    def rows() -> Iterator[dict]:
        last = None
        with engine.connect() as conn:
            while True:
                page = stmt.order_by(AuditEvent.id.desc()).limit(2000)
                if last is not None:
                    page = page.where(AuditEvent.id < last)
                batch = conn.execute(page).mappings().all()
                if not batch:
                    return
                for row in batch:
                    yield dict(row)
                last = batch[-1]["id"]

    def generate() -> Iterator[str]:
        count = 0
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows():
                writer.writerow(row)
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

    name = f"audit-{audit.now_iso()[:19].replace(':', '')}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    response = Response(stream_with_context(generate()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
