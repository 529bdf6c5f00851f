"""Throttling of password checks (sign-in and re-authentication), shared by every worker and
host through the console database.

Each attempt is **counted before the password is checked**, by one atomic statement per key
(``UPDATE … SET count = count + 1 … RETURNING count``, or the first INSERT): the database
serialises concurrent attempts on the counter's row, so of N simultaneous guesses at most the
limit are ever evaluated, on SQLite and PostgreSQL alike. A counter's window starts at its
first counted attempt and lasts ``window`` seconds. A successful sign-in clears the
account's counter and gives its slot back to the address's counter.

Limits: ``LOGIN_MAX_FAILURES`` per (username, client address) pair, so failures from one
address never lock the operator out of another (the right password from an address that has
not failed still signs in); four times that per address across usernames (password
spraying); ``LOGIN_MAX_FAILURES`` per operator for re-authentication. Unknown usernames
count only against their address, so they cannot fill the table; counters whose window
has passed are deleted when new ones are made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete, insert, literal, or_, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ThrottleCounter, utcnow

IP_FACTOR = 4
# the declarative ``__table__`` is typed as any FromClause; these models map Tables
_T = cast(Table, ThrottleCounter.__table__)


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed sign-in attempts. Try again in {minutes} {unit}."


def _count(key: str, window: int) -> tuple[int, datetime]:
    """Count one attempt for ``key`` atomically; (attempts in the window, window start)."""
    now = utcnow()
    since = now - timedelta(seconds=window)
    expired = _T.c.window_start < since
    # typed like the column (UTC, naive in the database): a bare aware datetime inside CASE
    # would reach PostgreSQL as a timestamptz and be shifted into the session's time zone
    restart = literal(now, type_=_T.c.window_start.type)
    bump = (
        update(_T)
        .where(_T.c.key == key)
        .values(
            count=case((expired, 1), else_=_T.c.count + 1),
            window_start=case((expired, restart), else_=_T.c.window_start),
        )
        .returning(_T.c.count, _T.c.window_start)
    )
    # on the request's own connection (one per request: never two from the pool at once)
    session = db.session
    for _ in range(3):
        row = session.execute(bump).first()
        if row is not None:
            session.commit()
            # ``row.count`` would be typed as Sequence.count (SQLAlchemy resolves it at run time)
            return int(row._mapping["count"]), row.window_start
        try:
            with session.begin_nested():
                session.execute(delete(_T).where(_T.c.window_start < since))
                session.execute(insert(_T).values(key=key, window_start=now, count=1))
            session.commit()
            return 1, now
        except IntegrityError:
            session.rollback()  # another process inserted it first: count on its row
    raise RuntimeError(f"could not count an attempt for {key!r}")


def _lockout(window_start: datetime, window: int) -> Lockout:
    remaining = (window_start + timedelta(seconds=window) - utcnow()).total_seconds()
    return Lockout(retry_after=max(1, int(remaining) + 1))


def _pair(username: str, ip: str) -> str:
    return f"user:{username[:64]}|{ip[:64]}"


def attempt(
    username: str, ip: str, *, known: bool, max_failures: int, window: int
) -> Lockout | None:
    """Count a sign-in attempt; a :class:`Lockout` means: refuse, do not check the password."""
    if known:
        count, start = _count(_pair(username, ip), window)
        if count > max_failures:
            return _lockout(start, window)
    count, start = _count(f"ip:{ip[:64]}", window)
    if count > max_failures * IP_FACTOR:
        return _lockout(start, window)
    return None


def succeeded(username: str, ip: str) -> None:
    """The password was right: the account starts afresh; the address gets its slot back."""
    engine = db.engine
    assert engine is not None, "Database.init_app() has not run"
    with engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.key == _pair(username, ip)))
        conn.execute(
            update(_T)
            .where(_T.c.key == f"ip:{ip[:64]}", _T.c.count > 0)
            .values(count=_T.c.count - 1)
        )


def unlock(username: str, operator_id: int | None) -> int:
    """Forget the failed attempts counted against ``username`` (from every address), its
    password re-entries and its wrong two-factor codes: the operator may sign in at once.
    Returns the keys cleared."""
    engine = db.engine
    assert engine is not None, "Database.init_app() has not run"
    prefix = f"user:{username[:64]}|"
    keys = [_T.c.key.startswith(prefix, autoescape=True)]
    if operator_id is not None:
        keys += [_T.c.key == f"sudo:{operator_id}", _T.c.key == f"totp:{operator_id}"]
    with engine.begin() as conn:
        return int(conn.execute(delete(_T).where(or_(*keys))).rowcount or 0)


def reauth_attempt(
    operator_id: int, *, max_failures: int, window: int
) -> tuple[Lockout | None, int]:
    """Count a password re-entry (sudo, export) of a signed-in operator: (a lockout, or None;
    attempts left after this one)."""
    count, start = _count(f"sudo:{operator_id}", window)
    lockout = _lockout(start, window) if count > max_failures else None
    return lockout, max(0, max_failures - count)


def reauth_succeeded(operator_id: int) -> None:
    db.session.execute(delete(_T).where(_T.c.key == f"sudo:{operator_id}"))
    db.session.commit()
