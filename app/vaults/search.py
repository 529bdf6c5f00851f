"""One search box over every provider: each registered provider's search adapter
(:class:`app.providers.Search`) answers in its own group, in registry order; a provider
that fails shows its error in its group while the others still answer."""

from __future__ import annotations

from flask import request
from flask_login import login_required

from app import providers
from app.upstream_errors import UpstreamError
from app.vaults import bp
from app.web import render

#: the old name of a search result
Hit = providers.Hit


@bp.get("/search")
@login_required
def search():
    q = (request.args.get("q") or "").strip()[:200]
    groups = []
    if q:
        for provider, source in providers.search_sources():
            try:
                groups.append((provider.key, source.label, providers.load(source.find)(q), None))
            except UpstreamError as exc:
                groups.append((provider.key, source.label, [], exc.message))
    total = sum(len(hits) for _k, _l, hits, _e in groups)
    return render(
        "vaults/search.html",
        block="results",
        q=q,
        groups=groups,
        total=total,
    )
