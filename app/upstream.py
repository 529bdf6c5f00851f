"""The CloudCruise client this process uses, and the embedded sandbox behind it.

With ``CLOUDCRUISE_API_KEY`` set the client talks to the real API; without it, the embedded
sandbox (one per process; all processes share its SQLite file and keys). See
:mod:`app.connection` for how the connection is made.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from app.cloudcruise import CloudCruiseClient
from app.config import Upstream
from app.connection import LazyConnection


class UpstreamHolder(LazyConnection[CloudCruiseClient]):
    service = "CloudCruise"

    def __init__(self, app: Flask) -> None:
        self.settings: Upstream = app.config["UPSTREAM"]
        self.sandbox_data: str = app.config["SANDBOX_DATA"]
        super().__init__(app, sandbox=self.settings.sandbox)

    def _connect(self) -> CloudCruiseClient:
        s = self.settings
        if s.sandbox and not s.base_url:
            from app.sandbox import start_sandbox

            box = self._started(start_sandbox(data=self.sandbox_data, host="127.0.0.1", port=0))
            base_url, api_key, enc_key = box.base_url, box.api_key, box.encryption_key
        else:
            base_url, api_key, enc_key = s.base_url, s.api_key, s.encryption_key
        assert base_url and api_key and enc_key
        return CloudCruiseClient(base_url, api_key, enc_key, **self.client_options)


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
