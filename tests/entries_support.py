"""Helpers for entry tests: make entries through the official SDK (an independent client)."""

from __future__ import annotations

import re
from typing import Any

from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters, VaultEntryInput

from tests.conftest import unique


def sdk_for(sandbox) -> CloudCruise:
    return CloudCruise(
        CloudCruiseParams(
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            encryption_key=sandbox.encryption_key,
        )
    )


def make_entry(sandbox, **fields: Any):
    """Create an entry with the SDK and return the SDK's (decrypted) view of it."""
    data: dict[str, Any] = {
        "permissioned_user_id": unique("entry"),
        "domain": "https://portal.example-health.com",
        "user_name": "ann@example.com",
        "password": "Corr3ct-Horse!",
        "user_alias": "Ann – billing",
    }
    data.update(fields)
    return sdk_for(sandbox).vault.create(VaultEntryInput(**data))


def fetch(sandbox, pid: str, domain: str, decrypt: bool = True):
    entries = sdk_for(sandbox).vault.get(
        GetVaultEntriesFilters(permissioned_user_id=pid, domain=domain, decryptCredentials=decrypt)
    )
    return entries[0]


def csrf(client, path: str = "/entries") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def hx(client, method: str, path: str, token: str | None = None, **kwargs):
    """An htmx-style request: HX-Request header plus the CSRF header from <body>."""
    headers = {"HX-Request": "true", **kwargs.pop("headers", {})}
    if token:
        headers["X-CSRFToken"] = token
    return client.open(path, method=method, headers=headers, **kwargs)
