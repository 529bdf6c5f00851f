"""The emulated r4 Machine Vault API (read side) as a Flask app, plus sandbox controls."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from app.sandbox.common.fault_middleware import FaultMiddleware
from app.sandbox.common.flask_json import json_response as _json
from app.sandbox.common.flask_json import request_json
from app.sandbox.errors import reason
from app.sandbox.faults import FaultInjector

from .vaults import R4Error, VaultModel

PREFIX = "/api/v1/machine"
MAX_BODY_BYTES = 1024 * 1024

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "unprocessable_entity",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_body(status: int, message: str | None = None, code: str | None = None) -> dict:
    return {
        "error": {
            "code": code or ERROR_CODES.get(status, "error"),
            "message": message or reason(status),
        }
    }


def _body() -> Any:
    """The JSON request body (``NaN`` / ``Infinity`` accepted); empty means ``{}``."""
    return request_json(
        lambda: R4Error(400, "bad_request", "request body must be valid JSON"), strict=False
    )


def create_r4_app(model: VaultModel, faults: FaultInjector, api_key: str) -> Flask:
    app = Flask("app.sandbox.r4")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    expected = api_key.encode()

    @app.before_request
    def guard() -> None:
        if request.routing_exception is not None:
            return None  # unknown route / wrong method: 404 / 405 whoever asks
        if request.path == "/_sandbox/health":
            return None
        presented = request.headers.get("X-API-Key")
        if presented is None or not hmac.compare_digest(presented.encode(), expected):
            raise R4Error(
                401, "unauthorized", "Invalid or missing API key in the X-API-Key header."
            )
        return None

    @app.errorhandler(R4Error)
    def r4_error(exc: R4Error) -> Response:
        return _json(exc.body, exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = {
            404: f"Cannot {request.method} {request.path}",
            405: f"Method {request.method} is not allowed on {request.path}",
        }.get(status, exc.description)
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return _json(error_body(status, message), status, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - defensive
        app.logger.exception("r4 sandbox error")
        return _json(error_body(500, "Internal server error"), 500)

    api = Blueprint("r4", __name__, url_prefix=PREFIX)

    def route(rule: str):
        """GET ``/vault…`` and its read-only alias ``/vaults…`` (B.1)."""

        def register(view):
            api.add_url_rule("/vault" + rule, view.__name__, view, methods=["GET"])
            api.add_url_rule("/vaults" + rule, view.__name__ + "_alias", view, methods=["GET"])
            return view

        return register

    @route("")
    def list_vaults() -> Response:
        return _json(model.list_vaults())

    @route("/<vault_id>")
    def get_vault(vault_id: str) -> Response:
        return _json(model.get_vault(vault_id))

    @route("/<vault_id>/items")
    def list_items(vault_id: str) -> Response:
        return _json(model.list_items(vault_id))

    @route("/<vault_id>/items/<item_id>")
    def get_item(vault_id: str, item_id: str) -> Response:
        return _json(model.get_item(vault_id, item_id))

    @route("/<vault_id>/fields/<field_id>")
    def get_field(vault_id: str, field_id: str) -> Response:
        return _json(model.get_field(vault_id, field_id))

    @route("/<vault_id>/public-keys")
    def public_keys(vault_id: str) -> Response:
        return _json(model.public_keys(vault_id))

    app.register_blueprint(api)

    # -- sandbox controls (authenticated, never faulted) --------------------------------
    @app.get("/_sandbox/health")
    def health() -> Response:
        return _json({"status": "ok"})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body = _body()
        if not isinstance(body, dict):
            raise R4Error(400, "bad_request", "request body must be a JSON object")
        allowed = ("kind", "method", "path", "times", "status", "body", "headers", "delay", "size")
        unknown = [k for k in body if k not in allowed]
        if unknown:
            raise R4Error(400, "bad_request", f"property {unknown[0]} should not exist")
        kwargs = {k: body[k] for k in allowed if k in body}
        try:
            fault = faults.add(kwargs.pop("kind", None), **kwargs)
        except (TypeError, ValueError) as exc:
            raise R4Error(400, "bad_request", str(exc)) from None
        return _json(fault.to_dict(), 201)

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        return _json(faults.list())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        return _json({"success": True, "cleared": faults.clear()})

    @app.post("/_sandbox/rollback/<vault_id>")
    def rollback(vault_id: str) -> Response:
        body = _body()
        version = body.get("version") if isinstance(body, dict) else None
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise R4Error(400, "bad_request", "version must be an integer")
        return _json(model.rollback(vault_id, version))

    @app.delete("/_sandbox/rollback/<vault_id>")
    def clear_rollback(vault_id: str) -> Response:
        return _json(model.clear_rollback(vault_id))

    @app.post("/_sandbox/bump/<vault_id>")
    def bump(vault_id: str) -> Response:
        return _json(model.bump(vault_id))

    @app.post("/_sandbox/tamper/<vault_id>")
    def tamper(vault_id: str) -> Response:
        body = _body()
        if not isinstance(body, dict) or "mode" not in body:
            raise R4Error(400, "bad_request", 'body must be {"mode": "items"|"signature"|null}')
        return _json(model.set_tamper(vault_id, body["mode"]))

    # status faults without a body answer r4's ``{"error": {"code", "message"}}``
    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, error_body)  # type: ignore[method-assign]
    return app
