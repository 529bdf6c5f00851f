"""The emulated r4 Machine Vault API (read side) as a Flask app, plus sandbox controls."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, Response, request

from app.sandbox.common.emulator import ErrorDialect, create_emulator_app
from app.sandbox.common.flask_json import json_response as _json
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


def _bad_request(message: str) -> R4Error:
    return R4Error(400, "bad_request", message)


#: ``{"error": {"code", "message"}}``; bodies may carry ``NaN`` / ``Infinity``
ERRORS = ErrorDialect(
    error=R4Error,
    body=error_body,
    invalid=_bad_request,
    unknown_fields=lambda names: _bad_request(f"property {names[0]} should not exist"),
    strict_json=False,
    cleared={"success": True},
)


def _body() -> Any:
    """The JSON request body (``NaN`` / ``Infinity`` accepted); empty means ``{}``."""
    return ERRORS.read_json()


def create_r4_app(model: VaultModel, faults: FaultInjector, api_key: str) -> Flask:
    expected = api_key.encode()

    def authenticate() -> None:
        presented = request.headers.get("X-API-Key")
        if presented is None or not hmac.compare_digest(presented.encode(), expected):
            raise R4Error(
                401, "unauthorized", "Invalid or missing API key in the X-API-Key header."
            )

    app = create_emulator_app(
        "app.sandbox.r4",
        ERRORS,
        faults,
        max_body_bytes=MAX_BODY_BYTES,
        authenticate=authenticate,
    )
    api = Blueprint("r4", __name__, url_prefix=PREFIX)

    def route(rule: str):
        """GET ``/vault…`` and its read-only alias ``/vaults…``."""

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

    # -- sandbox controls beside health and faults (authenticated, never faulted) --------
    @app.post("/_sandbox/rollback/<vault_id>")
    def rollback(vault_id: str) -> Response:
        body = _body()
        version = body.get("version") if isinstance(body, dict) else None
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise _bad_request("version must be an integer")
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
            raise _bad_request('body must be {"mode": "items"|"signature"|null}')
        return _json(model.set_tamper(vault_id, body["mode"]))

    return app
