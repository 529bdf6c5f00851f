"""Compare two vaults side by side (environment drift): ``/compare?provider=r4&a=…&b=…``.

Every role may compare; both vaults are read in parallel within the clients' timeouts. A
side that cannot be read is named in a banner and the other is still shown; a side whose r4
checkpoint went back blocks the comparison. The export (CSV or JSON Lines, metadata only)
is a POST and is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from flask import (
    Response,
    abort,
    copy_current_request_context,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required

from app import exports, providers
from app.services import audit
from app.upstream_errors import NotFoundError, UpstreamError
from app.vaults import bp
from app.vaults.comparison import GROUPS, Adapter, Comparison, Side, compare, counts, matching
from app.web import render

PAGE_SIZE = 50
#: rows of the collapsed "same" group shown before its own (paged) listing is needed
SAME_PREVIEW = 20
SAME_VAULT = "Pick two different vaults: a vault compared with itself has no differences."


@dataclass(frozen=True)
class Query:
    provider: str
    a: str
    b: str
    group: str
    type: str
    q: str
    page: int

    @classmethod
    def from_args(cls, args: Any, adapter: Adapter) -> Query:
        def text(name: str, limit: int) -> str:
            return (args.get(name) or "").strip()[:limit]

        try:
            page = max(1, int(args.get("page", 1)))
        except ValueError:
            page = 1
        group = text("group", 20)
        kind = text("type", 40)
        return cls(
            provider=text("provider", 40),
            a=text("a", 120),
            b=text("b", 120),
            group=group if group in GROUPS else "",
            type=kind if kind in adapter.types else "",
            q=text("q", 200),
            page=page,
        )

    def args(self, **override: Any) -> dict[str, str]:
        values = {
            "provider": self.provider, "a": self.a, "b": self.b, "group": self.group,
            "type": self.type, "q": self.q, "page": str(self.page) if self.page > 1 else "",
        } | {k: str(v) for k, v in override.items()}  # fmt: skip
        return {k: v for k, v in values.items() if v}

    def url(self, **override: Any) -> str:
        values: dict[str, Any] = self.args(**override)
        return url_for("vaults.compare_vaults", **values)


def _adapter(key: str) -> Adapter:
    provider = next((p for p in providers.all() if p.key == key and p.compare), None)
    if provider is None or provider.compare is None:
        abort(404)
    adapter: Adapter = providers.load(provider.compare)
    return adapter


def other_vaults(provider: str, vault_id: str) -> list[tuple[str, str]]:
    """The vaults a vault page offers under "Compare with…" (none if they cannot be read)."""
    try:
        choices = _adapter(provider).vaults()
    except UpstreamError:
        return []
    return [(other, name) for other, name in choices if other != vault_id]


def _read_both(adapter: Adapter, query: Query) -> tuple[Side, Side]:
    """Both vaults, read in parallel; an unknown id is a 404, a failure stays on its side."""

    def read(vault_id: str, letter: str) -> Side | None:
        try:
            return adapter.load(vault_id, letter)
        except NotFoundError:
            return None
        except UpstreamError as exc:
            return Side(letter, vault_id, error=exc.message)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(copy_current_request_context(read), vault_id, letter)
            for vault_id, letter in ((query.a, "A"), (query.b, "B"))
        ]
        a, b = (f.result() for f in futures)
    if a is None or b is None:
        abort(404)
    return a, b


def _choices(adapter: Adapter) -> tuple[list[tuple[str, str]], str | None]:
    try:
        return adapter.vaults(), None
    except UpstreamError as exc:
        return [], exc.message


def _name_of(side: Side, choices: list[tuple[str, str]]) -> Side:
    """A side that could not be read keeps the name the vault list gave it."""
    if side.name:
        return side
    return replace(side, name=dict(choices).get(side.vault_id, side.vault_id))


@bp.get("/compare")
@login_required
def compare_vaults() -> Response:
    adapter = _adapter((request.args.get("provider") or "").strip())
    query = Query.from_args(request.args, adapter)
    choices, choices_error = _choices(adapter)
    context: dict[str, Any] = {
        "query": query,
        "adapter": adapter,
        "provider": providers.get(query.provider),
        "choices": choices,
        "choices_error": choices_error,
        "groups": GROUPS,
        "result": None,
    }
    if not (query.a and query.b):
        return render("vaults/compare.html", block="results", **context)
    if query.a == query.b:
        return render(
            "vaults/compare.html", block="results", status=422, refused=SAME_VAULT, **context
        )
    a, b = _read_both(adapter, query)
    result = compare(query.provider, adapter, _name_of(a, choices), _name_of(b, choices))
    rows = matching(result.pairs, group=query.group, type_=query.type, text=query.q)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(query.page, pages)
    same = [] if query.group else [p for p in result.pairs if p.group == "same"]
    return render(
        "vaults/compare.html",
        block="results",
        **context
        | {
            "result": result,
            "counts": counts(result.pairs),
            "rows": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            "total": len(rows),
            "page": page,
            "pages": pages,
            "same": same[:SAME_PREVIEW],
            "same_total": len(same),
        },
    )


def export_rows(result: Comparison) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """Columns and rows of an export: metadata only (names, types, websites, counts)."""
    attributes = list(result.adapter.attributes)
    columns = ["group", "match_key", "name_a", "name_b"]
    for name in attributes:
        columns += [f"{name}_a", f"{name}_b"]
    columns.append("differs_in")

    def rows() -> Iterator[dict[str, Any]]:
        for p in result.pairs:
            row: dict[str, Any] = {
                "group": p.group,
                "match_key": p.key,
                "name_a": p.a.title if p.a else "",
                "name_b": p.b.title if p.b else "",
                "differs_in": ", ".join(result.adapter.attributes[d] for d in p.differences),
            }
            for name in attributes:
                row[f"{name}_a"] = p.a.shown.get(name, "") if p.a else ""
                row[f"{name}_b"] = p.b.shown.get(name, "") if p.b else ""
            yield row

    return columns, rows()


@bp.post("/compare/export")
@login_required
def export_comparison() -> Response:
    adapter = _adapter((request.form.get("provider") or "").strip())
    query = Query.from_args(request.form, adapter)
    fmt = request.form.get("format", "csv")
    if fmt not in exports.FORMATS or not (query.a and query.b) or query.a == query.b:
        abort(400)
    a, b = _read_both(adapter, query)
    result = compare(query.provider, adapter, a, b)
    if not result.complete or result.rollback is not None:
        problem = next((s for s in (a, b) if not s.ok), None) or result.rollback
        return render(
            "errors/error.html", status=409, title="Nothing to export",
            message=f"Vault {problem.letter if problem else ''} cannot be compared now; "
            "open the comparison to see why.",
            code=409, offer_sync=False,
        )  # fmt: skip
    columns, rows = export_rows(result)
    audit.record(
        f"{query.provider}.compare.export",
        "success",
        actor=audit.current_actor(),
        message=(
            f"{fmt} export of the comparison of {a.name} ({a.vault_id}) with {b.name} "
            f"({b.vault_id}): {len(result.pairs)} rows"
            + ("" if result.verified or not adapter.trusted else ", not verified")
        ),
    )
    name = f"compare-{query.provider}-{a.vault_id}-{b.vault_id}.{fmt}"
    response = Response(
        stream_with_context(exports.lines(fmt, columns, rows)), mimetype=exports.FORMATS[fmt]
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
