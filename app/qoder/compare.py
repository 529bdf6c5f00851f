"""Comparing two Qoder vaults: credentials matched by MCP server URL, normalised (scheme and
host lower-cased, a default port and a trailing slash dropped); type, protocol and status
compared. Archived credentials count: a status difference is a difference."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import url_for

from app.qoder import views
from app.qoder.client import Credential
from app.vaults.comparison import Adapter, Row, Side

TYPE_LABELS = {
    "static_bearer": "Bearer token",
    "mcp_oauth": "OAuth",
    "environment_variable": "Environment variable",
}
PROTOCOL_LABELS = {"streamable_http": "Streamable HTTP", "sse": "SSE"}
#: pages of 100 read per vault at most (a larger vault is refused with a message)
MAX_PAGES = 100
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str) -> str:
    """``HTTPS://MCP.Example.com:443/sse/`` and ``https://mcp.example.com/sse`` are one
    server: scheme and host lower-cased, the scheme's default port and a trailing slash
    dropped; path and query kept as written."""
    text = url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text  # an environment variable's name, or not a URL: as written
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return text
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


def _row(vault_id: str, credential: Credential) -> Row:
    where = credential.mcp_server_url or credential.display_name or credential.id
    kind = credential.type or ""
    return Row(
        key=normalise_url(where),
        title=where,
        type=kind,
        url=url_for("qoder.vault", vault_id=vault_id, name=where, include_archived="1"),
        values={"type": kind, "protocol": credential.protocol, "status": credential.status},
        shown={
            "type": TYPE_LABELS.get(kind, kind or "—"),
            "protocol": PROTOCOL_LABELS.get(credential.protocol or "", credential.protocol or "—"),
            "status": credential.status.capitalize(),
        },
    )


def load(vault_id: str, letter: str) -> Side:
    """Every credential of the vault, archived ones included (NotFoundError if unknown)."""
    client = views.qoder()
    vault = client.get_vault(vault_id)
    rows: list[Row] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = client.list_credentials(vault_id, limit=100, after_id=after, include_archived=True)
        rows.extend(_row(vault_id, c) for c in page.data)
        if not page.has_more or not page.last_id:
            break
        after = page.last_id
    else:
        return Side(letter, vault_id, vault.display_name or vault_id,
                    url_for("qoder.vault", vault_id=vault_id),
                    error=f"it holds more than {MAX_PAGES * 100:,} credentials, too many to "
                    "compare here")  # fmt: skip
    return Side(
        letter=letter,
        vault_id=vault_id,
        name=vault.display_name or vault_id,
        url=url_for("qoder.vault", vault_id=vault_id),
        rows=tuple(rows),
    )


def vaults() -> list[tuple[str, str]]:
    page = views.qoder().list_vaults(limit=100)
    return [(v.id, v.display_name or v.id) for v in page.data]


adapter = Adapter(
    noun="credentials",
    matched_by="MCP server URL",
    attributes={"type": "Type", "protocol": "Protocol", "status": "Status"},
    types=TYPE_LABELS,
    vaults=vaults,
    load=load,
)
