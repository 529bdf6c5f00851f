"""The emulated CloudCruise vault REST API as a Flask app (separate from the console)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, g, request

from . import tfa
from .common.emulator import ErrorDialect, create_emulator_app
from .common.fault_middleware import CONTROL_PREFIX
from .common.flask_json import json_response as _json
from .entries import VaultService
from .errors import ApiError, bad_request, error_body, unauthorized
from .faults import FaultInjector
from .ratelimit import RateLimiter
from .store import Store
from .workspace import Workspace

MAX_BODY_BYTES = 5 * 1024 * 1024

#: NestJS errors; validation 400s list their messages
ERRORS = ErrorDialect(
    error=ApiError,
    body=error_body,
    invalid=bad_request,
    unknown_fields=lambda names: bad_request([f"property {k} should not exist" for k in names]),
    too_large=(413, "request body must be at most {limit} bytes"),
    fault_body=False,  # faults.status_response: the NestJS body, with the 429 fields
    cleared={"success": True},
)


def _body() -> Any:
    """The JSON request body whatever its content type; empty means ``{}``."""
    return ERRORS.read_json()


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

    def authenticate() -> None:
        if not authenticated():
            raise unauthorized()

    def rate_limit() -> Response | None:
        """Counted per API key, or per remote IP without a valid one; controls are exempt."""
        if rate_limiter is None or request.path.startswith(CONTROL_PREFIX):
            return None
        client = f"key:{workspace.api_key}" if authenticated() else f"ip:{request.remote_addr}"
        decision = rate_limiter.hit(client)
        g.rate_headers = decision.headers()
        if decision.allowed:
            return None
        body = error_body(
            429, limit=decision.limit, remaining=0, retryAfterSeconds=decision.retry_after_seconds
        )
        return _json(body, 429, g.rate_headers)

    app = create_emulator_app(
        "app.sandbox",
        ERRORS,
        faults,
        max_body_bytes=MAX_BODY_BYTES,
        authenticate=authenticate,
        admit=rate_limit,
    )

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in getattr(g, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        if request.path == "/vault/tfa-code":
            response.headers["Cache-Control"] = "no-store"
        return response

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

    # -- sandbox controls beside health and faults (authenticated, never faulted or rate
    # limited) -------------------------------------------------------------------------
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
        puid, domain, code = (str(v) for v in values.values())
        return _json(tfa.record_email_code(store, puid, domain, code), 201)

    return app
