"""HTTP security headers, request ids and proxy awareness.

The Content-Security-Policy forbids inline script and style and ``eval``: every script is a
file under ``/static`` and htmx is configured through a ``<meta>`` tag
(docs/architecture.md#rendering).
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when configured so, and also whenever the request
    itself came over HTTPS (directly or through a trusted proxy) even if not configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure
        )


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
    hops = app.config.get("TRUST_PROXY_HEADERS", 0)
    if hops:
        # Behind the team's TLS proxy: trust X-Forwarded-For/Proto/Host from `hops` proxies.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if hops and _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if request.endpoint != "static":
            # Pages carry entry data or CSRF tokens: never store them anywhere.
            h["Cache-Control"] = "no-store"
        h["X-Request-Id"] = getattr(g, "request_id", "")
        return response
