"""The entries list as data: query parsing, then filtering, sorting and paging as SQL on the
entries index (:mod:`app.services.entry_index`).

The view only renders what :func:`run_query` returns. Unknown or malformed query parameters
fall back to defaults instead of failing, so a hand-edited or old shared URL still opens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import case, func, select

from app.cloudcruise import fields as catalogue
from app.extensions import db
from app.models import IndexedEntry
from app.services.entry_index import live, text_filter

#: filter options: the catalogue's short labels (the derived "legacy" proxy mode included)
TFA_CHOICES = {c.value: c.short for c in catalogue.FIELDS["tfa_method"].choices}
PROXY_CHOICES = {c.value: c.short for c in catalogue.FIELDS["proxy_setting"].choices}
SESSION_CHOICES = {
    "active": "Active",
    "expiring": "Expiring within 24 h",
    "expired": "Expired",
    "none": "No session data",
}
SOURCE_CHOICES = {"provider": "1Password (provider-backed)", "direct": "Stored credentials"}
#: Problems and recent history an operator looks for (the overview's tiles link here).
CHECK_CHOICES = {
    "changed_outside": "Changed outside (7 days)",
    "tfa_no_secret": "Authenticator, no secret",
    "persistence_off": "Persistence off",
}
OUTSIDE_DAYS = 7
SORTS = {
    "alias": catalogue.label("user_alias"),
    "pid": "Permissioned user",
    "domain": catalogue.label("domain"),
    "tfa": "2FA",
    "proxy": catalogue.section("proxy").title,
    "session": "Session",
    "updated": catalogue.label("updated_at"),
}
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    tfa: str = ""
    proxy: str = ""
    session: str = ""
    source: str = ""
    check: str = ""
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
            check=pick("check", CHECK_CHOICES),
            sort=pick("sort", SORTS) or "alias",
            dir="desc" if args.get("dir") == "desc" else "asc",
            page=max(1, number("page", 1)),
            per_page=per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.tfa or self.proxy or self.session or self.source or self.check)

    def args(self, **changes: object) -> dict[str, str]:
        """Query-string arguments for this query with ``changes``; defaults left out."""
        query = replace(self, **changes)  # type: ignore[arg-type]
        defaults = ListQuery()
        out = {}
        for name in ("q", "tfa", "proxy", "session", "source", "check", "sort", "dir", "page",
                     "per_page"):  # fmt: skip
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
    rows: list[IndexedEntry]
    total: int  # entries in the workspace
    matched: int  # entries matching the filters
    page: int
    pages: int
    first: int  # 1-based index of the first row shown (0 when none)
    last: int
    now: datetime


def conditions(query: ListQuery, now: datetime) -> list[Any]:
    """The SQL conditions of ``query``'s search and filters."""
    e = IndexedEntry
    where = [live()]
    if query.q:
        where.append(text_filter(query.q))
    if query.tfa:
        where.append(e.tfa == query.tfa)
    if query.proxy:
        where.append(e.proxy_mode == query.proxy)
    if query.session:
        soon = now + timedelta(days=1)
        expires = e.effective_expires_at
        where.append(
            {
                "none": e.has_session.is_(False),
                "expired": e.has_session.is_(True) & (expires <= now),
                "expiring": e.has_session.is_(True) & (expires > now) & (expires <= soon),
                "active": e.has_session.is_(True) & (expires.is_(None) | (expires > soon)),
            }[query.session]
        )
    if query.source == "provider":
        where.append(e.secret_provider_id.is_not(None) & (e.secret_provider_id != ""))
    elif query.source == "direct":
        where.append(e.secret_provider_id.is_(None) | (e.secret_provider_id == ""))
    if query.check == "changed_outside":
        where.append(e.changed_outside_at >= now - timedelta(days=OUTSIDE_DAYS))
    elif query.check == "tfa_no_secret":
        where.append((e.tfa == "AUTHENTICATOR") & e.fp_tfa_secret.is_(None))
    elif query.check == "persistence_off":
        where.append(
            e.persist_cookies.is_(False)
            & e.persist_local_storage.is_(False)
            & e.persist_session_storage.is_(False)
        )
    return where


def _order(query: ListQuery, now: datetime) -> list[Any]:
    e = IndexedEntry
    keys: list[Any]
    if query.sort == "pid":
        keys = [e.pid_key, e.domain]
    elif query.sort == "domain":
        keys = [e.host, e.domain, e.pid_key]
    elif query.sort == "tfa":
        # upper-case methods sort before "none" in binary order: no-2FA entries come last
        keys = [e.tfa, e.name_key]
    elif query.sort == "proxy":
        keys = [case((e.proxy_mode == "none", 1), else_=0), e.proxy_mode, e.name_key]
    elif query.sort == "session":
        expires = e.effective_expires_at
        rank = case(
            (e.has_session.is_(False), 3),
            (expires.is_(None), 2),
            (expires <= now, 0),
            (expires <= now + timedelta(days=1), 1),
            else_=2,
        )
        keys = [rank, case((expires.is_(None), 1), else_=0), expires]
    elif query.sort == "updated":
        # never-updated entries first (ascending): SQLite's own NULL order, which lets the
        # index serve the sort; PostgreSQL is told the same order explicitly
        keys = [e.updated_at, e.pid_key]
    else:
        keys = [e.name_key]
    keys.append(e.id)
    ordered = [k.desc() for k in keys] if query.dir == "desc" else [k.asc() for k in keys]
    if query.sort == "updated" and db.session.get_bind().dialect.name == "postgresql":
        first = ordered[0]
        ordered[0] = first.nulls_last() if query.dir == "desc" else first.nulls_first()
    return ordered


def run_query(query: ListQuery, now: datetime | None = None) -> ListResult:
    """Filter, sort and page the indexed entries."""
    now = now or datetime.now(UTC)
    where = conditions(query, now)
    session = db.session
    total = session.scalar(select(func.count()).select_from(IndexedEntry).where(live())) or 0
    if query.filtered:
        matched = session.scalar(select(func.count()).select_from(IndexedEntry).where(*where))
    else:
        matched = total
    matched = matched or 0
    pages = max(1, math.ceil(matched / query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    # the page's ids first (an index-only walk, however deep the page), then their rows
    ids = list(
        session.scalars(
            select(IndexedEntry.id)
            .where(*where)
            .order_by(*_order(query, now))
            .offset(start)
            .limit(query.per_page)
        )
    )
    found = {
        row.id: row for row in session.scalars(select(IndexedEntry).where(IndexedEntry.id.in_(ids)))
    }
    shown = [found[i] for i in ids if i in found]
    return ListResult(
        rows=shown,
        total=total,
        matched=matched,
        page=page,
        pages=pages,
        first=start + 1 if shown else 0,
        last=start + len(shown),
        now=now,
    )


def matching_ids(query: ListQuery, limit: int) -> list[str]:
    """Ids of up to ``limit`` entries matching ``query`` in its order (bulk "all matching")."""
    now = datetime.now(UTC)
    return list(
        db.session.scalars(
            select(IndexedEntry.id)
            .where(*conditions(query, now))
            .order_by(*_order(query, now))
            .limit(limit)
        )
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
