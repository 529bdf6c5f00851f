"""Liveness and readiness probes (no login; no secrets in the answers)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app import upstream
from app.cloudcruise import CloudCruiseError
from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        with db.engine.begin() as conn:  # type: ignore[union-attr]
            conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS _ready_probe (x INTEGER)"))
            conn.execute(text("INSERT INTO _ready_probe VALUES (1)"))
            conn.execute(text("DELETE FROM _ready_probe"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never crash the probe
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        upstream.client().list_secret_providers()
        checks["upstream"] = "ok"
    except CloudCruiseError as exc:
        checks["upstream"] = f"error: {exc.outcome}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503
