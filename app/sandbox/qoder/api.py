"""The emulated Qoder vaults API (``/api/v1/cloud``) as a small Flask app."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from app.sandbox.common.fault_middleware import FaultMiddleware
from app.sandbox.common.flask_json import json_response as _json
from app.sandbox.common.flask_json import request_json
from app.sandbox.faults import FaultInjector

from .errors import QoderApiError, error_body, invalid
from .resources import SHAPES
from .service import QoderService, Settings
from .store import Store

API_PREFIX = "/api/v1/cloud"
MAX_BODY_BYTES = 32 * 1024 * 1024
FAULT_FIELDS = ("kind", "method", "path", "times", "status", "body", "headers", "delay", "size")
LIMIT_MODES = ("error", "cap")


def _body() -> Any:
    """The JSON request body whatever its content type; empty means ``{}``."""
    return request_json(lambda: invalid("The request body must be valid JSON."))


def _object_body() -> dict[str, Any]:
    body = _body()
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def create_qoder_app(
    store: Store, faults: FaultInjector, pat: str, settings: Settings | None = None
) -> Flask:
    settings = settings or Settings()
    service = QoderService(store, settings)
    app = Flask("app.sandbox.qoder")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
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

    @app.before_request
    def guard() -> None:
        if request.routing_exception is not None:
            return  # unknown route / wrong method: 404 / 405 whoever asks
        if request.path == "/_sandbox/health":
            return
        check_auth()

    @app.after_request
    def request_id(response: Response) -> Response:
        response.headers.setdefault("request-id", "req_" + secrets.token_hex(12))
        return response

    @app.errorhandler(QoderApiError)
    def api_error(exc: QoderApiError) -> Response:
        return _json(exc.body, exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}
        if status == 404:
            return _json(error_body(404, f"No route for {request.method} {request.path}."), 404)
        if status == 405:
            message = f"Method {request.method} is not allowed on {request.path}."
            return _json(error_body(405, message), 405, headers)
        if status == 413:  # documented as 400 invalid_request_error
            return _json(error_body(400, "The request body is too large."), 400)
        return _json(error_body(status, exc.description), status, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - defensive
        app.logger.exception("qoder sandbox error")
        return _json(error_body(500), 500)

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

    @app.delete(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>")
    def delete_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.delete_credential(vault_id, credential_id))

    @app.post(f"{API_PREFIX}/vaults/<vault_id>/credentials/<credential_id>/archive")
    def archive_credential(vault_id: str, credential_id: str) -> Response:
        return _json(service.archive_credential(vault_id, credential_id))

    # -- sandbox controls (Bearer PAT, never faulted) ------------------------------------
    @app.get("/_sandbox/health")
    def health() -> Response:
        return _json({"status": "ok"})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body = _object_body()
        unknown = sorted(k for k in body if k not in FAULT_FIELDS)
        if unknown:
            raise invalid(f"Unknown field: {unknown[0]}", unknown[0])
        kwargs = {k: body[k] for k in FAULT_FIELDS if k in body}
        try:
            fault = faults.add(kwargs.pop("kind", None), **kwargs)
        except (TypeError, ValueError) as exc:
            raise invalid(str(exc)) from None
        return _json(fault.to_dict(), 201)

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        return _json(faults.list())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        return _json({"cleared": faults.clear()})

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

    # the CloudCruise fault kinds; a status fault without a body answers the Qoder envelope
    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, error_body)  # type: ignore[method-assign]
    return app
