"""Helpers for the sandbox tests (imported by the test modules and conftest)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import requests

from app.cloudcruise.crypto import encrypt_value
from app.sandbox import RunningSandbox
from tests.sandbox.emulator_cli import Cli, spawn_emulator

_ids = itertools.count()


def uid(prefix: str = "agent") -> str:
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


class Api:
    """``requests`` bound to one sandbox: base URL, ``cc-key`` and a short timeout."""

    def __init__(self, base_url: str, api_key: str, encryption_key: str) -> None:
        self.base_url = base_url
        self.key = api_key
        self.encryption_key = encryption_key
        self.http = requests.Session()

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if auth:
            headers.setdefault("cc-key", self.key)
        kw.setdefault("timeout", 10)
        return self.http.request(method, self.base_url + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def enc(self, value: Any) -> str:
        return encrypt_value(value, self.encryption_key)

    def create(self, **fields: Any) -> dict[str, Any]:
        """POST an entry (fresh ids unless given); assert 201; return the response."""
        body = {"permissioned_user_id": uid(), "domain": "https://portal.example.com", **fields}
        r = self.post("/vault", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def one(self, permissioned_user_id: str, domain: str) -> requests.Response:
        params = {"permissioned_user_id": permissioned_user_id, "domain": domain}
        return self.get("/vault", params=params)


def bound(sandbox: RunningSandbox) -> Api:
    return Api(sandbox.base_url, sandbox.api_key, sandbox.encryption_key)


def spawn_cli(*args: str) -> Cli:
    """Start ``python -m app.sandbox --host 127.0.0.1 --port 0 ARGS`` and read its banner."""
    return spawn_emulator("app.sandbox", *args)
