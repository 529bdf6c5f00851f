"""Entry views."""

from __future__ import annotations

from flask_login import login_required

from app import upstream
from app.cloudcruise import CloudCruiseError
from app.entries import bp
from app.web import render


@bp.get("")
@login_required
def list():  # noqa: A001 - endpoint name entries.list
    error = None
    entries = []
    try:
        entries = upstream.client().list_entries()
    except CloudCruiseError as exc:
        error = exc
    entries.sort(key=lambda e: ((e.user_alias or "").lower(), e.permissioned_user_id))
    return render("entries/list.html", block="rows", entries=entries, error=error)
