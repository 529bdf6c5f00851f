"""The emulated CloudCruise vault REST API as a Flask app (separate from the console)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import tfa
from .common.fault_middleware import CONTROL_PREFIX, FaultMiddleware
from .common.flask_json import json_response as _json
from .common.flask_json import request_json
from .entries import VaultService
from .errors import ApiError, bad_request, error_body, unauthorized
from .faults import FaultInjector
from .ratelimit import RateLimiter
from .store import Store
from .workspace import Workspace

MAX_BODY_BYTES = 5 * 1024 * 1024


def _error_response(exc: ApiError) -> Response:
    return _json(exc.body, exc.status, exc.headers)


def _body() -> Any:
    """The JSON request body whatever its content type; empty means ``{}``."""
    return request_json(lambda: bad_request("request body must be valid JSON"))


def _query_pair() -> tuple[str | None, str | None]:
    return request.args.get("permissioned_user_id"), request.args.get("domain")


def create_sandbox_app(
    store: Store,
    faults: FaultInjector,
    rate_limiter: RateLimiter | None,
    workspace: Workspace | None = None,
) -> Flask:
    """The emulator app over ``store``; its workspace is opened (or created) if not given."""
    if workspace is None:
        from .workspace import open_workspace

        workspace = open_workspace(store)
    vault = VaultService(store, workspace)
    app = Flask("app.sandbox")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    api_key = workspace.api_key.encode()

    def presented_key() -> str | None:
        key = request.headers.get("cc-key")
        if key is None:
            auth = request.headers.get("Authorization", "")
            if auth[:7].lower() == "bearer ":
                key = auth[7:].strip()
        return key

    def authenticated() -> bool:
        key = presented_key()
        return key is not None and hmac.compare_digest(key.encode(), api_key)

    @app.before_request
    def guard() -> Response | None:
        is_control = request.path.startswith(CONTROL_PREFIX)
        ok = authenticated()
        if rate_limiter is not None and not is_control:
            client = f"key:{workspace.api_key}" if ok else f"ip:{request.remote_addr}"
            decision = rate_limiter.hit(client)
            g.rate_headers = decision.headers()
            if not decision.allowed:
                body = error_body(
                    429,
                    limit=decision.limit,
                    remaining=0,
                    retryAfterSeconds=decision.retry_after_seconds,
                )
                return _json(body, 429, g.rate_headers)
        if request.routing_exception is not None:
            return None  # unknown route / wrong method: 404 / 405 whoever asks
        if is_control and request.path == "/_sandbox/health":
            return None
        if not ok:
            raise unauthorized()
        return None

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in getattr(g, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        if request.path == "/vault/tfa-code":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = {
            404: f"Cannot {request.method} {request.path}",
            405: f"Method {request.method} is not allowed on {request.path}",
            413: f"request body must be at most {MAX_BODY_BYTES} bytes",
        }.get(status, exc.description)
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return _json(error_body(status, message), status, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - defensive
        app.logger.exception("sandbox error")
        return _json(error_body(500, "Internal server error"), 500)

    # -- vault -------------------------------------------------------------------------
    @app.get("/vault")
    def list_or_get() -> Response:
        puid, domain = _query_pair()
        if puid is None and domain is None:
            return _json(vault.list_json())
        if not puid or not domain:
            raise ApiError(400, "Both permissioned_user_id and domain must be provided")
        return _json(vault.get_json(puid, domain))

    @app.post("/vault")
    def create() -> Response:
        return _json(vault.create(_body()), 201)

    @app.put("/vault")
    def update() -> Response:
        return _json(vault.update(_body()))

    @app.delete("/vault")
    def delete() -> Response:
        vault.delete(_body())
        return _json({"success": True})

    @app.patch("/vault/clear-browser-state")
    def clear_browser_state() -> Response:
        vault.clear_browser_state(_body())
        return _json({"success": True})

    @app.get("/vault/tfa-code")
    def tfa_code() -> Response:
        puid, domain = _query_pair()
        if not puid or not domain:
            raise ApiError(400, "Both permissioned_user_id and domain are required")
        result = tfa.current_code(store, workspace, puid, domain)
        return _json(result)

    # -- secret providers --------------------------------------------------------------
    @app.get("/secret-providers")
    def providers() -> Response:
        with store.read() as db:
            return _json(db.providers_json())

    @app.get("/secret-providers/<provider_id>/items")
    def provider_items(provider_id: str) -> Response:
        with store.read() as db:
            if not db.provider_exists(provider_id):
                raise ApiError(404, "Secret provider not found")
            return _json(db.provider_items_json(provider_id))

    # -- sandbox controls (authenticated, never faulted or rate limited) ----------------
    @app.get("/_sandbox/health")
    def health() -> Response:
        return _json({"status": "ok"})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body = _body()
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")
        allowed = ("kind", "method", "path", "times", "status", "body", "headers", "delay", "size")
        unknown = [f"property {k} should not exist" for k in body if k not in allowed]
        if unknown:
            raise bad_request(unknown)
        kwargs = {k: body[k] for k in allowed if k in body}
        try:
            fault = faults.add(kwargs.pop("kind", None), **kwargs)
        except (TypeError, ValueError) as exc:
            raise bad_request(str(exc)) from None
        return _json(fault.to_dict(), 201)

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        return _json(faults.list())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        return _json({"success": True, "cleared": faults.clear()})

    @app.delete("/_sandbox/rate-limits")
    def reset_rate_limits() -> Response:
        if rate_limiter is not None:
            rate_limiter.reset()
        return _json({"success": True})

    @app.post("/_sandbox/email-codes")
    def email_code() -> Response:
        body = _body()
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")
        values = {k: body.get(k) for k in ("permissioned_user_id", "domain", "code")}
        problems = [
            f"{name} must be a non-empty string"
            for name, value in values.items()
            if not isinstance(value, str) or not value.strip()
        ]
        if isinstance(values["code"], str) and len(values["code"]) > 64:
            problems.append("code must be shorter than or equal to 64 characters")
        if problems:
            raise bad_request(problems)
        puid, domain, code = values.values()
        return _json(tfa.record_email_code(store, puid, domain, code), 201)

    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults)  # type: ignore[method-assign]
    return app
