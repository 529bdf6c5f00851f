"""Entry views: list and detail (read), plus the modules that register create/secrets/etc."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from app.entries import bp
from app.entries.listing import (
    CHECK_CHOICES,
    OUTSIDE_DAYS,
    PAGE_SIZES,
    PROXY_CHOICES,
    SESSION_CHOICES,
    SORTS,
    SOURCE_CHOICES,
    TFA_CHOICES,
    ListQuery,
    page_window,
    run_query,
)
from app.entries.presenters import EntryView
from app.errors import error_response
from app.services import entries, entry_index
from app.upstream_errors import NotFoundError, UpstreamError
from app.web import is_htmx, render, toast

LIST_CHOICES = {
    "tfa": TFA_CHOICES,
    "proxy": PROXY_CHOICES,
    "session": SESSION_CHOICES,
    "source": SOURCE_CHOICES,
    "check": CHECK_CHOICES,
}


def _list_page(query: ListQuery, *, status_code: int = 200, sync_error: str | None = None):
    """The list from the index (synced first only if it never was)."""
    error = sync_error
    try:
        index = entry_index.ensure_fresh()
    except UpstreamError as exc:
        index, error = entry_index.status(), exc.message
    result = run_query(query) if index.ready else None
    return render(
        "entries/list.html",
        block="results",
        status=status_code,
        query=query,
        result=result,
        index=index,
        error=error,
        choices=LIST_CHOICES,
        sorts=SORTS,
        page_sizes=PAGE_SIZES,
        pages=page_window(result.page, result.pages) if result else [],
        outside_since=datetime.now(UTC) - timedelta(days=OUTSIDE_DAYS),
    )


@bp.get("")
@login_required
def list():  # noqa: A001 - endpoint name entries.list
    return _list_page(ListQuery.from_args(request.args))


@bp.post("/sync")
@login_required
def sync_now():
    """Sync the index now (waiting for a sync already running), then show the list."""
    query = ListQuery.from_args(request.form)
    error = done = None
    try:
        done = entry_index.sync(wait=30)
    except entry_index.SyncBusy:
        error = "Another sync is still running; the list shows the index as it is."
    except UpstreamError as exc:
        error = exc.message
    if not is_htmx():
        flash(done.line() if done else f"The sync failed: {error}", "success" if done else "error")
        return redirect(query.url(url_for("entries.list")), 303)
    response = _list_page(query, sync_error=error)
    return toast(response, done.line()) if done else response


@bp.get("/<entry_id>")
@login_required
def detail(entry_id: str):
    try:
        entry = entries.read(entry_id)
    except NotFoundError:
        abort(404)
    except UpstreamError as exc:
        return error_response(503, exc.message, "Could not load the entry")
    return render("entries/detail.html", view=EntryView(entry))
