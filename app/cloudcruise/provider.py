"""CloudCruise as a provider: the console's own vault (entries, their index, the overview).

Its pages are the ``entries`` blueprint (registered by ``app/__init__.py``); its connection
is also reachable as ``app.upstream.holder()``. Wire reference: ``docs/cloudcruise-api.md``.
No Flask import at module level (the search adapter imports what it needs when called).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.cloudcruise import fields as catalogue
from app.cloudcruise.client import CloudCruiseClient
from app.cloudcruise.crypto import InvalidKeyError, validate_key
from app.cloudcruise.fields import SECRET_FIELDS as SECRETS
from app.config import ConfigError, Upstream
from app.connection import LazyConnection
from app.providers import Hit, Provider, Search, probe_status

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_BASE_URL = "https://api.cloudcruise.com"


def configure(env: Mapping[str, str]) -> Upstream:
    """``CLOUDCRUISE_API_KEY`` (none: the embedded sandbox), ``CLOUDCRUISE_BASE_URL``,
    ``CLOUDCRUISE_ENCRYPTION_KEY`` (required with a key: the console encrypts itself)."""
    api_key = env.get("CLOUDCRUISE_API_KEY", "").strip() or None
    enc_key = env.get("CLOUDCRUISE_ENCRYPTION_KEY", "").strip() or None
    base_url = (env.get("CLOUDCRUISE_BASE_URL", "").strip() or DEFAULT_BASE_URL).rstrip("/")
    if api_key:
        if not enc_key:
            raise ConfigError(
                "CLOUDCRUISE_API_KEY is set but CLOUDCRUISE_ENCRYPTION_KEY is not. The console "
                "encrypts credentials itself, so it needs the workspace encryption key "
                "(64 hex characters, from CloudCruise workspace settings → Encryption keys)."
            )
        if not base_url.startswith(("https://", "http://")):
            raise ConfigError(f"CLOUDCRUISE_BASE_URL must start with https://, got {base_url!r}.")
    if enc_key:
        try:
            validate_key(enc_key)
        except InvalidKeyError as exc:
            raise ConfigError(f"CLOUDCRUISE_ENCRYPTION_KEY: {exc}") from None
    return Upstream(
        sandbox=api_key is None,
        base_url=None if api_key is None else base_url,
        api_key=api_key,
        encryption_key=enc_key if api_key else None,
    )


class CloudCruiseConnection(LazyConnection[CloudCruiseClient]):
    """The real API with ``CLOUDCRUISE_API_KEY``; else the embedded sandbox (one per process;
    all processes share its SQLite file, ``SANDBOX_DATA``, and its keys)."""

    service = "CloudCruise"
    settings: Upstream
    #: (monotonic time, connections), set by :func:`app.services.entries.secret_providers`
    providers_cache: tuple[float, list[dict[str, Any]]]

    def __init__(self, app: Flask, settings: Upstream) -> None:
        self.sandbox_data: str = app.config["SANDBOX_DATA"]
        super().__init__(app, settings)

    def starts_emulator(self) -> bool:
        return self.settings.sandbox and not self.settings.base_url

    def _connect(self) -> CloudCruiseClient:
        s = self.settings
        if self.starts_emulator():
            from app.sandbox import start_sandbox

            box = self._started(start_sandbox(data=self.sandbox_data, host="127.0.0.1", port=0))
            base_url, api_key, enc_key = box.base_url, box.api_key, box.encryption_key
        else:
            base_url, api_key, enc_key = s.base_url, s.api_key, s.encryption_key
        assert base_url and api_key and enc_key
        return CloudCruiseClient(base_url, api_key, enc_key, **self.client_options)


def _tfa_badge(method: str) -> str:
    badge = catalogue.catalogue.badge("tfa_method", method)
    return badge.short if badge else ""


def search(q: str) -> list[Hit]:
    """Entries by alias, user id or domain, from the entries index (no upstream call)."""
    from flask import url_for

    from app.entries.listing import ListQuery, run_query
    from app.services import entry_index

    entry_index.ensure_fresh()
    rows = run_query(ListQuery(q=q, per_page=Search.LIMIT)).rows
    return [
        Hit("cloudcruise", r.alias or r.pid, f"{r.pid} · {r.host}",
            url_for("entries.detail", entry_id=r.id), _tfa_badge(r.tfa))
        for r in rows
    ]  # fmt: skip


def status(connection: CloudCruiseConnection) -> dict[str, Any]:
    info = probe_status(connection)
    configured = "configured" if not connection.is_sandbox else "sandbox key"
    info["rows"] = [*info.get("rows", []), ("Encryption key", configured)]
    return info


AUDIT_ACTIONS = {
    "entry.create": "Entry created",
    **{
        f"entry.{key}.update": f"{section.title} edited"
        for key, section in catalogue.SECTIONS.items()
        if key != "metadata"
    },
    "entry.delete": "Entry deleted",
    "entry.clear_state": "Browser state cleared",
    **{f"entry.{name}.reveal": f"{catalogue.short_label(name)} revealed" for name in SECRETS},
    "entry.tfa_code.view": "2FA code viewed",
    "entry.changed_outside": "Changed outside the console",
}

provider = Provider(
    key="cloudcruise",
    name="CloudCruise",
    configure=configure,
    connection=CloudCruiseConnection,
    key_env="CLOUDCRUISE_API_KEY",
    nav_endpoint="entries.list",
    nav_prefix="entries.",
    blueprint=None,  # the entries blueprint, registered by the app factory
    search=Search(
        "CloudCruise entries", "app.cloudcruise.provider:search", "alias, user id, domain"
    ),
    audit_actions=AUDIT_ACTIONS,
    audit_groups={"entry.": "All entry events"},
    status=status,
    primary=True,
)
