"""Login throttling per username and per client IP, shared by all worker processes.

Attempts live in the database, so a lockout holds whichever worker answers. An account is
locked after ``LOGIN_MAX_FAILURES`` failures since its last success within the lockout
window; an IP after four times that many failures across usernames (password spraying).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import LoginAttempt, utcnow

IP_FACTOR = 4


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed sign-in attempts. Try again in {minutes} {unit}."


def _window_start(window: int) -> datetime:
    return utcnow() - timedelta(seconds=window)


def check(username: str, ip: str, *, max_failures: int, window: int) -> Lockout | None:
    """A :class:`Lockout` when this username or IP may not try now."""
    since = _window_start(window)
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    user_since = max(since, last_success) if last_success else since
    user_failures = list(
        db.session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > user_since,
            )
            .order_by(LoginAttempt.at.desc())
            .limit(max_failures)
        )
    )
    if len(user_failures) >= max_failures:
        return _lockout(user_failures[-1], window)
    ip_limit = max_failures * IP_FACTOR
    ip_failures = list(
        db.session.scalars(
            select(LoginAttempt.at)
            .where(LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .limit(ip_limit)
        )
    )
    if len(ip_failures) >= ip_limit:
        return _lockout(ip_failures[-1], window)
    return None


def _lockout(oldest_counted: datetime, window: int) -> Lockout:
    remaining = (oldest_counted + timedelta(seconds=window) - utcnow()).total_seconds()
    return Lockout(retry_after=max(1, int(remaining) + 1))


def record(username: str, ip: str, success: bool, *, window: int) -> None:
    db.session.add(LoginAttempt(username=username[:64], ip=ip[:64], success=success, at=utcnow()))
    # Keep the table small: attempts older than a day past the window are useless.
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < _window_start(window + 86400)))
    db.session.commit()
