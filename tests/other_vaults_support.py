"""Helpers that talk to the Qoder emulator directly, as another Qoder client would."""

from __future__ import annotations

import uuid

import requests


def _headers(box) -> dict[str, str]:
    return {"Authorization": f"Bearer {box.pat}"}


def qoder_vault_id(box, name: str) -> str:
    vaults = requests.get(
        f"{box.base_url}/vaults",
        params={"limit": 100, "include_archived": "true"},
        headers=_headers(box),
        timeout=5,
    ).json()["data"]
    return next(v["id"] for v in vaults if v["display_name"] == name)


def add_qoder_credential(box, vault_id: str) -> tuple[str, str]:
    """A fresh active credential with a unique MCP URL: ``(credential id, url)``.

    Tests that archive make their own, so the seeded ones never run out however many
    archiving tests one worker's emulator serves."""
    url = f"https://mcp.archive-{uuid.uuid4().hex[:10]}.example.com/sse"
    response = requests.post(
        f"{box.base_url}/vaults/{vault_id}/credentials",
        json={
            "mcp_server_url": url,
            "protocol": "streamable_http",
            "type": "static_bearer",
            "access_token": "tok-test-only",
        },
        headers=_headers(box),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["id"], url
