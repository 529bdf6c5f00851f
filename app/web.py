"""Rendering helpers shared by the blueprints: full page or htmx fragment, toasts, filters.

One code path serves both: a view names its template and the block that is the fragment;
``render`` returns the whole page unless the request came from htmx (``HX-Request: true``),
in which case it returns only that block. Every such response varies on ``HX-Request``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, make_response, redirect, render_template, request, url_for
from jinja2_fragments.flask import render_block, render_blocks


def is_htmx() -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    template: str,
    *,
    block: str | list[str] | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render ``template`` whole, or just ``block`` (or blocks) for an htmx request."""
    if block and is_htmx():
        if isinstance(block, list):
            html = render_blocks(template, block, **context)
        else:
            html = render_block(template, block, **context)
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def add_trigger(response: Response, event: str, detail: Any = True) -> Response:
    """Merge one event into the ``HX-Trigger`` header (JSON form). Never put secrets here."""
    current = response.headers.get("HX-Trigger")
    events = json.loads(current) if current else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: Response, message: str, level: str = "success") -> Response:
    return add_trigger(response, "toast", {"level": level, "message": message})


def hx_redirect(url: str) -> Response:
    """Send the browser to ``url``: ``HX-Redirect`` for htmx, a 303 otherwise."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def relative_time(value: Any, now: datetime | None = None) -> str:
    """``3 min ago`` / ``in 2 h`` / ``just now``; empty for missing or unparsable values."""
    moment = _parse_time(value)
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    for size, unit in (
        (86400 * 365, "y"),
        (86400 * 30, "mo"),
        (86400, "d"),
        (3600, "h"),
        (60, "min"),
    ):
        if seconds >= size:
            amount = int(seconds // size)
            return f"in {amount} {unit}" if future else f"{amount} {unit} ago"
    return "just now"


def exact_time(value: Any) -> str:
    moment = _parse_time(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["reltime"] = relative_time
    app.jinja_env.filters["exacttime"] = exact_time
    app.jinja_env.globals["is_htmx"] = is_htmx

    @app.get("/")
    def index():
        return redirect(url_for("entries.list"))
