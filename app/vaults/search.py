"""One search box over CloudCruise entries, Qoder credentials and r4 items."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import login_required

from app.cloudcruise import CloudCruiseError
from app.entries.listing import ListQuery, run_query
from app.services import entry_index
from app.vaults import bp
from app.vaults.connections import qoder, r4
from app.web import render

LIMIT = 50  # results per source
MAX_VAULTS = 50  # vaults searched per source


@dataclass
class Hit:
    source: str  # cloudcruise | qoder | r4
    title: str
    detail: str
    url: str
    badge: str = ""


def _cloudcruise(q: str) -> list[Hit]:
    entry_index.ensure_fresh()
    rows = run_query(ListQuery(q=q, per_page=LIMIT)).rows
    return [
        Hit("cloudcruise", r.alias or r.pid, f"{r.pid} · {r.host}",
            url_for("entries.detail", entry_id=r.id), r.tfa if r.tfa != "none" else "")
        for r in rows
    ]  # fmt: skip


def _qoder(q: str) -> list[Hit]:
    client, hits = qoder(), []
    vaults = client.list_vaults(limit=100).data[:MAX_VAULTS]
    for vault in vaults:
        page = client.list_credentials(vault.id, name=q, include_archived=True, limit=100)
        for cred in page.data:
            hits.append(
                Hit("qoder", cred.mcp_server_url or cred.id, f"{vault.display_name} · {cred.type}",
                    url_for("vaults.qoder_vault", vault_id=vault.id, name=q, include_archived="1"),
                    cred.status)
            )  # fmt: skip
        if len(hits) >= LIMIT:
            break
    return hits[:LIMIT]


def _r4(q: str) -> list[Hit]:
    client, hits, needle = r4(), [], q.lower()
    for vault in client.list_vaults()[:MAX_VAULTS]:
        for item in client.list_items(vault.id).items:
            haystack = " ".join([item.name, *item.websites]).lower()
            if needle in haystack:
                hits.append(
                    Hit("r4", item.name, f"{vault.name} · {', '.join(item.websites) or item.type}",
                        url_for("vaults.r4_item", vault_id=vault.id, item_id=item.id), item.type)
                )  # fmt: skip
        if len(hits) >= LIMIT:
            break
    return hits[:LIMIT]


SOURCES = {"cloudcruise": ("CloudCruise entries", _cloudcruise),
           "qoder": ("Qoder credentials", _qoder), "r4": ("r4 items", _r4)}  # fmt: skip


@bp.get("/search")
@login_required
def search():
    q = (request.args.get("q") or "").strip()[:200]
    groups = []
    if q:
        for key, (label, find) in SOURCES.items():
            try:
                groups.append((key, label, find(q), None))
            except CloudCruiseError as exc:
                groups.append((key, label, [], exc.message))
    total = sum(len(hits) for _k, _l, hits, _e in groups)
    return render("vaults/search.html", block="results", q=q, groups=groups, total=total)
