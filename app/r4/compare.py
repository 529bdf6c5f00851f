"""Comparing two r4 vaults: items matched by name (case-insensitive, trimmed); type,
websites (as a set), field count and group compared. Each side carries its checkpoint
status: names and websites of an unverified side are unauthenticated metadata."""

from __future__ import annotations

from flask import url_for

from app.r4 import views
from app.r4.models import ItemSummary
from app.vaults.comparison import Adapter, Row, Side, Trust


def _row(vault_id: str, item: ItemSummary) -> Row:
    websites = frozenset(item.websites)
    return Row(
        key=" ".join(item.name.split()).casefold(),
        title=item.name,
        type=item.type,
        url=url_for("r4.item", vault_id=vault_id, item_id=item.id),
        values={
            "type": item.type,
            "websites": websites,
            "field_count": item.field_count,
            "group": item.group_id,
        },
        shown={
            "type": views.TYPE_LABELS.get(item.type, item.type),
            "websites": ", ".join(sorted(websites)) or "—",
            "field_count": "—" if item.field_count is None else str(item.field_count),
            "group": item.group_id or "—",
        },
    )


def load(vault_id: str, letter: str) -> Side:
    """The vault's items, verified against its signed checkpoint (NotFoundError if unknown)."""
    vault = views.r4().get_vault(vault_id)
    listing, trust = views.vault_trust(vault_id)
    return Side(
        letter=letter,
        vault_id=vault_id,
        name=vault.name,
        url=url_for("r4.vault", vault_id=vault_id),
        rows=tuple(_row(vault_id, item) for item in listing.items),
        trust=Trust(trust.status, trust.label, trust.reason),
    )


def vaults() -> list[tuple[str, str]]:
    return [(v.id, v.name) for v in views.r4().list_vaults()]


adapter = Adapter(
    noun="items",
    matched_by="name",
    attributes={"type": "Type", "websites": "Websites", "field_count": "Fields", "group": "Group"},
    types=views.TYPE_LABELS,
    vaults=vaults,
    load=load,
    trusted=True,
)
