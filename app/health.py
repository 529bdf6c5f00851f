"""Liveness and readiness probes (no login; no secrets in the answers)."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify
from sqlalchemy import insert

from app import upstream
from app.cloudcruise import CloudCruiseError
from app.models import ThrottleCounter, utcnow
from app.services import audit

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        # a real write, rolled back: fails when the database cannot be written (read-only
        # file, full disk, lock held for too long)
        with audit.audit_log().engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(
                insert(ThrottleCounter.__table__).values(
                    key=f"_readyz:{uuid.uuid4().hex}", window_start=utcnow(), count=0
                )
            )
            transaction.rollback()
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
