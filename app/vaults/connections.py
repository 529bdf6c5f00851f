"""Clients for the other vault APIs operators meet: Qoder cloud vaults and r4 machine vaults.

Like CloudCruise (:mod:`app.connection`): with ``QODER_PAT`` / ``R4_API_KEY`` set the console
talks to the real API; without, the first request that needs it starts that API's emulator on
a loopback port (data in the instance folder) and talks to it over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app

from app.config import OtherVault
from app.connection import LazyConnection


class Connection(LazyConnection[Any]):
    name = ""

    def __init__(self, app: Flask) -> None:
        self.settings: OtherVault = app.config["OTHER_VAULTS"][self.name]
        self.data = Path(app.config["INSTANCE_PATH"]) / f"{self.name}-sandbox.db"
        super().__init__(app, sandbox=self.settings.sandbox)

    def _connect(self) -> Any:
        base_url, key = self.settings.base_url, self.settings.key
        if self.settings.sandbox and not key:
            base_url, key = self._start_sandbox()
        return self._make_client(base_url, key)

    def _start_sandbox(self) -> tuple[str, str]:
        raise NotImplementedError

    def _make_client(self, base_url: str, key: str) -> Any:
        raise NotImplementedError


class QoderConnection(Connection):
    name, service = "qoder", "Qoder"

    def _start_sandbox(self) -> tuple[str, str]:
        from app.sandbox.qoder import start_qoder_sandbox

        box = self._started(start_qoder_sandbox(self.data, host="127.0.0.1", port=0))
        return box.base_url, box.pat

    def _make_client(self, base_url: str, key: str) -> Any:
        from app.qoder.client import QoderClient

        return QoderClient(base_url, key, **self.client_options)


class R4Connection(Connection):
    name, service = "r4", "r4"

    def _start_sandbox(self) -> tuple[str, str]:
        from app.sandbox.r4 import start_r4_sandbox

        box = self._started(start_r4_sandbox(self.data, host="127.0.0.1", port=0))
        return box.base_url, box.api_key

    def _make_client(self, base_url: str, key: str) -> Any:
        from app.r4.client import R4Client

        return R4Client(base_url, key, **self.client_options)


def init_app(app: Flask) -> None:
    app.extensions["other_vaults"] = {c.name: c(app) for c in (QoderConnection, R4Connection)}


def connection(name: str) -> Connection:
    return current_app.extensions["other_vaults"][name]


def qoder() -> Any:
    return connection("qoder").client()


def r4() -> Any:
    return connection("r4").client()
