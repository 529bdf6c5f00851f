"""Server-side sessions: signed-in browsers as rows in the console database.

The signed session cookie carries only a random token; the row keyed by the token's SHA-256
holds who is signed in, when the session started, was last used and ends at the latest
(``VAULT_CONSOLE_SESSION_HOURS``), the sudo window, user agent and IP. Every host reads the
same rows, so signing out (the row is deleted) ends the session everywhere: a replayed
cookie finds no row. Disabling an operator or changing their role or password deletes all
of their rows.

Written here rather than with Flask-Session: its SQLAlchemy backend stores an opaque
serialised dict per session id, while this console must find and end an operator's sessions,
expire them on an absolute lifetime and keep the sudo window with them; a table with those
columns does that with plain queries.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app, g, request, session
from sqlalchemy import CursorResult, delete, update

from app.extensions import db
from app.models import Operator, OperatorSession, utcnow

COOKIE_KEY = "sid"
#: last use is written at most this often (a write per request would be wasted)
TOUCH_SECONDS = 15


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(operator: Operator) -> OperatorSession:
    """Sign ``operator`` in on this browser: a new row, its token in the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    hours = float(current_app.config["SESSION_HOURS"])
    row = OperatorSession(
        id=_digest(token),
        operator_id=operator.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=hours),
        user_agent=(request.user_agent.string or "")[:512] or None,
        ip=(request.remote_addr or "")[:64] or None,
    )
    db.session.execute(delete(OperatorSession).where(OperatorSession.expires_at < now))
    db.session.add(row)
    db.session.commit()
    session[COOKIE_KEY] = token
    g.operator_session = row
    return row


def current() -> OperatorSession | None:
    """This browser's session row (None when signed out, ended elsewhere, or unknown)."""
    if "operator_session" in g:
        cached: OperatorSession | None = g.operator_session
        return cached
    token = session.get(COOKIE_KEY)
    row = db.session.get(OperatorSession, _digest(token)) if isinstance(token, str) else None
    g.operator_session = row
    return row


def ending(row: OperatorSession, now: datetime | None = None) -> str | None:
    """Why ``row`` has ended ("absolute" or "idle"), or None while it is valid."""
    now = now or utcnow()
    if row.expires_at <= now:
        return "absolute"
    if (now - row.last_seen_at).total_seconds() > current_app.config["IDLE_TIMEOUT_SECONDS"]:
        return "idle"
    return None


def touch(row: OperatorSession, force: bool = False) -> None:
    """Record activity (at most every ``TOUCH_SECONDS``, or a twentieth of a short idle
    timeout; ``force``: now, as a keep-alive does)."""
    now = utcnow()
    every = min(TOUCH_SECONDS, current_app.config["IDLE_TIMEOUT_SECONDS"] // 20)
    if force or (now - row.last_seen_at).total_seconds() >= every:
        _set(row, last_seen_at=now)


def seconds_left(row: OperatorSession, now: datetime | None = None) -> int:
    """Seconds until ``row`` ends without further activity (idle or absolute, the sooner)."""
    now = now or utcnow()
    idle = current_app.config["IDLE_TIMEOUT_SECONDS"] - (now - row.last_seen_at).total_seconds()
    return max(0, int(min(idle, (row.expires_at - now).total_seconds())))


def _set(row: OperatorSession, **values: object) -> None:
    """Write columns of this browser's row now (and keep the loaded row in step)."""
    db.session.execute(update(OperatorSession).where(OperatorSession.id == row.id).values(**values))
    db.session.commit()
    for name, value in values.items():
        setattr(row, name, value)


def end_current() -> None:
    """Sign this browser out: its row goes (on every host), the cookie is emptied."""
    row = current()
    if row is not None:
        db.session.execute(delete(OperatorSession).where(OperatorSession.id == row.id))
        db.session.commit()
    g.operator_session = None
    session.clear()


def end_all(operator_id: int) -> int:
    """End every session of an operator (disabled, new role or password); how many ended.
    The caller commits."""
    # a DELETE's result is a CursorResult; Session.execute() is typed as returning Result
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
        ),
    )
    return result.rowcount or 0


def start_sudo() -> None:
    row = current()
    if row is None:
        return
    _set(row, sudo_until=utcnow() + timedelta(seconds=current_app.config["SUDO_SECONDS"]))


def sudo_remaining() -> int:
    row = current()
    if row is None or row.sudo_until is None:
        return 0
    return max(0, int((row.sudo_until - utcnow()).total_seconds()))
