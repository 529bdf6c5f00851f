"""Switchable fault injection: make the next matching request(s) fail in a chosen way.

Kinds: ``status`` (answer a given status/body/headers), ``latency`` (sleep, then serve
normally), ``malformed`` (200, JSON content type, body that is not JSON),
``content_type`` (200 HTML page), ``oversized`` (200 JSON of ``size`` bytes), ``drop``
(close the connection without a response), ``slow_read`` (headers at once, body after
``delay`` seconds). Faults are consumed in the order they were added.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import error_body

KINDS = ("status", "latency", "malformed", "content_type", "oversized", "drop", "slow_read")
DEFAULT_OVERSIZE = 20 * 1024 * 1024
MAX_DELAY = 600.0
_CHUNK = 1 << 16


@dataclass
class Fault:
    id: int
    kind: str
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    size: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method.upper()) and (
            self.path is None or self.path == path
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(name: str, value: Any, *, integer: bool = False, minimum: float = 0) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}")
    if value < minimum:
        raise ValueError(f"{name} must not be less than {minimum:g}")
    return value


class FaultInjector:
    """Thread-safe list of pending faults, shared by the app and its controller (tests)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float | None = None,
        size: int | None = None,
    ) -> Fault:
        """Queue a fault; ``times=None`` keeps it until :meth:`clear`. Raises ValueError."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of the following values: {', '.join(KINDS)}")
        if method is not None and not isinstance(method, str):
            raise ValueError("method must be a string")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError("path must be a string starting with /")
        _number("times", times, integer=True, minimum=1)
        _number("status", status, integer=True, minimum=100)
        _number("delay", delay)
        _number("size", size, integer=True)
        if status is not None and status > 599:
            raise ValueError("status must not be greater than 599")
        if delay is not None and delay > MAX_DELAY:
            raise ValueError(f"delay must not be greater than {MAX_DELAY:g}")
        if kind == "status" and status is None:
            raise ValueError("status is required for a status fault")
        if kind in ("latency", "slow_read") and delay is None:
            raise ValueError(f"delay is required for a {kind} fault")
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise ValueError("headers must be an object of strings")
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            method=method.upper() if method else None,
            path=path,
            times=times,
            status=status,
            body=body,
            headers=dict(headers or {}),
            delay=delay,
            size=size,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> int:
        with self._lock:
            count, self._faults = len(self._faults), []
        return count

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


# -- WSGI responses for each kind -------------------------------------------------------
def _start(start_response: Any, status: int, ctype: str, length: int, extra: dict) -> None:
    from .errors import reason

    headers = [
        ("Content-Type", ctype),
        ("Content-Length", str(length)),
        ("Cache-Control", "no-store"),
    ]
    headers += list(extra.items())
    start_response(f"{status} {reason(status)}", headers)


def status_response(fault: Fault, start_response: Any) -> list[bytes]:
    status = fault.status or 500
    headers = dict(fault.headers)
    body = fault.body
    if body is None:
        body = error_body(status)
        if status == 429:
            retry = headers.setdefault("Retry-After", "1")
            body.update(
                limit=500, remaining=0, retryAfterSeconds=int(retry) if retry.isdigit() else 1
            )
    payload = json.dumps(body).encode()
    _start(start_response, status, "application/json", len(payload), headers)
    return [payload]


def malformed_response(fault: Fault, start_response: Any) -> list[bytes]:
    payload = b'{"id": "3f2c9a1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "permissioned_user_id": "bil'
    _start(start_response, 200, "application/json", len(payload), fault.headers)
    return [payload]


def content_type_response(fault: Fault, start_response: Any) -> list[bytes]:
    payload = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>"
    )
    _start(start_response, 200, "text/html; charset=utf-8", len(payload), fault.headers)
    return [payload]


def oversized_response(fault: Fault, start_response: Any) -> Iterator[bytes]:
    size = max(fault.size if fault.size is not None else DEFAULT_OVERSIZE, 2)
    _start(start_response, 200, "application/json", size, fault.headers)
    if size < 4:
        return iter([b"[]" + b" " * (size - 2)])

    def body() -> Iterator[bytes]:
        yield b'["'
        left = size - 4
        chunk = b"x" * _CHUNK
        while left > 0:
            yield chunk[: min(left, _CHUNK)]
            left -= _CHUNK
        yield b'"]'

    return body()


def drop_connection(environ: dict, start_response: Any) -> list[bytes]:
    """Shut the socket down before anything is written; the client sees a reset/EOF."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    start_response("500 Internal Server Error", [("Content-Length", "0")])
    return []


def slow_read_response(fault: Fault, start_response: Any) -> Iterator[bytes]:
    payload = b"[]"
    _start(start_response, 200, "application/json", len(payload), fault.headers)

    def body() -> Iterator[bytes]:
        yield b""  # werkzeug sends the status line and headers on the first write
        time.sleep(fault.delay or 0)
        yield payload

    return body()
