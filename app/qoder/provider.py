"""Qoder cloud vaults as a provider: vaults and their credentials; archive and token rotation
for editors. Wire reference: ``docs/qoder-api.md``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config import OtherVault, keyed_settings
from app.connection import KeyedConnection
from app.providers import Provider, Search

DEFAULT_BASE_URL = "https://api.qoder.com/api/v1/cloud"


def configure(env: Mapping[str, str]) -> OtherVault:
    """``QODER_PAT`` (none: the emulator), ``QODER_BASE_URL``, ``QODER_WORKSPACE_ID`` (sent
    as the ``qoder-workspace-id`` header, for a token that reaches several workspaces)."""
    workspace = env.get("QODER_WORKSPACE_ID", "").strip()
    return keyed_settings(
        env, "QODER_PAT", "QODER_BASE_URL", DEFAULT_BASE_URL, {"workspace_id": workspace}
    )


class QoderConnection(KeyedConnection):
    name, service = "qoder", "Qoder"

    def _start_sandbox(self) -> tuple[str, str]:
        from app.sandbox.qoder import start_qoder_sandbox

        box = self._started(start_qoder_sandbox(self.data, host="127.0.0.1", port=0))
        return box.base_url, box.pat

    def _make_client(self, base_url: str, key: str) -> Any:
        from app.qoder.client import QoderClient

        workspace = self.settings.options.get("workspace_id")
        return QoderClient(base_url, key, workspace_id=workspace, **self.client_options)


provider = Provider(
    key="qoder",
    name="Qoder",
    configure=configure,
    connection=QoderConnection,
    key_env="QODER_PAT",
    nav_endpoint="qoder.index",
    nav_prefix="qoder.",
    blueprint="app.qoder.views:bp",
    search=Search("Qoder credentials", "app.qoder.views:search", "MCP server URL"),
    audit_actions={
        "qoder.credential.archive": "Qoder credential archived",
        "qoder.credential.rotate": "Qoder credential token rotated",
        "qoder.compare.export": "Qoder vault comparison exported",
    },
    audit_groups={"qoder.": "All Qoder events"},
    compare="app.qoder.compare:adapter",
)
