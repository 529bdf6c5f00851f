"""Rendering helpers shared by the blueprints: full page or htmx fragment, toasts, filters.

One code path serves both: a view names its template and the block that is the fragment;
``render`` returns the whole page unless the request came from htmx (``HX-Request: true``),
in which case it returns only that block. Every such response varies on ``HX-Request``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, make_response, redirect, render_template, request, url_for
from flask_login import login_required
from jinja2_fragments.flask import render_block, render_blocks
from werkzeug.wrappers import Response as WerkzeugResponse

from app.cloudcruise.fields import catalogue
from app.cloudcruise.intervals import describe_interval
from app.timeutil import exact_time, relative_time, seconds_ago


def sent_by_htmx() -> bool:
    """The request came from htmx (the one place the ``HX-Request`` header is read)."""
    return request.headers.get("HX-Request") == "true"


def is_htmx() -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return sent_by_htmx() and request.headers.get("HX-History-Restore-Request") != "true"


_FIRST_TAG = re.compile(r"^(\s*<[A-Za-z][^\s/>]*)")


def render(
    template: str,
    *,
    block: str | list[str] | None = None,
    oob: list[str] | tuple[str, ...] = (),
    status: int = 200,
    **context: Any,
) -> Response:
    """Render ``template`` whole, or just ``block`` (or blocks) for an htmx request.

    ``oob`` names further blocks an htmx answer carries out of band: each is rendered and
    its outermost element marked ``hx-swap-oob``, so templates need no swap attributes.
    """
    if block and is_htmx():
        if isinstance(block, list):
            html = render_blocks(template, block, **context)
        else:
            html = render_block(template, block, **context)
        for name in oob:
            part = render_block(template, name, **context)
            html += _FIRST_TAG.sub(r'\1 hx-swap-oob="true"', part, count=1)
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def local_path(target: str | None) -> str | None:
    """Only same-site paths are allowed as ``next`` (no open redirects)."""
    if not target:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def add_trigger(response: Response, event: str, detail: Any = True) -> Response:
    """Merge one event into the ``HX-Trigger`` header (JSON form). Never put secrets here."""
    current = response.headers.get("HX-Trigger")
    events = json.loads(current) if current else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: Response, message: str, level: str = "success") -> Response:
    return add_trigger(response, "toast", {"level": level, "message": message})


def hx_redirect(url: str) -> Response | WerkzeugResponse:
    """Send the browser to ``url``: ``HX-Redirect`` for htmx, a 303 otherwise."""
    if sent_by_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def http_url(value: Any) -> str | None:
    """``value`` if it is an http(s) URL with a host, else None: only such URLs from upstream
    data become links (never ``javascript:``, ``data:`` or relative ones)."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _fromjson(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    app.jinja_env.filters["reltime"] = relative_time
    app.jinja_env.filters["exacttime"] = exact_time
    app.jinja_env.filters["ago"] = seconds_ago
    app.jinja_env.filters["interval_human"] = describe_interval
    app.jinja_env.filters["fromjson"] = _fromjson
    app.jinja_env.filters["http_url"] = http_url
    app.jinja_env.globals["is_htmx"] = is_htmx
    app.jinja_env.globals["fields"] = catalogue
    # Macros as a global, not a top-level import, so single-block (htmx) renders see them.
    app.jinja_env.globals["ui"] = app.jinja_env.get_template("shared/_ui.html").module

    @app.get("/")
    @login_required
    def index():
        return redirect(url_for("entries.list"))
