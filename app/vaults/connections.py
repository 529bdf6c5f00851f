"""Clients for the other vault APIs operators meet: Qoder cloud vaults and r4 machine vaults.

Like CloudCruise: with ``QODER_PAT`` / ``R4_API_KEY`` set the console talks to the real API;
without, the first request that needs it starts that API's emulator on a loopback port (data
in the instance folder) and talks to it over HTTP.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from app.config import OtherVault

log = logging.getLogger("app.vaults")


class Connection:
    def __init__(self, app: Flask, name: str) -> None:
        self.name = name
        self.settings: OtherVault = app.config["OTHER_VAULTS"][name]
        self.data = Path(app.config["INSTANCE_PATH"]) / f"{name}-sandbox.db"
        self.options = {
            "connect_timeout": app.config["UPSTREAM_CONNECT_TIMEOUT"],
            "read_timeout": app.config["UPSTREAM_READ_TIMEOUT"],
            "retries": app.config["UPSTREAM_RETRIES"],
        }
        self._client: Any = None
        self._sandbox: Any = None
        self._lock = threading.Lock()

    @property
    def is_sandbox(self) -> bool:
        return self.settings.sandbox

    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        base_url, key = self.settings.base_url, self.settings.key
        if self.settings.sandbox and not key:
            self._sandbox = self._start_sandbox()
            base_url = self._sandbox.base_url
            key = self._sandbox.pat if self.name == "qoder" else self._sandbox.api_key
            log.info("embedded %s sandbox listening", self.name, extra={"base_url": base_url})
        if self.name == "qoder":
            from app.qoder.client import QoderClient

            return QoderClient(base_url, key, **self.options)
        from app.r4.client import R4Client

        return R4Client(base_url, key, **self.options)

    def _start_sandbox(self) -> Any:
        if self.name == "qoder":
            from app.sandbox.qoder import start_qoder_sandbox

            return start_qoder_sandbox(self.data, host="127.0.0.1", port=0)
        from app.sandbox.r4 import start_r4_sandbox

        return start_r4_sandbox(self.data, host="127.0.0.1", port=0)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._sandbox is not None:
            self._sandbox.stop()


def init_app(app: Flask) -> None:
    app.extensions["other_vaults"] = {name: Connection(app, name) for name in ("qoder", "r4")}


def connection(name: str) -> Connection:
    return current_app.extensions["other_vaults"][name]


def qoder() -> Any:
    return connection("qoder").client()


def r4() -> Any:
    return connection("r4").client()
