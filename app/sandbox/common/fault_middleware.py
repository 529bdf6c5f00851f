"""The WSGI wrapper that applies a queued fault before a request reaches the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from .. import faults as fault_responses
from ..faults import FaultInjector

CONTROL_PREFIX = "/_sandbox/"

RESPONDERS: dict[str, Callable[..., Iterable[bytes]]] = {
    "status": fault_responses.status_response,
    "malformed": fault_responses.malformed_response,
    "content_type": fault_responses.content_type_response,
    "oversized": fault_responses.oversized_response,
}


class FaultMiddleware:
    """Applies a pending fault before the request reaches the app (control paths exempt).

    With ``error_body``, a ``status`` fault without a body answers ``error_body(status)``
    (429 also gets ``Retry-After: 1``); without it, the CloudCruise (NestJS) body.
    """

    def __init__(
        self,
        app: Any,
        faults: FaultInjector,
        error_body: Callable[[int], Any] | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        fault = None
        if not path.startswith(CONTROL_PREFIX):
            fault = self.faults.take(environ.get("REQUEST_METHOD", "GET"), path)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "latency":
            time.sleep(fault.delay or 0)
            return self.app(environ, start_response)
        if fault.kind == "slow_read":
            return self._slow(environ, start_response, fault.delay or 0)
        if fault.kind == "drop":
            return fault_responses.drop_connection(environ, start_response)
        if fault.kind == "status" and fault.body is None and self.error_body is not None:
            status = fault.status or 500
            headers = dict(fault.headers)
            if status == 429:
                headers.setdefault("Retry-After", "1")
            fault = replace(fault, body=self.error_body(status), headers=headers)
        return RESPONDERS[fault.kind](fault, start_response)

    def _slow(self, environ: dict, start_response: Any, delay: float) -> Iterator[bytes]:
        inner = self.app(environ, start_response)
        try:
            yield b""  # werkzeug sends the status line and headers on the first write
            time.sleep(delay)
            yield from inner
        finally:
            close = getattr(inner, "close", None)
            if close:
                close()
