"""Error pages and their htmx variants. No route ever shows a stack trace.

For an htmx request the page is not swapped in (htmx 2 leaves 4xx/5xx alone unless told
otherwise); instead the response raises a toast through ``HX-Trigger`` and carries a small
fragment for targets that do accept errors.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, redirect, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.services.audit import AuditUnavailable
from app.upstream_errors import UpstreamError
from app.web import is_htmx, local_path, render, toast

log = logging.getLogger("app.errors")

TITLES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your role does not allow this. Ask an admin if you need access."),
    404: ("Not found", "There is nothing at this address. It may have been deleted or renamed."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "That request is larger than the console accepts."),
    429: ("Slow down", "Too many requests; wait a moment and try again."),
    500: ("Something went wrong", "The console hit an unexpected error. It has been logged."),
    503: ("Service unavailable", "The vault service did not answer usefully. Try again shortly."),
}


UNKNOWN_ENTRY = (
    "This console does not know that entry. If it was created elsewhere a moment ago, sync "
    "the entries index and look again."
)


def error_response(status: int, message: str | None = None, title: str | None = None):
    default_title, default_message = TITLES.get(status, TITLES[500])
    # an entry id the index does not know: offer a sync (it may be new upstream)
    offer_sync = status == 404 and bool((request.view_args or {}).get("entry_id"))
    if offer_sync and message is None:
        message = UNKNOWN_ENTRY
    response = render(
        "errors/error.html",
        block="fragment",
        status=status,
        title=title or default_title,
        message=message or default_message,
        code=status,
        offer_sync=offer_sync,
    )
    if is_htmx():
        toast(response, message or default_message, "error")
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = "Your session expired or the form was stale. Reload the page and try again."
        back = local_path(request.referrer)  # only ever back to a page of this site
        if not is_htmx() and request.method == "POST" and back:
            flash(message, "error")
            return redirect(back, 303)
        return error_response(400, message, "Form expired")

    @app.errorhandler(AuditUnavailable)
    def audit_unavailable(exc: AuditUnavailable):
        return error_response(503, str(exc), "Audit log unavailable")

    @app.errorhandler(UpstreamError)
    def upstream_error(exc: UpstreamError):
        log.warning("unhandled upstream error", extra={"outcome": exc.outcome})
        title = f"{exc.service} unavailable" if exc.service else None
        return error_response(503, exc.message, title)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, None if status in TITLES else exc.description)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(InternalServerError.code)
