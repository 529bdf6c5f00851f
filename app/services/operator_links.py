"""One-time links an admin hands out: an invitation (the invited person sets a first
password) or a password reset. Each is valid for 24 hours and works once.

Only the SHA-256 of a link's token is stored; :func:`create` returns the raw token once.
:func:`consume` checks the link and marks it used in one conditional UPDATE, so two
browsers racing with the same link cannot both set a password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.extensions import db
from app.models import Operator, OperatorLink, utcnow
from app.services import passwords, sessions

INVITE = "invite"
RESET = "reset"
PURPOSES = (INVITE, RESET)
#: how long a link stays valid
VALID_HOURS = 24


class LinkError(ValueError):
    """The link cannot be used (unknown, used, expired, account disabled); says why."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    operator: Operator, purpose: str, created_by: str | None, hours: float = VALID_HOURS
) -> tuple[OperatorLink, str]:
    """A new link for ``operator``; returns the row and the raw token (shown once). Earlier
    unused links of the same purpose stop working."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    now = utcnow()
    db.session.execute(
        update(OperatorLink)
        .where(
            OperatorLink.operator_id == operator.id,
            OperatorLink.purpose == purpose,
            OperatorLink.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    link = OperatorLink(
        operator_id=operator.id,
        purpose=purpose,
        token_hash=digest(token),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        created_by=created_by,
    )
    db.session.add(link)
    db.session.commit()
    return link, token


@dataclass
class Valid:
    link: OperatorLink
    operator: Operator


def check(token: str, purpose: str) -> Valid:
    """The link and its operator if ``token`` can be used now, else :class:`LinkError`."""
    link = db.session.scalar(
        select(OperatorLink).where(
            OperatorLink.token_hash == digest(token or ""), OperatorLink.purpose == purpose
        )
    )
    if link is None:
        raise LinkError("This link is not valid. Ask an admin for a new one.")
    if link.used_at is not None:
        raise LinkError("This link has already been used. Ask an admin for a new one.")
    if link.expires_at <= utcnow():
        raise LinkError("This link has expired. Ask an admin for a new one.")
    operator = db.session.get(Operator, link.operator_id)
    if operator is None:
        raise LinkError("This link is not valid. Ask an admin for a new one.")
    if not operator.is_active:
        raise LinkError("This account is disabled. Ask an admin to enable it.")
    if operator.source != "local":
        raise LinkError("This account signs in through single sign-on; it has no password.")
    return Valid(link, operator)


def consume(token: str, purpose: str, password: str) -> Operator:
    """Set ``password`` through the link and use the link up (atomically); the operator's
    open sessions end. :class:`LinkError` when the link or the password is refused."""
    valid = check(token, purpose)
    problem = passwords.password_problem(password)
    if problem:
        raise LinkError(problem)
    now = utcnow()
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(OperatorLink)
            .where(
                OperatorLink.id == valid.link.id,
                OperatorLink.used_at.is_(None),
                OperatorLink.expires_at > now,
            )
            .values(used_at=now)
        ),
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LinkError("This link has already been used. Ask an admin for a new one.")
    operator = valid.operator
    operator.password_hash = passwords.hash_password(password)
    operator.password_changed_at = now
    operator.must_change_password = False
    operator.session_version += 1
    sessions.end_all(operator.id)
    db.session.commit()
    return operator


def pending_invitations() -> set[int]:
    """Ids of operators with an invitation that is still unused and valid."""
    return set(
        db.session.scalars(
            select(OperatorLink.operator_id).where(
                OperatorLink.purpose == INVITE,
                OperatorLink.used_at.is_(None),
                OperatorLink.expires_at > utcnow(),
            )
        )
    )
