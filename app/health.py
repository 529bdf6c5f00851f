"""Liveness and readiness probes (no login; no secrets in the answers).

``/healthz`` is pure liveness. ``/readyz`` answers from a database read on every hit plus
the result of a deeper probe (a rolled-back database write and one authenticated upstream
read) that each process runs at most once per ``PROBE_SECONDS``, in the background: however
often a load balancer, or anyone, asks, the console's CloudCruise rate limit is not spent.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Engine

from app import upstream
from app.extensions import db
from app.models import ThrottleCounter, utcnow
from app.upstream_errors import UpstreamError

bp = Blueprint("health", __name__)

#: the deeper probe runs at most this often per process
PROBE_SECONDS = 30.0


class Readiness:
    """This process's last deep-probe result and when it was taken."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checks: dict[str, str] | None = None
        self.checked_at = 0.0
        self.running = False

    def current(self, app: Flask) -> dict[str, str]:
        """The latest result; a stale one starts a refresh in the background (only the very
        first is waited for)."""
        with self.lock:
            fresh = self.checks is not None and time.monotonic() - self.checked_at < PROBE_SECONDS
            start = not fresh and not self.running
            if start:
                self.running = True
            first = self.checks is None
        if start and first:
            self._refresh(app)
        elif start:
            threading.Thread(target=self._refresh, args=(app,), daemon=True).start()
        with self.lock:
            return dict(self.checks or {"upstream": "starting", "database_write": "starting"})

    def _refresh(self, app: Flask) -> None:
        try:
            with app.app_context():
                checks = {"database_write": _write_check(), "upstream": _upstream_check()}
        finally:
            with self.lock:
                self.running = False
        with self.lock:
            self.checks, self.checked_at = checks, time.monotonic()


def _engine() -> Engine:
    engine = db.engine
    assert engine is not None, "the database is bound in create_app"
    return engine


def _write_check() -> str:
    """A real write, rolled back: fails when the database cannot be written (read-only file,
    full disk, lock held for too long)."""
    try:
        with _engine().connect() as conn:
            transaction = conn.begin()
            conn.execute(
                insert(cast(Table, ThrottleCounter.__table__)).values(
                    key=f"_readyz:{uuid.uuid4().hex}", window_start=utcnow(), count=0
                )
            )
            transaction.rollback()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - report, never crash the probe
        return f"error: {type(exc).__name__}"


def _upstream_check() -> str:
    try:
        upstream.client().list_secret_providers()
        return "ok"
    except UpstreamError as exc:
        return f"error: {exc.outcome}"


def init_app(app: Flask) -> None:
    app.extensions["readiness"] = Readiness()


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks: dict[str, Any] = {}
    try:
        with _engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"error: {type(exc).__name__}"
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug proxy
    checks.update(current_app.extensions["readiness"].current(app))
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503
