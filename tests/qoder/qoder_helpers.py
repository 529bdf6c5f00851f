"""Helpers for the Qoder tests: a raw HTTP helper and the CLI spawner."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.emulator_cli import Cli, spawn_emulator

ID_HEX = r"[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}"
VAULT_ID_RE = rf"vault_{ID_HEX}"
CRED_ID_RE = rf"vcred_{ID_HEX}"
TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


class Raw:
    """``requests`` bound to one emulator: base URL (``…/api/v1/cloud``) and Bearer PAT."""

    def __init__(self, base_url: str, pat: str, root_url: str | None = None) -> None:
        self.base_url = base_url
        self.root_url = root_url or base_url.rsplit("/api/v1/cloud", 1)[0]
        self.pat = pat
        self.http = requests.Session()

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any):
        headers = dict(kw.pop("headers", {}))
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.pat}")
        kw.setdefault("timeout", 10)
        base = self.root_url if path.startswith("/_sandbox") else self.base_url
        return self.http.request(method, base + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any):
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, **kw: Any):
        return self.request("PATCH", path, **kw)

    def new_vault(self, name: str, credentials: list[dict] | None = None, **extra: Any) -> dict:
        body = {"display_name": name, **extra}
        if credentials is not None:
            body["credentials"] = credentials
        r = self.post("/vaults", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def new_credential(self, vault_id: str, body: dict) -> dict:
        r = self.post(f"/vaults/{vault_id}/credentials", json=body)
        assert r.status_code == 201, r.text
        return r.json()


def flat_body(url: str, token: str = "tok-secret-value", **extra: Any) -> dict[str, Any]:
    return {
        "mcp_server_url": url,
        "protocol": "streamable_http",
        "type": "static_bearer",
        "access_token": token,
        **extra,
    }


def spawn_cli(*args: str) -> Cli:
    """Start ``python -m app.sandbox.qoder --host 127.0.0.1 --port 0 ARGS``; read its banner."""
    return spawn_emulator("app.sandbox.qoder", *args)
