"""Structured JSON logs with request ids, and a short text form for a person at a terminal.

Log records carry only what the code puts in them: never request bodies, form values or
upstream payloads. ``JsonFormatter`` adds the current request id and operator when there
is a request context.

Two formats (``VAULT_CONSOLE_LOG_FORMAT``, or ``LOG_FORMAT`` in the Flask config):

* ``json``: every record as a JSON line on stderr (or ``LOG_STREAM``), for a log shipper.
  The default under gunicorn (the Procfile), and wherever stderr is not a terminal.
* ``text``: the same JSON lines go to ``console.log`` in the instance folder (``LOG_FILE``
  to choose another file), and the terminal gets one short line per request (time, method,
  path, status, ms) and per warning or error. ``make run`` sets it; it is also the default
  of ``flask`` commands typed at a terminal.

Tests (``TESTING``) ignore the environment variable: JSON unless their config says otherwise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import Flask, g, has_request_context, request

FORMATS = ("json", "text")
LOG_FILE_NAME = "console.log"
ACCESS = "app.access"

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


class TextFormatter(logging.Formatter):
    """One short line: ``14:02:11 GET /entries 200 12.3 ms`` for a request, else
    ``14:02:11 WARNING app.errors: message`` (the exception's last line, not its traceback,
    which is in the JSON log file)."""

    def format(self, record: logging.LogRecord) -> str:
        at = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = record.__dict__
        if record.name == ACCESS and "status" in fields:
            took = fields.get("duration_ms")
            ms = f" {took} ms" if took is not None else ""
            return f"{at} {fields['method']} {fields['path']} {fields['status']}{ms}"
        line = f"{at} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += f" ({type(exc).__name__}: {exc})" if str(exc) else f" ({type(exc).__name__})"
        return line


def _for_the_terminal(record: logging.LogRecord) -> bool:
    return record.name == ACCESS or record.levelno >= logging.WARNING


def log_format(app: Flask, stream: IO[str]) -> str:
    """``json`` or ``text``: the config's ``LOG_FORMAT``, else (outside tests) the environment's
    ``VAULT_CONSOLE_LOG_FORMAT``, else json under gunicorn or without a terminal, else text."""
    chosen = app.config.get("LOG_FORMAT") or (
        "" if app.testing else os.environ.get("VAULT_CONSOLE_LOG_FORMAT", "")
    )
    chosen = chosen.strip().lower()
    if chosen in FORMATS:
        return chosen
    if chosen:
        # one line on the stream, then the default: a typo must not stop the console
        stream.write(f"VAULT_CONSOLE_LOG_FORMAT={chosen!r} is not json or text; using json.\n")
        return "json"
    if "gunicorn" in sys.modules:
        return "json"
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no file behind it, or closed
        return "json"


def _private(path: Path) -> None:
    """Create the log file readable by its owner only, like the rest of the instance folder
    (it names operators and their IP addresses)."""
    with contextlib.suppress(OSError):  # the handler reports it at its first record
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))


def init_app(app: Flask) -> None:
    """Handlers for the ``app`` logger tree (= ``app.logger``) in the chosen format."""
    stream = app.config.get("LOG_STREAM") or sys.stderr
    logger = logging.getLogger("app")
    for old in list(logger.handlers):  # an earlier app of this process (tests make many)
        logger.removeHandler(old)
        old.close()
    terminal = logging.StreamHandler(stream)
    if log_format(app, stream) == "text":
        path = Path(app.config.get("LOG_FILE") or Path(app.instance_path) / LOG_FILE_NAME)
        _private(path)
        # WatchedFileHandler reopens the file after logrotate moves it
        to_file = logging.handlers.WatchedFileHandler(path, encoding="utf-8", delay=True)
        to_file.setFormatter(JsonFormatter())
        logger.addHandler(to_file)
        terminal.setFormatter(TextFormatter())
        terminal.addFilter(_for_the_terminal)
    else:
        terminal.setFormatter(JsonFormatter())
    logger.addHandler(terminal)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger(ACCESS)

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
