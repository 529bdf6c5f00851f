"""Filtering and keyset pagination over audit events, fast at millions of rows.

Pages are cut by event id, newest first: ``before=<id>`` shows older events, ``after=<id>``
newer ones. Every page is built from *branches*: each branch is one query that an index
serves in id order (``(operator, id)``, ``(action, id)``, ``(target_id, id)``,
``(target_pid, id)``, ``request_id``, ``batch_id``, or the primary key), limited to one page;
the branches' results are merged by id. Filters that would otherwise need ``OR`` or a prefix
match (an entry by id *or* user id, an action group) become several branches instead.

* Dates become an id range (ids and timestamps grow together: both are assigned under the
  audit write lock), found with two lookups on the ``ts`` index.
* Free text that looks like a request or batch id is an exact, indexed lookup. Other text is
  a substring search, which no index serves: it is bounded to ``SEARCH_WINDOW`` events per
  page, and the page offers to search further back.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy import Select, func, or_, select

from app import providers
from app.models import AuditEvent, IndexedEntry

#: Actions of the console itself; each provider declares its own (``Provider.audit_actions``).
CONSOLE_ACTIONS = {
    "auth.login": "Sign-in",
    "auth.logout": "Sign-out",
    "auth.sudo": "Password re-entry (sudo)",
    "auth.two_factor": "Two-factor sign-in code",
    "account.password_change": "Own password changed",
    "account.totp_enable": "Two-factor sign-in turned on",
    "account.totp_disable": "Two-factor sign-in turned off",
    "account.recovery_codes": "Recovery codes made",
    "account.session_end": "Own session ended",
    "auth.sso": "Single sign-on",
}
ADMIN_ACTIONS = {
    "operator.create": "Operator created",
    "operator.role_change": "Operator role changed",
    "operator.disable": "Operator disabled",
    "operator.enable": "Operator enabled",
    "operator.password_reset": "Operator password reset",
    "operator.unlock": "Operator unlocked",
    "operator.invite": "Operator invited (link)",
    "operator.sessions_end": "Operator sessions ended",
    "operator.link_used": "Password set through a link",
    "audit.export": "Audit log exported",
    "audit.pruned": "Audit log pruned",
}
#: action -> label, for filters, lists and the overview (sign-in, providers, administration)
#: entries whose alias matches a search, at most (their events are found by entry id)
ALIAS_MATCHES = 500
ACTIONS = {**CONSOLE_ACTIONS, **providers.audit_actions(), **ADMIN_ACTIONS}
GROUPS = {
    "auth.": "All sign-in events",
    **providers.audit_groups(),
    "operator.": "All operator events",
}
OUTCOMES = {
    "success": "Success",
    "failure": "Failed upstream",
    "refused": "Refused",
    "attempt": "Attempt",
}
PAGE_SIZE = 50
#: Events a free-text (substring) search examines per page.
SEARCH_WINDOW = 50_000
_ID_LIKE = re.compile(r"^[0-9a-f]{32}$")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditQuery:
    operator: str = ""
    action: str = ""
    outcome: str = ""
    entry: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    attempts: bool = False
    before: int | None = None
    after: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditQuery:
        def cursor(name: str) -> int | None:
            value = args.get(name, "")
            # ids are SQLite INTEGERs: anything longer than 18 digits cannot be one
            return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None

        action = (args.get("action") or "").strip()[:64]
        return cls(
            operator=(args.get("operator") or "").strip().lower()[:64],
            action=action if action in ACTIONS or action in GROUPS else "",
            outcome=args.get("outcome", "") if args.get("outcome") in OUTCOMES else "",
            entry=(args.get("entry") or "").strip()[:255],
            since=_date(args.get("since")),
            until=_date(args.get("until")),
            q=(args.get("q") or "").strip()[:200],
            attempts=args.get("attempts") in ("1", "on", "y"),
            before=cursor("before"),
            after=cursor("after"),
        )

    @property
    def filtered(self) -> bool:
        return any(
            (self.operator, self.action, self.outcome, self.entry, self.since, self.until, self.q)
        )

    @property
    def id_search(self) -> bool:
        """Free text that is a request or batch id: an exact, indexed lookup."""
        return bool(_ID_LIKE.match(self.q.lower()))

    def args(self, **changes: object) -> dict[str, str]:
        query = replace(self, **changes)  # type: ignore[arg-type]
        out: dict[str, str] = {}
        for name in ("operator", "action", "outcome", "entry", "q"):
            if getattr(query, name):
                out[name] = getattr(query, name)
        for name in ("since", "until"):
            if getattr(query, name):
                out[name] = getattr(query, name).isoformat()
        if query.attempts:
            out["attempts"] = "1"
        for name in ("before", "after"):
            if getattr(query, name) is not None:
                out[name] = str(getattr(query, name))
        return out

    def url(self, base: str, **changes: object) -> str:
        args = self.args(**changes)
        return f"{base}?{urlencode(args)}" if args else base

    # ---------------------------------------------------------------- SQL
    def common(self) -> list:
        """Conditions every branch shares (equality filters and the substring search)."""
        conditions = []
        if self.operator:
            conditions.append(AuditEvent.operator == self.operator)
        if self.outcome:
            conditions.append(AuditEvent.outcome == self.outcome)
        elif not self.attempts:
            conditions.append(AuditEvent.phase != "attempt")
        if self.q and not self.id_search:
            like = f"%{escape_like(self.q)}%"
            columns = (
                AuditEvent.target_pid, AuditEvent.target_domain, AuditEvent.message,
                AuditEvent.operator, AuditEvent.action, AuditEvent.fields,
            )  # fmt: skip
            matches = [c.ilike(like, escape="\\") for c in columns]
            # what the rows show: action labels ("revealed") and entry aliases
            needle = self.q.casefold()
            labelled = [a for a, label in ACTIONS.items() if needle in label.casefold()]
            if labelled:
                matches.append(AuditEvent.action.in_(labelled))
            aliased = select(IndexedEntry.id).where(
                IndexedEntry.user_alias.ilike(like, escape="\\")
            )
            matches.append(AuditEvent.target_id.in_(aliased.limit(ALIAS_MATCHES).scalar_subquery()))
            conditions.append(or_(*matches))
        return conditions

    def branches(self) -> list[list]:
        """Alternative conditions (one indexed query each); their union is the result."""
        options: list[list[list]] = []
        if self.entry:
            options.append(
                [[AuditEvent.target_id == self.entry], [AuditEvent.target_pid == self.entry]]
            )
        if self.action in GROUPS:
            group = [a for a in ACTIONS if a.startswith(self.action)]
            options.append([[AuditEvent.action == a] for a in group])
        elif self.action:
            options.append([[AuditEvent.action == self.action]])
        if self.id_search:
            q = self.q.lower()
            options.append([[AuditEvent.request_id == q], [AuditEvent.batch_id == q]])
        branches: list[list] = [[]]
        for alternatives in options:
            branches = [b + alt for b in branches for alt in alternatives]
        return branches

    def statement(self, branch: list) -> Select:
        return select(AuditEvent).where(*self.common(), *branch)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class AuditPage:
    events: list[AuditEvent]
    newer: int | None  # cursor for the "newer" link (after=)
    older: int | None  # cursor for the "older" link (before=)
    searched_from: int | None = None  # a bounded text search stopped here (search further back)


def id_range(session, query: AuditQuery) -> tuple[int | None, int | None]:
    """(lowest id, highest id) allowed by the date filters, via the ``ts`` index."""
    low = high = None
    if query.since:
        low = session.scalar(
            select(AuditEvent.id).where(AuditEvent.ts >= query.since.isoformat())
            .order_by(AuditEvent.ts).limit(1)
        )  # fmt: skip
        low = low if low is not None else 2**62  # nothing that recent
    if query.until:
        end = (query.until + timedelta(days=1)).isoformat()
        high = session.scalar(
            select(AuditEvent.id).where(AuditEvent.ts < end)
            .order_by(AuditEvent.ts.desc()).limit(1)
        )  # fmt: skip
        high = high if high is not None else -1  # nothing that old
    return low, high


def run(session, query: AuditQuery, page_size: int = PAGE_SIZE) -> AuditPage:
    low, high = id_range(session, query)
    newest_first = query.after is None
    if query.after is not None:
        low = max(low or 0, query.after + 1)
    if query.before is not None:
        high = min(high if high is not None else query.before - 1, query.before - 1)
    searched_from = None
    if query.q and not query.id_search and newest_first:
        top = high if high is not None else session.scalar(select(func.max(AuditEvent.id))) or 0
        window_low = top - SEARCH_WINDOW + 1
        if low is None or window_low > low:
            low, searched_from = window_low, window_low
    rows = merged_page(session, query, low, high, page_size + 1, newest_first)
    if newest_first:
        events = rows[:page_size]
        older = events[-1].id if len(rows) > page_size else None
        if older is None and searched_from is not None and searched_from > 1:
            older = searched_from  # nothing more in the window: continue below it
        else:
            searched_from = None
        newer = events[0].id if query.before is not None and events else None
        return AuditPage(events, newer, older, searched_from)
    page = list(reversed(rows[:page_size]))
    newer = page[0].id if len(rows) > page_size and page else None
    return AuditPage(page, newer, page[-1].id if page else None)


def merged_page(session, query, low, high, limit, newest_first):
    order = AuditEvent.id.desc() if newest_first else AuditEvent.id.asc()
    results = []
    for branch in query.branches():
        stmt = query.statement(branch)
        if low is not None:
            stmt = stmt.where(AuditEvent.id >= low)
        if high is not None:
            stmt = stmt.where(AuditEvent.id <= high)
        results.append(list(session.scalars(stmt.order_by(order).limit(limit))))
    if len(results) == 1:
        return results[0]
    key = (lambda e: -e.id) if newest_first else (lambda e: e.id)
    merged, seen = [], set()
    for event in heapq.merge(*results, key=key):
        if event.id not in seen:
            seen.add(event.id)
            merged.append(event)
        if len(merged) == limit:
            break
    return merged


def export_statements(query: AuditQuery, session) -> tuple[list[Select], int | None, int | None]:
    """The branch statements and id bounds for streaming an export of ``query``'s view."""
    low, high = id_range(session, query)
    return [query.statement(branch) for branch in query.branches()], low, high
