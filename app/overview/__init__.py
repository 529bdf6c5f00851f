"""The overview page: what needs attention across the vault, at a glance (every role).

Each tile is a saved list query: its count is the list's own SQL on the entries index
(:func:`app.entries.listing.conditions`), and it links to that list, so a tile and the list
it opens can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, url_for
from flask_login import login_required
from sqlalchemy import func, select

from app.audit.query import ACTIONS
from app.entries.listing import ListQuery, conditions
from app.extensions import db
from app.models import AuditEvent, IndexedEntry
from app.services import entry_index
from app.upstream_errors import UpstreamError
from app.web import render

bp = Blueprint("overview", __name__)

#: (title, what it means, list arguments, tone) in display order
TILES: tuple[tuple[str, str, dict[str, str], str], ...] = (
    ("Entries", "in the vault", {}, "neutral"),
    ("Sessions expired", "agents must sign in again", {"session": "expired"}, "bad"),
    ("Expiring within 24\u00a0h", "sessions about to lapse", {"session": "expiring"}, "warn"),
    (
        "Authenticator 2FA without a secret",
        "agents cannot produce a code",
        {"check": "tfa_no_secret"},
        "bad",
    ),
    ("No 2FA", "entries without a second factor", {"tfa": "none"}, "neutral"),
    ("Persistence off", "nothing kept between runs", {"check": "persistence_off"}, "neutral"),
    (
        "Changed outside the console",
        "in the last 7 days",
        {"check": "changed_outside"},
        "warn",
    ),
    ("Provider-backed", "credentials from 1Password", {"source": "provider"}, "neutral"),
)
RECENT_EVENTS = 20


@dataclass(frozen=True)
class Tile:
    title: str
    hint: str
    count: int
    url: str
    tone: str


def tiles(now: datetime) -> list[Tile]:
    out = []
    for title, hint, args, tone in TILES:
        query = ListQuery.from_args(args)
        count = db.session.scalar(
            select(func.count()).select_from(IndexedEntry).where(*conditions(query, now))
        )
        out.append(Tile(title, hint, count or 0, query.url(url_for("entries.list")), tone))
    return out


def recent_events() -> list[AuditEvent]:
    """The latest console events (results and single events; attempts are left out)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.phase != "attempt")
            .order_by(AuditEvent.id.desc())
            .limit(RECENT_EVENTS)
        )
    )


@bp.get("/overview")
@login_required
def index():
    error = None
    try:
        index_status = entry_index.ensure_fresh()
    except UpstreamError as exc:
        index_status, error = entry_index.status(), exc.message
    now = datetime.now(UTC)
    return render(
        "overview/index.html",
        block="tiles",
        tiles=tiles(now) if index_status.ready else [],
        index=index_status,
        error=error or index_status.error,
        events=recent_events(),
        action_labels=ACTIONS,
    )
