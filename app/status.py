"""Diagnostics for admins: where each provider points, whether it answers, clock skew; the
console database; the settings that matter.

Each provider's card comes from its status check (``Provider.status``, by default
:func:`app.providers.probe_status`). Secrets never appear: API keys only as their last four
characters, the encryption key only as "configured", database URLs without passwords.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import providers
from app.auth.session import role_required
from app.extensions import db
from app.models import Role
from app.services import audit, audit_verify
from app.web import render

bp = Blueprint("status", __name__)

#: Authenticator codes change every 30 s; beyond this the console warns (Vaultwarden uses 15 s).
SKEW_WARNING_SECONDS = providers.SKEW_WARNING_SECONDS


def _database() -> dict[str, Any]:
    info: dict[str, Any] = {"url": make_url(db.url).render_as_string(hide_password=True)}
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


def _providers() -> list[tuple[providers.Provider, dict]]:
    """Every provider with its status check's answer, in registry order."""
    return [(p, p.check(providers.connection(p.key))) for p in providers.all()]


@bp.get("/status")
@role_required(Role.ADMIN)
def index():
    cfg = current_app.config
    chain = audit_verify.page_state(audit.audit_log())  # reads only, as the audit log shows it
    return render(
        "status.html",
        providers=_providers(),
        database=_database(),
        chain=chain,
        settings={
            "Idle sign-out": f"{cfg['IDLE_TIMEOUT_SECONDS'] // 60} min",
            "Reveal window after password re-entry": f"{cfg['SUDO_SECONDS'] // 60} min",
            "Entries index sync interval": f"{cfg['SYNC_SECONDS']:g} s",
            "Secure cookies": "on" if cfg["SESSION_COOKIE_SECURE"] else "off",
            "Trusted proxies": str(cfg["TRUST_PROXY_HEADERS"]),
        },
        server_time=datetime.now(UTC),
        python=platform.python_version(),
    )
