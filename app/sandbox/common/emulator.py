"""One Flask app factory for the three emulators (CloudCruise, Qoder, r4).

Each emulator keeps its own routes and its own validation: they are an independent check
of the console. What every emulator needs in the same way is built here, worded in the
API's own error dialect (:class:`ErrorDialect`):

* error handlers: the API's error exception answers its ``status``, ``body`` and
  ``headers``; unknown routes (404), wrong methods (405, with ``Allow``), oversized
  bodies (413) and unexpected exceptions (500) answer the API's error body;
* the guard: unknown routes, wrong methods and ``/_sandbox/health`` answer without
  credentials; every other request goes through ``admit`` (optional, e.g. rate
  limiting) and then ``authenticate`` (raises the API's 401);
* the controls every emulator has, authenticated and never faulted:
  ``GET /_sandbox/health`` and ``POST/GET/DELETE /_sandbox/faults``;
* the fault middleware (faults apply before routing and auth).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from app.sandbox.faults import FaultInjector

from .fault_middleware import FaultMiddleware
from .flask_json import json_response, request_json

HEALTH_PATH = "/_sandbox/health"
FAULT_FIELDS = ("kind", "method", "path", "times", "status", "body", "headers", "delay", "size")


@dataclass(frozen=True)
class ErrorDialect:
    """How one API words its errors, and reads request bodies."""

    #: the exception the API's views raise; it carries ``status``, ``body`` and ``headers``
    error: type[Exception]
    #: ``body(status, message)``: the API's error body (``message`` None: its default)
    body: Callable[..., Any]
    #: a 400 for a request body that cannot be used (``message``)
    invalid: Callable[[str], Exception]
    #: a 400 for unknown fields (in body order) in a sandbox control body
    unknown_fields: Callable[[list[str]], Exception]
    invalid_json: str = "request body must be valid JSON"
    not_object: str = "request body must be a JSON object"
    #: ``NaN`` and ``Infinity`` are not JSON
    strict_json: bool = True
    not_found: str = "Cannot {method} {path}"
    not_allowed: str = "Method {method} is not allowed on {path}"
    #: ``(status, message)`` for a body over the limit (``{limit}``: the limit in bytes);
    #: None: 413 with werkzeug's description
    too_large: tuple[int, str] | None = None
    #: message of the 500 answer (None: the dialect's default)
    internal: str | None = "Internal server error"
    #: a status fault without a body answers ``body(status)`` (429 with ``Retry-After``);
    #: False: the CloudCruise body of :func:`app.sandbox.faults.status_response`
    fault_body: bool = True
    #: what ``DELETE /_sandbox/faults`` answers beside ``cleared``
    cleared: Mapping[str, Any] = field(default_factory=dict)

    def read_json(self) -> Any:
        """The JSON request body whatever its content type; empty means ``{}``."""
        return request_json(lambda: self.invalid(self.invalid_json), strict=self.strict_json)

    def read_object(self) -> dict[str, Any]:
        body = self.read_json()
        if not isinstance(body, dict):
            raise self.invalid(self.not_object)
        return body


def create_emulator_app(
    name: str,
    dialect: ErrorDialect,
    faults: FaultInjector,
    *,
    max_body_bytes: int,
    authenticate: Callable[[], None],
    admit: Callable[[], Response | None] | None = None,
) -> Flask:
    """A Flask app with the shared handlers, guard, controls and fault middleware; the
    emulator adds its routes to it."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes

    @app.before_request
    def guard() -> Response | None:
        if admit is not None and (early := admit()) is not None:
            return early
        if request.routing_exception is not None or request.path == HEALTH_PATH:
            return None  # unknown route / wrong method: 404 / 405 whoever asks
        authenticate()
        return None

    @app.errorhandler(dialect.error)
    def api_error(exc: Any) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status, message = exc.code or 500, exc.description
        where = {"method": request.method, "path": request.path}
        if status == 404:
            message = dialect.not_found.format(**where)
        elif status == 405:
            message = dialect.not_allowed.format(**where)
        elif status == 413 and dialect.too_large is not None:
            status, message = dialect.too_large
            message = message.format(limit=max_body_bytes)
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return json_response(dialect.body(status, message), status, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - defensive
        app.logger.exception("%s error", name)
        return json_response(dialect.body(500, dialect.internal), 500)

    @app.get(HEALTH_PATH)
    def health() -> Response:
        return json_response({"status": "ok"})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body = dialect.read_object()
        unknown = [k for k in body if k not in FAULT_FIELDS]
        if unknown:
            raise dialect.unknown_fields(unknown)
        kwargs = {k: body[k] for k in FAULT_FIELDS if k in body}
        try:
            fault = faults.add(kwargs.pop("kind", None), **kwargs)
        except (TypeError, ValueError) as exc:
            raise dialect.invalid(str(exc)) from None
        return json_response(fault.to_dict(), 201)

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        return json_response(faults.list())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        return json_response({**dialect.cleared, "cleared": faults.clear()})

    error_body = (lambda status: dialect.body(status)) if dialect.fault_body else None
    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, error_body)  # type: ignore[method-assign]
    return app
