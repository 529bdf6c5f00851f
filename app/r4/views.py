"""r4 machine vaults: vaults with their zero-trust status, items, item detail.

Field values are end-to-end encrypted and never decrypted (or even kept) here. Every vault's
metadata is checked against its signed summary checkpoint and the highest version seen;
unverified metadata is still shown, under a warning, never as trusted.
"""

from __future__ import annotations

from flask import abort
from flask_login import login_required

from app.cloudcruise import CloudCruiseError, NotFoundError
from app.r4.checkpoints import verify_item_detail, verify_item_list
from app.services import r4_trust
from app.vaults import bp
from app.vaults.connections import connection, r4
from app.web import render

TYPE_LABELS = {
    "LOGIN": "Login", "API_KEY": "API key", "DATABASE": "Database", "SSH_KEY": "SSH key",
    "SERVER": "Server", "SECURE_NOTE": "Secure note", "CREDIT_CARD": "Credit card",
    "CUSTOM": "Custom",
}  # fmt: skip


def vault_trust(vault_id: str):
    """(items list, trust) for one vault: its listing verified against its checkpoint."""
    client = r4()
    listing = client.list_items(vault_id)
    try:
        keys = client.public_keys(vault_id)
    except CloudCruiseError:
        keys = []  # no signer directory: the check fails closed below
    # names, types, websites, count, vault name, classification and DEK version must all be
    # what the signed summary checkpoint says
    verdict = verify_item_list(listing, keys)
    return listing, r4_trust.assess(vault_id, verdict)


@bp.get("/r4")
@login_required
def r4_index():
    rows, error = [], None
    try:
        vaults = r4().list_vaults()
    except CloudCruiseError as exc:
        vaults, error = [], exc.message
    for vault in vaults:
        try:
            _listing, trust = vault_trust(vault.id)
        except CloudCruiseError as exc:
            trust = r4_trust.Trust("unverified", f"could not be checked: {exc.message}", None, None)
        rows.append((vault, trust))
    return render(
        "vaults/r4_index.html", rows=rows, error=error, sandbox=connection("r4").is_sandbox
    )


@bp.get("/r4/vaults/<vault_id>")
@login_required
def r4_vault(vault_id: str):
    try:
        vault = r4().get_vault(vault_id)
        listing, trust = vault_trust(vault_id)
    except NotFoundError:
        abort(404)
    except CloudCruiseError as exc:
        return render("vaults/r4_vault.html", vault=None, error=exc.message)
    return render(
        "vaults/r4_vault.html", vault=vault, listing=listing, trust=trust, types=TYPE_LABELS
    )


@bp.get("/r4/vaults/<vault_id>/items/<item_id>")
@login_required
def r4_item(vault_id: str, item_id: str):
    client = r4()
    try:
        item = client.get_item(vault_id, item_id)
        _listing, trust = vault_trust(vault_id)
        keys = client.public_keys(vault_id)
    except NotFoundError:
        abort(404)
    except CloudCruiseError as exc:
        return render("vaults/r4_item.html", item=None, error=exc.message, vault_id=vault_id)
    detail = verify_item_detail(item, keys)
    return render(
        "vaults/r4_item.html", item=item, trust=trust, detail=detail, types=TYPE_LABELS,
        vault_id=vault_id,
    )  # fmt: skip
