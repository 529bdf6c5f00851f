"""Work a page read hands off so the request itself writes nothing (see
docs/architecture.md#shared-state): index heals, rollback high-water marks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app

log = logging.getLogger("app.background")

_running: set[threading.Thread] = set()
_lock = threading.Lock()


def in_background(name: str, work: Callable[..., Any], *args: Any) -> threading.Thread:
    """Run ``work(*args)`` in a daemon thread with this app's context; failures are logged
    (the next sync or read repeats the work)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        try:
            with app.app_context():
                work(*args)
        except Exception:
            log.exception("background work failed", extra={"work": name})
        finally:
            with _lock:
                _running.discard(thread)

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _lock:
        _running.add(thread)
    thread.start()
    return thread


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the work handed off so far has finished (tests, graceful shutdown);
    False if some is still running after ``timeout`` seconds."""
    with _lock:
        pending = list(_running)
    for thread in pending:
        thread.join(timeout)
    with _lock:
        return not any(t.is_alive() for t in _running)
