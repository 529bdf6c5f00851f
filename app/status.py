"""Diagnostics for admins: where the console points, whether it can reach it, clock skew.

Secrets never appear: the API key only as its last four characters, the encryption key only
as "configured", database URLs without passwords.
"""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime

import requests
from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import upstream
from app.auth.session import role_required
from app.extensions import db
from app.models import Role
from app.services import audit, audit_chain
from app.web import render

bp = Blueprint("status", __name__)

#: Authenticator codes change every 30 s; beyond this the console warns (Vaultwarden uses 15 s).
SKEW_WARNING_SECONDS = 15


def _database() -> dict:
    info = {"url": make_url(db.url).render_as_string(hide_password=True)}
    try:
        with db.engine.begin() as conn:  # type: ignore[union-attr]
            info["revision"] = conn.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()
            info["events"] = conn.execute(text("SELECT COUNT(*) FROM audit_events")).scalar()
        info["ok"] = True
    except Exception as exc:  # noqa: BLE001 - shown, never raised
        info.update(ok=False, error=type(exc).__name__)
    return info


def _upstream() -> dict:
    holder = upstream.holder()
    info = {"sandbox": holder.is_sandbox}
    try:
        client = holder.client()
        info.update(base_url=client.base_url, key_hint=client.key_hint)
        before = time.time()
        probe = client.probe()
        after = time.time()
    except requests.RequestException as exc:
        info.update(ok=False, error=f"not reachable ({type(exc).__name__})")
        return info
    info.update(ok=probe["status"] == 200, status=probe["status"], latency_ms=probe["latency_ms"])
    if probe["status"] in (401, 403):
        info["error"] = "the API key was rejected"
    if probe["server_time"] is not None:
        midpoint = datetime.fromtimestamp((before + after) / 2, UTC)
        skew = (probe["server_time"] - midpoint).total_seconds()
        info.update(skew=skew, skew_warning=abs(skew) > SKEW_WARNING_SECONDS)
    return info


@bp.get("/status")
@role_required(Role.ADMIN)
def index():
    cfg = current_app.config
    chain, _ = audit_chain.verify_and_checkpoint(audit.audit_log())
    return render(
        "status.html",
        upstream=_upstream(),
        database=_database(),
        chain=chain,
        settings={
            "Idle sign-out": f"{cfg['IDLE_TIMEOUT_SECONDS'] // 60} min",
            "Reveal window after password re-entry": f"{cfg['SUDO_SECONDS'] // 60} min",
            "Entries index sync interval": f"{cfg['SYNC_SECONDS']:g} s",
            "Secure cookies": "on" if cfg["SESSION_COOKIE_SECURE"] else "off",
            "Trusted proxies": str(cfg["TRUST_PROXY_HEADERS"]),
            "Encryption key": "configured" if not upstream.holder().is_sandbox else "sandbox key",
        },
        server_time=datetime.now(UTC),
        python=platform.python_version(),
    )
