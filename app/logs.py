"""Structured JSON logs with request ids.

Log records carry only what the code puts in them: never request bodies, form values or
upstream payloads. ``JsonFormatter`` adds the current request id and operator when there
is a request context.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            out.setdefault("request_id", getattr(g, "request_id", None))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def init_app(app: Flask) -> None:
    """JSON lines on stderr (or ``LOG_STREAM``) for the ``app`` logger tree (= ``app.logger``)."""
    handler = logging.StreamHandler(app.config.get("LOG_STREAM") or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app")
    logger.handlers.clear()
    logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger("app.access")

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _access_log(response):
        if request.endpoint == "static":
            return response
        started = getattr(g, "request_started", None)
        from flask_login import current_user

        from app.web import sent_by_htmx

        access.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                if started
                else None,
                "operator": current_user.username if current_user.is_authenticated else None,
                "htmx": sent_by_htmx(),
                "ip": request.remote_addr,
            },
        )
        return response
