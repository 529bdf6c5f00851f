"""The Qoder seed's compare pair, read through :class:`QoderClient` over loopback: "Production
MCP" (side A) and "Staging MCP" (side B) hold exactly the seeded differences. Credentials
are matched by MCP server URL, normalised (scheme and host lower-cased, the scheme's default
port and a trailing slash dropped); type, protocol and status are compared, archived
credentials included. ``protocol`` is served by the flat (G2) shape only."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from app.qoder import Credential
from app.sandbox.qoder import seed as qoder_seed
from tests.compare_support import assert_differs_as_seeded

A, B = "Production MCP", "Staging MCP"
ATTRIBUTES = ("type", "protocol", "status")
DEFAULT_PORTS = {"http": 80, "https": 443}
# The expected comparison, written out here (not derived from the seed's tables).
ONLY_A = {"https://mcp.stripe.com", "https://mcp.paypal.com/sse"}
ONLY_B = {"https://mcp.supabase.com/mcp", "https://mcp.neon.tech/mcp"}
SAME = {"https://mcp.linear.app/sse", "https://mcp.notion.com/mcp", "https://mcp.sentry.dev/mcp",
        "http://mcp.lab.example.com/tools"}  # fmt: skip
CHANGED = {"https://mcp.atlassian.com/v1/sse": "type",
           "https://mcp.zapier.com/api/mcp/mcp": "protocol",
           "https://mcp.intercom.com/mcp": "status"}  # fmt: skip


def normalise(url: str) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    netloc = host if parts.port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{parts.port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


def values(credential: Credential) -> dict[str, str | None]:
    return {"type": credential.type, "protocol": credential.protocol,
            "status": credential.status}  # fmt: skip


def credentials(qoder, vault_id: str) -> dict[str, Credential]:
    page = qoder.list_credentials(vault_id, limit=100, include_archived=True)
    assert page.has_more is False
    keyed = {normalise(c.mcp_server_url): c for c in page.data}
    assert len(keyed) == len(page.data), "two credentials of one vault share a URL"
    return keyed


def read_pair(qoder, seeded) -> tuple[dict[str, Credential], dict[str, Credential]]:
    return credentials(qoder, seeded[A]), credentials(qoder, seeded[B])


def test_the_seed_exports_the_pair_and_the_expected_comparison(seeded):
    assert (qoder_seed.PRODUCTION_MCP, qoder_seed.STAGING_MCP) == (A, B)
    assert (qoder_seed.vault_id(A), qoder_seed.vault_id(B)) == (seeded[A], seeded[B])
    assert set(qoder_seed.MCP_ONLY_A) == ONLY_A and set(qoder_seed.MCP_ONLY_B) == ONLY_B
    assert set(qoder_seed.MCP_SAME) == SAME and qoder_seed.MCP_CHANGED == CHANGED
    assert all(normalise(u) == u for u in [*ONLY_A, *ONLY_B, *SAME, *CHANGED])


def test_both_vaults_are_active_and_newest(qoder, seeded):
    page = qoder.list_vaults()
    assert [v.display_name for v in page.data[:2]] == [B, A]  # newest first
    vaults = {v.display_name: v for v in page.data}
    assert vaults[A].metadata == {"team": "platform", "env": "prod"} and not vaults[A].archived
    assert vaults[B].metadata == {"team": "platform", "env": "staging"} and not vaults[B].archived
    assert len(qoder.list_credentials(seeded[A], limit=100).data) == 9
    assert len(qoder.list_credentials(seeded[B], limit=100).data) == 8  # one archived


def test_the_pair_differs_exactly_as_seeded(qoder, qbox, seeded):
    qbox.shape = "flat"  # the shape that serves the protocol
    a, b = read_pair(qoder, seeded)
    assert len(a) == len(b) == 9
    assert_differs_as_seeded(a, b, values, ATTRIBUTES, only_a=ONLY_A, only_b=ONLY_B,
                             same=SAME, changed=CHANGED)  # fmt: skip


def test_each_difference_side_by_side(qoder, qbox, seeded):
    qbox.shape = "flat"
    a, b = read_pair(qoder, seeded)
    atlassian = "https://mcp.atlassian.com/v1/sse"
    assert (a[atlassian].type, b[atlassian].type) == ("mcp_oauth", "static_bearer")
    zapier = "https://mcp.zapier.com/api/mcp/mcp"
    assert (a[zapier].protocol, b[zapier].protocol) == ("streamable_http", "sse")
    intercom = "https://mcp.intercom.com/mcp"
    assert (a[intercom].status, b[intercom].status) == ("active", "archived")
    assert b[intercom].archived_at is not None and a[intercom].archived_at is None
    # one server, written differently on the two sides
    written = {k: (a[k].mcp_server_url, b[k].mcp_server_url) for k in SAME}
    assert written == {
        "https://mcp.linear.app/sse": ("https://mcp.linear.app/sse",
                                       "HTTPS://MCP.Linear.app:443/sse/"),
        "https://mcp.notion.com/mcp": ("https://mcp.notion.com/mcp",
                                       "https://mcp.notion.com/mcp/"),
        "https://mcp.sentry.dev/mcp": ("https://mcp.sentry.dev/mcp",
                                       "https://mcp.sentry.dev/mcp"),
        "http://mcp.lab.example.com/tools": ("http://mcp.lab.example.com:80/tools",
                                             "http://MCP.Lab.Example.com/tools/"),
    }  # fmt: skip
    assert {(a[k].type, a[k].protocol) for k in SAME} == {
        ("static_bearer", "sse"), ("mcp_oauth", "streamable_http"),
        ("static_bearer", "streamable_http"),
    }  # fmt: skip
    assert [a[k].mcp_server_url for k in sorted(ONLY_A)] == [
        "https://mcp.paypal.com/sse", "https://mcp.stripe.com/",
    ]  # fmt: skip


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_type_and_status_differ_in_both_shapes(qoder, qbox, seeded, shape):
    qbox.shape = shape
    a, b = read_pair(qoder, seeded)
    assert set(a) == ONLY_A | SAME | set(CHANGED) and set(b) == ONLY_B | SAME | set(CHANGED)
    for k in set(a) & set(b):
        assert (a[k].type != b[k].type) == (CHANGED.get(k) == "type"), k
        assert (a[k].status != b[k].status) == (CHANGED.get(k) == "status"), k
    if shape == "nested":  # G3 has no protocol: that difference shows in the flat shape only
        assert {c.protocol for c in [*a.values(), *b.values()]} == {None}
