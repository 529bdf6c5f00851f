"""r4 machine vaults as a provider: vaults with their zero-trust status, items, item detail
(read-only). Wire reference: ``docs/r4-api.md``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config import OtherVault, keyed_settings
from app.connection import KeyedConnection
from app.providers import Provider, Search

DEFAULT_BASE_URL = "https://r4.dev/api/v1/machine"


def configure(env: Mapping[str, str]) -> OtherVault:
    """``R4_API_KEY`` (none: the emulator) and ``R4_BASE_URL``."""
    return keyed_settings(env, "R4_API_KEY", "R4_BASE_URL", DEFAULT_BASE_URL)


class R4Connection(KeyedConnection):
    name, service = "r4", "r4"

    def _start_sandbox(self) -> tuple[str, str]:
        from app.sandbox.r4 import start_r4_sandbox

        box = self._started(start_r4_sandbox(self.data, host="127.0.0.1", port=0))
        return box.base_url, box.api_key

    def _make_client(self, base_url: str, key: str) -> Any:
        from app.r4.client import R4Client

        return R4Client(base_url, key, **self.client_options)


provider = Provider(
    key="r4",
    name="r4",
    configure=configure,
    connection=R4Connection,
    key_env="R4_API_KEY",
    nav_endpoint="r4.index",
    nav_prefix="r4.",
    blueprint="app.r4.views:bp",
    search=Search("r4 items", "app.r4.views:search", "name, website"),
    compare="app.r4.compare:adapter",
    audit_actions={"r4.compare.export": "r4 vault comparison exported"},
    audit_groups={"r4.": "All r4 events"},
)
