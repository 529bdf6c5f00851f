"""Filtering and keyset pagination over audit events (fast at millions of rows).

Pages are cut by event id, newest first: ``before=<id>`` shows older events, ``after=<id>``
newer ones. Every filter is backed by an index that starts with the filtered column and ends
with ``id`` (see the model), so a page costs the same on the millionth event as on the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy import Select, or_, select

from app.models import AuditEvent

ACTIONS = {
    "auth.login": "Sign-in",
    "auth.logout": "Sign-out",
    "auth.sudo": "Password re-entry (sudo)",
    "entry.create": "Entry created",
    "entry.credentials.update": "Credentials edited",
    "entry.twofactor.update": "Two-factor edited",
    "entry.session.update": "Session persistence edited",
    "entry.concurrency.update": "Concurrency edited",
    "entry.proxy.update": "Proxy edited",
    "entry.provider.update": "Secret provider edited",
    "entry.delete": "Entry deleted",
    "entry.clear_state": "Browser state cleared",
    "entry.user_name.reveal": "Username revealed",
    "entry.password.reveal": "Password revealed",
    "entry.tfa_secret.reveal": "TFA secret revealed",
    "entry.proxy_value.reveal": "Proxy URL revealed",
    "entry.tfa_code.view": "2FA code viewed",
    "operator.create": "Operator created",
    "operator.role_change": "Operator role changed",
    "operator.disable": "Operator disabled",
    "audit.export": "Audit log exported",
}
OUTCOMES = {
    "success": "Success",
    "failure": "Failed upstream",
    "refused": "Refused",
    "attempt": "Attempt",
}
PAGE_SIZE = 50


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
            action=action if action in ACTIONS or action.endswith(".") else "",
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

    def filters(self) -> Select:
        """SELECT of matching events, without ordering or paging (also used by export)."""
        stmt = select(AuditEvent)
        if self.operator:
            stmt = stmt.where(AuditEvent.operator == self.operator)
        if self.action:
            if self.action.endswith("."):
                stmt = stmt.where(AuditEvent.action.startswith(self.action, autoescape=True))
            else:
                stmt = stmt.where(AuditEvent.action == self.action)
        if self.outcome:
            stmt = stmt.where(AuditEvent.outcome == self.outcome)
        elif not self.attempts:
            stmt = stmt.where(AuditEvent.phase != "attempt")
        if self.entry:
            stmt = stmt.where(
                or_(AuditEvent.target_id == self.entry, AuditEvent.target_pid == self.entry)
            )
        if self.since:
            stmt = stmt.where(AuditEvent.ts >= self.since.isoformat())
        if self.until:
            stmt = stmt.where(AuditEvent.ts < (self.until + timedelta(days=1)).isoformat())
        if self.q:
            like = f"%{self.q}%"
            stmt = stmt.where(
                or_(
                    *(
                        column.ilike(like, escape="\\")
                        for column in (
                            AuditEvent.target_pid,
                            AuditEvent.target_domain,
                            AuditEvent.message,
                            AuditEvent.operator,
                            AuditEvent.action,
                            AuditEvent.request_id,
                            AuditEvent.batch_id,
                            AuditEvent.fields,
                        )
                    )
                )
            )
        return stmt


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class AuditPage:
    events: list[AuditEvent]
    newer: int | None  # cursor for the "newer" link (after=)
    older: int | None  # cursor for the "older" link (before=)


def run(session, query: AuditQuery, page_size: int = PAGE_SIZE) -> AuditPage:
    if query.q:
        query = replace(query, q=escape_like(query.q))
    stmt = query.filters()
    if query.after is not None:
        rows = list(
            session.scalars(
                stmt.where(AuditEvent.id > query.after)
                .order_by(AuditEvent.id.asc())
                .limit(page_size + 1)
            )
        )
        more_newer = len(rows) > page_size
        events = list(reversed(rows[:page_size]))
        newer = events[0].id if more_newer and events else None
        older = events[-1].id if events else None
        return AuditPage(events, newer, older)
    if query.before is not None:
        stmt = stmt.where(AuditEvent.id < query.before)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(page_size + 1)))
    events = rows[:page_size]
    older = events[-1].id if len(rows) > page_size else None
    newer = events[0].id if query.before is not None and events else None
    return AuditPage(events, newer, older)
