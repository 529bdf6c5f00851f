"""The entries list as data: query parsing, filtering, sorting and paging over cached rows.

Pure functions over :class:`EntryRow`; the view only renders what :func:`run_query`
returns. Unknown or malformed query parameters fall back to defaults instead of failing,
so a hand-edited or old shared URL still opens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from urllib.parse import urlencode

from app.services.entry_cache import EntryRow

TFA_CHOICES = {
    "AUTHENTICATOR": "Authenticator app",
    "EMAIL": "Email",
    "SMS": "SMS",
    "MAGIC_LINK": "Magic link",
    "none": "No 2FA",
}
PROXY_CHOICES = {
    "random": "Random",
    "static": "Static IP",
    "country": "Country",
    "custom": "Custom URL",
    "legacy": "Legacy (target IP)",
    "none": "No proxy",
}
SESSION_CHOICES = {
    "active": "Active",
    "expiring": "Expiring within 24 h",
    "expired": "Expired",
    "none": "No session data",
}
SOURCE_CHOICES = {"provider": "1Password (provider-backed)", "direct": "Stored credentials"}
SORTS = {
    "alias": "Alias",
    "pid": "Permissioned user",
    "domain": "Domain",
    "tfa": "2FA",
    "proxy": "Proxy",
    "session": "Session",
    "updated": "Updated",
}
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
_SESSION_ORDER = {"expired": 0, "expiring": 1, "active": 2, "none": 3}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    tfa: str = ""
    proxy: str = ""
    session: str = ""
    source: str = ""
    sort: str = "alias"
    dir: str = "asc"
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListQuery:
        def pick(name: str, allowed: Mapping[str, str] | tuple[str, ...]) -> str:
            value = (args.get(name) or "").strip()
            return value if value in allowed else ""

        def number(name: str, default: int) -> int:
            try:
                return int(args.get(name, default))
            except (TypeError, ValueError):
                return default

        per_page = number("per_page", DEFAULT_PAGE_SIZE)
        return cls(
            q=(args.get("q") or "").strip()[:200],
            tfa=pick("tfa", TFA_CHOICES),
            proxy=pick("proxy", PROXY_CHOICES),
            session=pick("session", SESSION_CHOICES),
            source=pick("source", SOURCE_CHOICES),
            sort=pick("sort", SORTS) or "alias",
            dir="desc" if args.get("dir") == "desc" else "asc",
            page=max(1, number("page", 1)),
            per_page=per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.tfa or self.proxy or self.session or self.source)

    def args(self, **changes: object) -> dict[str, str]:
        """Query-string arguments for this query with ``changes``; defaults left out."""
        query = replace(self, **changes)  # type: ignore[arg-type]
        defaults = ListQuery()
        out = {}
        for name in ("q", "tfa", "proxy", "session", "source", "sort", "dir", "page", "per_page"):
            value = getattr(query, name)
            if value != getattr(defaults, name):
                out[name] = str(value)
        return out

    def url(self, base: str, **changes: object) -> str:
        args = self.args(**changes)
        return f"{base}?{urlencode(args)}" if args else base

    def sort_url(self, base: str, column: str) -> str:
        direction = "desc" if self.sort == column and self.dir == "asc" else "asc"
        if column == "updated" and self.sort != column:
            direction = "desc"  # newest first is what people want from "updated"
        return self.url(base, sort=column, dir=direction, page=1)


@dataclass
class ListResult:
    rows: list[EntryRow]
    total: int  # entries in the workspace
    matched: int  # entries matching the filters
    page: int
    pages: int
    first: int  # 1-based index of the first row shown (0 when none)
    last: int
    now: datetime


def _matches(row: EntryRow, query: ListQuery, now: datetime, needle: str) -> bool:
    if needle and needle not in row.haystack:
        return False
    if query.tfa and row.tfa != query.tfa:
        return False
    if query.proxy and row.proxy != query.proxy:
        return False
    if query.session and row.session_status(now) != query.session:
        return False
    if query.source == "provider" and not row.provider_backed:
        return False
    return not (query.source == "direct" and row.provider_backed)


def _sort_key(column: str, now: datetime):
    if column == "pid":
        return lambda r: (r.name_key[2], r.domain)
    if column == "domain":
        return lambda r: (r.host, r.domain, r.name_key[2])
    if column == "tfa":
        return lambda r: (r.tfa == "none", r.tfa, r.name_key)
    if column == "proxy":
        return lambda r: (r.proxy == "none", r.proxy, r.name_key)
    if column == "session":
        far = datetime.max.replace(tzinfo=UTC)
        return lambda r: (_SESSION_ORDER[r.session_status(now)], r.expires_at or far)
    if column == "updated":
        return lambda r: (r.updated_at or _EPOCH, r.pid)
    return attrgetter("name_key")


#: Orders that depend on the current time are recomputed on every request.
TIME_DEPENDENT_SORTS = frozenset({"session"})


def sort_rows(rows: list[EntryRow], query: ListQuery, now: datetime) -> list[EntryRow]:
    return sorted(rows, key=_sort_key(query.sort, now), reverse=query.dir == "desc")


def run_query(
    rows: list[EntryRow],
    query: ListQuery,
    now: datetime | None = None,
    presorted: list[EntryRow] | None = None,
) -> ListResult:
    """Filter, sort and page ``rows``. ``presorted`` (all rows already in the query's order)
    skips the sort; filtering keeps that order."""
    now = now or datetime.now(UTC)
    needle = query.q.lower()
    ordered = presorted if presorted is not None else sort_rows(rows, query, now)
    if query.filtered:
        ordered = [r for r in ordered if _matches(r, query, now, needle)]
    pages = max(1, math.ceil(len(ordered) / query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    shown = ordered[start : start + query.per_page]
    return ListResult(
        rows=shown,
        total=len(rows),
        matched=len(ordered),
        page=page,
        pages=pages,
        first=start + 1 if shown else 0,
        last=start + len(shown),
        now=now,
    )


def page_window(current: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to show, with ``None`` for a gap: 1 … 4 5 [6] 7 8 … 20."""
    wanted = {1, pages, *range(current - width, current + width + 1)}
    numbers = sorted(n for n in wanted if 1 <= n <= pages)
    out: list[int | None] = []
    for n in numbers:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out
