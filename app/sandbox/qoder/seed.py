"""Deterministic seed: 8 vaults (one archived, one empty) and 80 credentials.

Everything (IDs, names, timestamps) is a pure function of the tables below, so two
stores seeded anywhere hold the same data. Timestamps lie between 2026-03-02 and
2026-04-30 (UTC); the store's clock is advanced past them, so later creations are newer.

* "Engineering MCP": 46 credentials, 4 archived (42 listed by default: 3 pages at 20);
* "Revenue Cycle": 6 (1 archived); "Clinical Operations": 5, two of them
  ``environment_variable``; "Support Desk": 3; "Legacy Integrations" (archived vault): 2
  (1 archived); "Staging Playground": none.
* Every third credential is ``mcp_oauth`` (some with a refresh block), the rest
  ``static_bearer``; URLs ending in ``/sse`` use protocol ``sse``.
* The compare pair "Production MCP" (9 credentials) and "Staging MCP" (9, 1 archived),
  the newest vaults: their type and protocol are set per credential (COMPARE_VAULTS), and
  they hold the differences listed in MCP_ONLY_A, MCP_ONLY_B, MCP_SAME and MCP_CHANGED.

:func:`vault_id` gives a seeded vault's id by display name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from .resources import _digest
from .store import CREDENTIAL_PREFIX, VAULT_PREFIX, Store, format_us, make_id, parse_rfc3339

BASE_US = parse_rfc3339("2026-03-02T09:00:00Z")
HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
INTERNAL = "https://mcp.internal.acme-health.com/"

PUBLIC_SERVERS = [
    "https://mcp.linear.app/sse",
    "https://mcp.notion.com/mcp",
    "https://api.githubcopilot.com/mcp/",
    "https://mcp.sentry.dev/mcp",
    "https://mcp.atlassian.com/v1/sse",
    "https://mcp.stripe.com/",
    "https://mcp.asana.com/sse",
    "https://mcp.intercom.com/mcp",
    "https://mcp.zapier.com/api/mcp/mcp",
    "https://docs.mcp.cloudflare.com/sse",
    "https://mcp.supabase.com/mcp",
    "https://mcp.vercel.com/",
    "https://mcp.neon.tech/mcp",
    "https://mcp.paypal.com/sse",
    "https://mcp.squareup.com/sse",
    "https://mcp.webflow.com/sse",
    "https://mcp.figma.com/mcp",
    "https://mcp.canva.com/mcp",
    "https://huggingface.co/mcp",
    "https://mcp.context7.com/mcp",
]
INTERNAL_SERVICES = [
    "billing", "claims", "eligibility", "prior-auth", "scheduling", "patients",
    "pharmacy", "lab-results", "imaging", "referrals", "payroll", "inventory",
    "audit-log", "feature-flags", "deployments", "on-call", "metrics", "logs",
    "tracing", "search", "notifications", "identity", "documents", "analytics",
    "warehouse", "fhir-gateway",
]  # fmt: skip

#: (display name, metadata, created day offset, archived day offset or None, credentials)
#: a credential is (target, archived day offset or None); a target that is not a URL is
#: an environment variable name.
VAULTS: list[tuple[str, dict[str, str], int, int | None, list[tuple[str, int | None]]]] = [
    (
        "Engineering MCP",
        {"team": "platform", "env": "prod"},
        0,
        None,
        [
            (url, 40 if i in (4, 17, 29, 40) else None)
            for i, url in enumerate(PUBLIC_SERVERS + [INTERNAL + s for s in INTERNAL_SERVICES])
        ],
    ),
    (
        "Legacy Integrations",
        {"team": "platform", "env": "legacy"},
        1,
        45,
        [(INTERNAL + "legacy-soap-bridge", 30), ("https://mcp.atlassian.com/v1/sse", None)],
    ),
    (
        "Revenue Cycle",
        {"team": "rcm", "env": "prod"},
        3,
        None,
        [
            (INTERNAL + "billing", None),
            (INTERNAL + "claims", None),
            (INTERNAL + "remittance", 35),
            ("https://mcp.stripe.com/", None),
            ("https://mcp.notion.com/mcp", None),
            ("https://mcp.linear.app/sse", None),
        ],
    ),
    (
        "Clinical Operations",
        {"team": "clinical", "env": "prod"},
        7,
        None,
        [
            (INTERNAL + "ehr", None),
            (INTERNAL + "scheduling", None),
            ("https://mcp.atlassian.com/v1/sse", None),
            ("EHR_API_KEY", None),
            ("PAGERDUTY_TOKEN", None),
        ],
    ),
    (
        "Support Desk",
        {"team": "support"},
        12,
        None,
        [
            ("https://mcp.intercom.com/mcp", None),
            ("https://mcp.linear.app/sse", None),
            ("https://mcp.notion.com/mcp", None),
        ],
    ),
    ("Staging Playground", {"env": "staging"}, 20, None, []),
]


class CredentialSpec(NamedTuple):
    """A credential of the compare pair; VAULTS uses plain ``(target, archived day)``."""

    target: str
    archived_day: int | None = None
    #: the auth type; None: every third credential is ``mcp_oauth``
    type: str | None = None
    #: None: ``sse`` when the URL ends in ``/sse``, else ``streamable_http``
    protocol: str | None = None


#: the compare pair (side A, side B): credentials are matched by their MCP server URL,
#: normalised (scheme and host lower-cased, default port and trailing slash dropped)
PRODUCTION_MCP = "Production MCP"
STAGING_MCP = "Staging MCP"
BEARER, OAUTH, SSE, HTTP = "static_bearer", "mcp_oauth", "sse", "streamable_http"
COMPARE_VAULTS: list[tuple[str, dict[str, str], int, int | None, list[CredentialSpec]]] = [
    (
        PRODUCTION_MCP,
        {"team": "platform", "env": "prod"},
        24,
        None,
        [
            CredentialSpec("https://mcp.linear.app/sse", None, BEARER, SSE),
            CredentialSpec("https://mcp.notion.com/mcp", None, OAUTH, HTTP),
            CredentialSpec("https://mcp.sentry.dev/mcp", None, BEARER, HTTP),
            CredentialSpec("http://mcp.lab.example.com:80/tools", None, BEARER, HTTP),
            CredentialSpec("https://mcp.stripe.com/", None, BEARER, HTTP),
            CredentialSpec("https://mcp.paypal.com/sse", None, OAUTH, SSE),
            CredentialSpec("https://mcp.atlassian.com/v1/sse", None, OAUTH, SSE),
            CredentialSpec("https://mcp.zapier.com/api/mcp/mcp", None, BEARER, HTTP),
            CredentialSpec("https://mcp.intercom.com/mcp", None, BEARER, HTTP),
        ],
    ),
    (
        STAGING_MCP,
        {"team": "platform", "env": "staging"},
        25,
        None,
        [
            CredentialSpec("https://mcp.intercom.com/mcp", 40, BEARER, HTTP),
            CredentialSpec("https://mcp.zapier.com/api/mcp/mcp", None, BEARER, SSE),
            CredentialSpec("https://mcp.atlassian.com/v1/sse", None, BEARER, SSE),
            CredentialSpec("https://mcp.supabase.com/mcp", None, BEARER, HTTP),
            CredentialSpec("https://mcp.neon.tech/mcp", None, OAUTH, HTTP),
            CredentialSpec("http://MCP.Lab.Example.com/tools/", None, BEARER, HTTP),
            CredentialSpec("https://mcp.sentry.dev/mcp", None, BEARER, HTTP),
            CredentialSpec("https://mcp.notion.com/mcp/", None, OAUTH, HTTP),
            CredentialSpec("HTTPS://MCP.Linear.app:443/sse/", None, BEARER, SSE),
        ],
    ),
]
#: a vault of VAULTS or COMPARE_VAULTS
SeedVault = tuple[
    str, dict[str, str], int, int | None, Sequence[tuple[str, int | None] | CredentialSpec]
]
# What comparing Production MCP (A) with Staging MCP (B) must find, keyed by normalised URL.
MCP_ONLY_A = ["https://mcp.stripe.com", "https://mcp.paypal.com/sse"]
MCP_ONLY_B = ["https://mcp.supabase.com/mcp", "https://mcp.neon.tech/mcp"]
#: in both and alike; all but Sentry are written differently on the two sides
MCP_SAME = [
    "https://mcp.linear.app/sse",
    "https://mcp.notion.com/mcp",
    "https://mcp.sentry.dev/mcp",
    "http://mcp.lab.example.com/tools",
]
#: in both, exactly one attribute differs (the compare page's attribute names)
MCP_CHANGED = {
    "https://mcp.atlassian.com/v1/sse": "type",
    "https://mcp.zapier.com/api/mcp/mcp": "protocol",
    "https://mcp.intercom.com/mcp": "status",
}


def _rand(label: str) -> bytes:
    return hashlib.sha256(f"qoder-seed/{label}".encode()).digest()[:8]


def _credential(
    vault_id: str,
    v: int,
    j: int,
    target: str,
    created: int,
    archived: int | None,
    kind: str | None = None,
    protocol: str | None = None,
):
    row: dict[str, Any] = {
        "id": make_id(CREDENTIAL_PREFIX, created, _rand(f"cred/{v}/{j}")),
        "vault_id": vault_id,
        "metadata": {"owner": "platform-team"} if j % 4 == 0 else {},
        "created_us": created,
        "updated_us": archived or created,
        "archived_us": archived,
        "secret_name": None,
    }
    if not target.lower().startswith(("https://", "http://")):
        allowed = ["ehr.acme-health.com", "fhir.acme-health.com"]
        networking = {"type": "limited", "allowed_hosts": allowed} if j % 2 else None
        row.update(
            auth_type="environment_variable",
            mcp_server_url=None,
            secret_name=target,
            protocol=None,
            public={"networking": networking or {"type": "unrestricted"}},
            secret_digest=_digest({"secret_value": f"seed-secret-{v}-{j}"}),
        )
        return row
    oauth = j % 3 == 1 if kind is None else kind == "mcp_oauth"
    public: dict[str, Any] = {}
    if oauth:
        public["expires_at"] = format_us(created + 30 * DAY_US)
        if j % 2:
            host = target.split("/")[2]
            public["refresh"] = {
                "client_id": f"acme-console-{v}-{j}",
                "token_endpoint": f"https://{host}/oauth/token",
                "scope": "read write",
                "token_endpoint_auth": {"type": "none"},
            }
    row.update(
        auth_type="mcp_oauth" if oauth else "static_bearer",
        mcp_server_url=target,
        protocol=protocol or ("sse" if target.endswith("/sse") else "streamable_http"),
        public=public,
        secret_digest=_digest({"token": f"seed-token-{v}-{j}"}),
    )
    return row


def seed_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    vaults: list[dict[str, Any]] = []
    creds: list[dict[str, Any]] = []
    every: list[SeedVault] = [*VAULTS, *COMPARE_VAULTS]
    for v, (name, metadata, day, archived_day, items) in enumerate(every):
        created = BASE_US + day * DAY_US + v * 60_000_000
        archived = BASE_US + archived_day * DAY_US if archived_day is not None else None
        vault_id = make_id(VAULT_PREFIX, created, _rand(f"vault/{v}"))
        vaults.append(
            {
                "id": vault_id,
                "display_name": name,
                "metadata": metadata,
                "created_us": created,
                "updated_us": archived or created,
                "archived_us": archived,
            }
        )
        for j, item in enumerate(items):
            target, cred_archived_day, kind, protocol = CredentialSpec(*item)
            at = created + (j + 1) * HOUR_US + v * 1_000_000 + j * 137
            gone = BASE_US + cred_archived_day * DAY_US if cred_archived_day is not None else None
            creds.append(_credential(vault_id, v, j, target, at, gone, kind, protocol))
    return vaults, creds


def vault_id(display_name: str) -> str:
    """The id of the seeded vault ``display_name`` (the same in every seeded store)."""
    return next(row["id"] for row in seed_rows()[0] if row["display_name"] == display_name)


def seed_store(store: Store) -> bool:
    """Seed once per store (``meta.seeded``); True when this call seeded it."""
    vaults, creds = seed_rows()
    with store.write() as db:
        if db.meta().get("seeded"):
            return False
        for row in vaults:
            db.insert_vault(row)
        for row in creds:
            db.insert_credential(row)
        latest = max(r["updated_us"] for r in vaults + creds)
        db.tick(at_least=latest + 1)
        db.set_meta("seeded", "1")
    return True
