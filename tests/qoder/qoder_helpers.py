"""Helpers for the Qoder tests: a raw HTTP helper and the CLI spawner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]

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


@dataclass
class Cli:
    proc: subprocess.Popen
    stdout: str
    stderr: str
    values: dict[str, str] = field(default_factory=dict)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()


def spawn_cli(*args: str) -> Cli:
    """Start ``python -m app.sandbox.qoder --host 127.0.0.1 --port 0 ARGS``; read its banner
    (stdout is flushed before the "serving" line goes to stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox.qoder", "--host", "127.0.0.1", "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    stderr = proc.stderr.readline()
    if "serving" not in stderr:
        out, err = proc.communicate(timeout=10)
        return Cli(proc, out, stderr + err)
    os.set_blocking(proc.stdout.fileno(), False)
    stdout = proc.stdout.read() or ""
    values = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    return Cli(proc, stdout, stderr, values)
