"""One upstream client per process and provider, made on first use.

With the provider's key configured the client talks to the real API. Without it, the first
request that needs the API starts that provider's emulator on a loopback port and the
client talks to it over HTTP, exactly as it would to the real service. Starting lazily keeps
CLI commands from spinning up servers they never use.

Each provider subclasses :class:`LazyConnection` (or :class:`KeyedConnection`, for an API
reached with one key) in its own package and names it in its declaration
(:class:`app.providers.Provider`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from flask import Flask

    from app.config import OtherVault

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
    """Subclasses say how to start the emulator and how to build the client.

    ``settings`` are the provider's validated settings (``settings.sandbox``: no key is
    configured, so the console works against an emulator)."""

    service = "API"

    def __init__(self, app: Flask, settings: Any) -> None:
        self.settings = settings
        self.is_sandbox: bool = bool(settings.sandbox)
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

    @property
    def connected(self) -> bool:
        return self._client is not None

    def starts_emulator(self) -> bool:
        """True when connecting would start an embedded emulator (no address configured)."""
        return False

    def _connect(self) -> C:
        raise NotImplementedError

    def _started(self, sandbox: Any) -> Any:
        """Remember an emulator this connection started (stopped again by :meth:`close`)."""
        self._sandbox = sandbox
        log.info("embedded %s sandbox up", self.service, extra={"base_url": sandbox.base_url})
        return sandbox

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[attr-defined]  # every client has close()
        if self._sandbox is not None:
            self._sandbox.stop()


class KeyedConnection(LazyConnection[Any]):
    """A provider reached with one key (:class:`app.config.OtherVault` settings). Without
    the key, its emulator is started with its data in the instance folder
    (``<name>-sandbox.db``); with ``sandbox`` and a key, an emulator already running at
    ``base_url`` (tests)."""

    name = ""
    settings: OtherVault

    def __init__(self, app: Flask, settings: OtherVault) -> None:
        self.data = Path(app.config["INSTANCE_PATH"]) / f"{self.name}-sandbox.db"
        super().__init__(app, settings)

    def starts_emulator(self) -> bool:
        return self.settings.sandbox and not self.settings.key

    def _connect(self) -> Any:
        base_url, key = self.settings.base_url, self.settings.key
        if self.starts_emulator():
            base_url, key = self._start_sandbox()
        assert base_url and key
        return self._make_client(base_url, key)

    def _start_sandbox(self) -> tuple[str, str]:
        """Start the emulator (``self._started(...)``); its ``(base URL, key)``."""
        raise NotImplementedError

    def _make_client(self, base_url: str, key: str) -> Any:
        raise NotImplementedError
