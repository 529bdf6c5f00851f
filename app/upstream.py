"""The CloudCruise client this process uses, and the embedded sandbox behind it.

With ``CLOUDCRUISE_API_KEY`` set the client talks to the real API. Without it, the first
request that needs the API starts the embedded sandbox on a loopback port (one per process;
all processes share its SQLite file and keys) and the client talks to that, over HTTP, exactly
as it would to CloudCruise. Starting lazily keeps CLI commands from spinning up a server.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app

from app.cloudcruise import CloudCruiseClient
from app.config import Upstream

log = logging.getLogger("app.upstream")


class UpstreamHolder:
    def __init__(self, app: Flask) -> None:
        self.settings: Upstream = app.config["UPSTREAM"]
        self.sandbox_data: str = app.config["SANDBOX_DATA"]
        self.client_options = {
            "connect_timeout": app.config["UPSTREAM_CONNECT_TIMEOUT"],
            "read_timeout": app.config["UPSTREAM_READ_TIMEOUT"],
            "retries": app.config["UPSTREAM_RETRIES"],
            "max_response_bytes": app.config["UPSTREAM_MAX_RESPONSE_BYTES"],
        }
        self._client: CloudCruiseClient | None = None
        self._sandbox: Any = None
        self._lock = threading.Lock()

    @property
    def is_sandbox(self) -> bool:
        return self.settings.sandbox

    def client(self) -> CloudCruiseClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> CloudCruiseClient:
        s = self.settings
        if s.sandbox and not s.base_url:
            from app.sandbox import start_sandbox

            self._sandbox = start_sandbox(data=self.sandbox_data, host="127.0.0.1", port=0)
            log.info("embedded sandbox listening", extra={"base_url": self._sandbox.base_url})
            base_url = self._sandbox.base_url
            api_key = self._sandbox.api_key
            enc_key = self._sandbox.encryption_key
        else:
            base_url, api_key, enc_key = s.base_url, s.api_key, s.encryption_key
        assert base_url and api_key and enc_key
        return CloudCruiseClient(base_url, api_key, enc_key, **self.client_options)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._sandbox is not None:
            self._sandbox.stop()


def init_app(app: Flask) -> None:
    holder = UpstreamHolder(app)
    app.extensions["upstream"] = holder

    @app.context_processor
    def _upstream_context() -> dict[str, Any]:
        names = ["CloudCruise"] if holder.is_sandbox else []
        others = app.extensions.get("other_vaults", {})
        names += [label for key, label in (("qoder", "Qoder"), ("r4", "r4"))
                  if key in others and others[key].is_sandbox]  # fmt: skip
        return {"sandbox_mode": holder.is_sandbox, "sandboxes": names}


def holder() -> UpstreamHolder:
    return current_app.extensions["upstream"]


def client() -> CloudCruiseClient:
    return holder().client()
