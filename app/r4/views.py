"""r4 machine vaults: vaults with their zero-trust status, items, item detail.

Field values are end-to-end encrypted and never decrypted (or even kept) here. Every vault's
metadata is checked against its signed summary checkpoint and the highest version seen;
unverified metadata is still shown, under a warning, never as trusted.
"""

from __future__ import annotations

from flask import Blueprint, abort, url_for
from flask_login import login_required

from app import providers
from app.r4.checkpoints import verify_item_detail, verify_item_list
from app.r4.client import R4Client
from app.services import r4_trust
from app.upstream_errors import NotFoundError, UpstreamError
from app.web import render

bp = Blueprint("r4", __name__, url_prefix="/r4")

TYPE_LABELS = {
    "LOGIN": "Login", "API_KEY": "API key", "DATABASE": "Database", "SSH_KEY": "SSH key",
    "SERVER": "Server", "SECURE_NOTE": "Secure note", "CREDIT_CARD": "Credit card",
    "CUSTOM": "Custom",
}  # fmt: skip


def r4() -> R4Client:
    return providers.client("r4")


def vault_trust(vault_id: str):
    """(items list, trust) for one vault: its listing verified against its checkpoint."""
    client = r4()
    listing = client.list_items(vault_id)
    try:
        keys = client.public_keys(vault_id)
    except UpstreamError:
        keys = []  # no signer directory: the check fails closed below
    # names, types, websites, count, vault name, classification and DEK version must all be
    # what the signed summary checkpoint says
    verdict = verify_item_list(listing, keys)
    return listing, r4_trust.assess(vault_id, verdict)


@bp.get("")
@login_required
def index():
    rows, error = [], None
    try:
        vaults = r4().list_vaults()
    except UpstreamError as exc:
        vaults, error = [], exc.message
    for vault in vaults:
        try:
            _listing, trust = vault_trust(vault.id)
        except UpstreamError as exc:
            trust = r4_trust.Trust("unverified", f"could not be checked: {exc.message}", None, None)
        rows.append((vault, trust))
    return render(
        "vaults/r4_index.html",
        rows=rows,
        error=error,
        sandbox=providers.connection("r4").is_sandbox,
    )


@bp.get("/vaults/<vault_id>")
@login_required
def vault(vault_id: str):
    try:
        found = r4().get_vault(vault_id)
        listing, trust = vault_trust(vault_id)
    except NotFoundError:
        abort(404)
    except UpstreamError as exc:
        return render("vaults/r4_vault.html", vault=None, error=exc.message)
    from app.vaults.compare import other_vaults

    return render(
        "vaults/r4_vault.html",
        vault=found,
        listing=listing,
        trust=trust,
        types=TYPE_LABELS,
        others=other_vaults("r4", vault_id),
    )


@bp.get("/vaults/<vault_id>/items/<item_id>")
@login_required
def item(vault_id: str, item_id: str):
    client = r4()
    try:
        detail_item = client.get_item(vault_id, item_id)
        listing, trust = vault_trust(vault_id)
        keys = client.public_keys(vault_id)
    except NotFoundError:
        abort(404)
    except UpstreamError as exc:
        return render("vaults/r4_item.html", item=None, error=exc.message, vault_id=vault_id)
    detail = verify_item_detail(detail_item, keys)
    return render(
        "vaults/r4_item.html", item=detail_item, trust=trust, detail=detail, types=TYPE_LABELS,
        vault_id=vault_id, vault_name=listing.vault_name,
    )  # fmt: skip


def search(q: str) -> list[providers.Hit]:
    """Items whose name or a website contains ``q`` (case-insensitive), across the first
    vaults (r4 has no server-side search: listings are filtered here)."""
    client, hits, needle = r4(), [], q.lower()
    limit = providers.Search.LIMIT
    for found in client.list_vaults()[: providers.Search.MAX_VAULTS]:
        for row in client.list_items(found.id).items:
            haystack = " ".join([row.name, *row.websites]).lower()
            if needle in haystack:
                hits.append(
                    providers.Hit(
                        "r4", row.name, f"{found.name} · {', '.join(row.websites) or row.type}",
                        url_for("r4.item", vault_id=found.id, item_id=row.id), row.type,
                    )
                )  # fmt: skip
        if len(hits) >= limit:
            break
    return hits[:limit]
