"""One upstream client per process, made on first use (CloudCruise, Qoder and r4 alike).

With the service's key configured the client talks to the real API. Without it, the first
request that needs the API starts that service's emulator on a loopback port and the client
talks to it over HTTP, exactly as it would to the real service. Starting lazily keeps CLI
commands from spinning up servers they never use.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Generic, TypeVar

from flask import Flask

log = logging.getLogger("app.upstream")

C = TypeVar("C")


def client_options(app: Flask) -> dict[str, Any]:
    """The transport settings every upstream client takes from the configuration."""
    return {
        "connect_timeout": app.config["UPSTREAM_CONNECT_TIMEOUT"],
        "read_timeout": app.config["UPSTREAM_READ_TIMEOUT"],
        "retries": app.config["UPSTREAM_RETRIES"],
        "max_response_bytes": app.config["UPSTREAM_MAX_RESPONSE_BYTES"],
    }


class LazyConnection(Generic[C]):
    """Subclasses say how to start the emulator and how to build the client."""

    service = "API"

    def __init__(self, app: Flask, *, sandbox: bool) -> None:
        self.is_sandbox = sandbox
        self.client_options = client_options(app)
        self._client: C | None = None
        self._sandbox: Any = None
        self._lock = threading.Lock()

    def client(self) -> C:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> C:
        raise NotImplementedError

    def _started(self, sandbox: Any) -> Any:
        """Remember an emulator this connection started (stopped again by :meth:`close`)."""
        self._sandbox = sandbox
        log.info("embedded %s sandbox up", self.service, extra={"base_url": sandbox.base_url})
        return sandbox

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._sandbox is not None:
            self._sandbox.stop()
