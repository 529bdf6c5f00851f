"""The emulated Qoder vaults API (``/api/v1/cloud``) as a small Flask app."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, Response, request

from app.sandbox.common.emulator import create_emulator_app
from app.sandbox.common.flask_json import json_response as _json
from app.sandbox.faults import FaultInjector

from .errors import ERRORS, QoderApiError, invalid
from .resources import SHAPES
from .service import QoderService, Settings
from .store import Store

API_PREFIX = "/api/v1/cloud"
MAX_BODY_BYTES = 32 * 1024 * 1024
LIMIT_MODES = ("error", "cap")


def _object_body() -> dict[str, Any]:
    """The JSON request body (whatever its content type; empty means ``{}``), an object."""
    return ERRORS.read_object()


def create_qoder_app(
    store: Store, faults: FaultInjector, pat: str, settings: Settings | None = None
) -> Flask:
    settings = settings or Settings()
    service = QoderService(store, settings)
    expected = pat.encode()

    def check_auth() -> None:
        header = request.headers.get("Authorization")
        if header is None:
            if request.headers.get("x-api-key") is not None:
                raise QoderApiError(
                    401, "x-api-key is not accepted; send Authorization: Bearer <PAT>."
                )
            raise QoderApiError(401)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise QoderApiError(401)
        if not hmac.compare_digest(token.encode(), expected):
            raise QoderApiError(401)

    # the CloudCruise fault kinds; a status fault without a body answers the Qoder envelope
    app = create_emulator_app(
        "app.sandbox.qoder", ERRORS, faults, max_body_bytes=MAX_BODY_BYTES, authenticate=check_auth
    )

    @app.after_request
    def request_id(response: Response) -> Response:
        response.headers.setdefault("request-id", "req_" + secrets.token_hex(12))
        return response

    # -- vaults --------------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/vaults")
    def list_vaults() -> Response:
        return _json(service.list_vaults(request.args))

    @app.post(f"{API_PREFIX}/vaults")
    def create_vault() -> Response:
        return _json(service.create_vault(_object_body()), 201)

    @app.get(f"{API_PREFIX}/vaults/<vault_id>")
    def get_vault(vault_id: str) -> Response:
        return _json(service.get_vault(vault_id))

    @app.post(f"{API_PREFIX}/vaults/<vault_id>/archive")
    def archive_vault(vault_id: str) -> Response:
        return _json(service.archive_vault(vault_id))

    @app.delete(f"{API_PREFIX}/vaults/<vault_id>")
    def delete_vault(vault_id: str) -> Response:
        return _json(service.delete_vault(vault_id))

    # -- credentials ---------------------------------------------------------------------
    @app.get(f"{API_PREFIX}/vaults/<vault_id>/credentials")
    def list_credentials(vault_id: str) -> Response:
        return _json(service.list_credentials(vault_id, request.args))

    @app.post(f"{API_PREFIX}/vaults/<vault_id>/credentials")
    def create_credential(vault_id: str) -> Response:
        return _json(service.create_credential(vault_id, _object_body()), 201)

    @app.get(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>")
    def get_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.get_credential(vault_id, credential_id))

    @app.post(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>")
    def update_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.update_credential(vault_id, credential_id, _object_body()))

    @app.delete(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>")
    def delete_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.delete_credential(vault_id, credential_id))

    @app.post(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>/archive")
    def archive_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.archive_credential(vault_id, credential_id))

    # -- sandbox controls beside health and faults (Bearer PAT, never faulted) ---------
    @app.get("/_sandbox/settings")
    def get_settings() -> Response:
        return _json({"shape": settings.shape, "limit_over_100": settings.limit_over_100})

    @app.patch("/_sandbox/settings")
    def patch_settings() -> Response:
        body = _object_body()
        for key in body:
            if key not in ("shape", "limit_over_100"):
                raise invalid(f"Unknown field: {key}", key)
        if "shape" in body and body["shape"] not in SHAPES:
            raise invalid("shape must be flat or nested.", "shape")
        if "limit_over_100" in body and body["limit_over_100"] not in LIMIT_MODES:
            raise invalid("limit_over_100 must be error or cap.", "limit_over_100")
        settings.shape = body.get("shape", settings.shape)
        settings.limit_over_100 = body.get("limit_over_100", settings.limit_over_100)
        return get_settings()

    return app
