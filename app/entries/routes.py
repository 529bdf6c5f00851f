"""Entry views: list and detail (read), plus the modules that register create/secrets/etc."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, request
from flask_login import login_required

from app.cloudcruise import CloudCruiseError, NotFoundError
from app.entries import bp
from app.entries.listing import (
    PAGE_SIZES,
    PROXY_CHOICES,
    SESSION_CHOICES,
    SORTS,
    SOURCE_CHOICES,
    TFA_CHOICES,
    TIME_DEPENDENT_SORTS,
    ListQuery,
    page_window,
    run_query,
    sort_rows,
)
from app.entries.presenters import EntryView
from app.errors import error_response
from app.services import entries
from app.web import render

LIST_CHOICES = {
    "tfa": TFA_CHOICES,
    "proxy": PROXY_CHOICES,
    "session": SESSION_CHOICES,
    "source": SOURCE_CHOICES,
}


@bp.get("")
@login_required
def list():  # noqa: A001 - endpoint name entries.list
    query = ListQuery.from_args(request.args)
    error = snapshot = result = None
    try:
        snapshot = entries.snapshot(force=request.args.get("refresh") == "1")
    except CloudCruiseError as exc:
        error = exc
    if snapshot is not None:
        now = datetime.now(UTC)
        presorted = snapshot.ordered(
            (query.sort, query.dir == "desc"),
            lambda: sort_rows(snapshot.rows, query, now),
            cache=query.sort not in TIME_DEPENDENT_SORTS,
        )
        result = run_query(snapshot.rows, query, now, presorted)
        error = snapshot.stale_error
    return render(
        "entries/list.html",
        block="results",
        query=query,
        result=result,
        snapshot=snapshot,
        error=error,
        choices=LIST_CHOICES,
        sorts=SORTS,
        page_sizes=PAGE_SIZES,
        pages=page_window(result.page, result.pages) if result else [],
    )


@bp.get("/<entry_id>")
@login_required
def detail(entry_id: str):
    try:
        entry = entries.load(entry_id)
    except NotFoundError:
        abort(404)
    except CloudCruiseError as exc:
        return error_response(503, exc.message, "Could not load the entry")
    return render("entries/detail.html", view=EntryView(entry))
