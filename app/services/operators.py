"""Operator accounts: create, look up, authenticate, change role, disable."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Operator, Role, utcnow
from app.services import passwords, sessions

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class OperatorError(ValueError):
    """A request about operators cannot be done; the message says why."""


def normalize_username(name: str) -> str:
    return (name or "").strip().lower()


def validate_username(name: str) -> str:
    username = normalize_username(name)
    if not USERNAME_RE.match(username):
        raise OperatorError(
            "Usernames are 2–63 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return username


def parse_role(role: str) -> Role:
    try:
        return Role((role or "").strip().lower())
    except ValueError:
        raise OperatorError("Role must be one of viewer, editor, admin.") from None


def find(username: str) -> Operator | None:
    return db.session.scalar(
        select(Operator).where(Operator.username == normalize_username(username))
    )


def get(operator_id: int) -> Operator | None:
    return db.session.get(Operator, operator_id)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Operator)) or 0


def all_operators() -> list[Operator]:
    return list(db.session.scalars(select(Operator).order_by(Operator.username)))


@dataclass
class Created:
    operator: Operator
    generated_password: str | None


def create(
    username: str, role: str, password: str | None = None, *, must_change_password: bool = False
) -> Created:
    """A new local operator. Without ``password`` one is generated (returned, shown once);
    ``must_change_password`` makes them choose their own at first sign-in."""
    username = validate_username(username)
    role_value = parse_role(role)
    if find(username):
        raise OperatorError(f"An operator named {username!r} already exists.")
    generated = None
    if password is None:
        password = generated = passwords.generate_password()
    problem = passwords.password_problem(password)
    if problem:
        raise OperatorError(f"Password rejected: {problem}")
    operator = Operator(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role_value.value,
        created_at=utcnow(),
        must_change_password=must_change_password,
    )
    db.session.add(operator)
    db.session.commit()
    return Created(operator, generated)


def create_invited(username: str, role: str, created_by: str | None) -> tuple[Operator, str]:
    """A new local operator who sets a first password through an invitation link (valid 24 h,
    single use); returns the operator and the link's raw token (shown once). Until then the
    account has a random password nobody knows."""
    from app.services import operator_links

    created = create(username, role)
    link_token = operator_links.create(created.operator, operator_links.INVITE, created_by)[1]
    return created.operator, link_token


def send_reset_link(username: str, created_by: str | None) -> tuple[Operator, str]:
    """A one-time password reset link for a local operator (valid 24 h); returns the
    operator and the link's raw token (shown once). SSO operators have no password here."""
    from app.services import operator_links

    operator = _require(username)
    if operator.source == "sso":
        raise OperatorError(
            f"{operator.username!r} signs in through single sign-on and has no password here."
        )
    return operator, operator_links.create(operator, operator_links.RESET, created_by)[1]


def end_sessions(username: str) -> tuple[Operator, int]:
    """End every open session of ``username`` on every host; how many ended."""
    operator = _require(username)
    ended = sessions.end_all(operator.id)
    db.session.commit()
    return operator, ended


def authenticate(username: str, password: str) -> Operator | None:
    """The operator if the password matches and the account is enabled, else None."""
    operator = find(username)
    ok = passwords.verify_password(operator.password_hash if operator else None, password)
    if not ok or operator is None or not operator.is_active:
        return None
    if passwords.needs_rehash(operator.password_hash):
        operator.password_hash = passwords.hash_password(password)
    operator.last_login_at = utcnow()
    db.session.commit()
    return operator


def set_role(username: str, role: str) -> tuple[Operator, str]:
    operator = _require(username)
    new_role = parse_role(role)
    old = operator.role
    if old == Role.ADMIN and new_role != Role.ADMIN and _other_active_admins(operator) == 0:
        raise OperatorError("This is the last active admin; make someone else admin first.")
    operator.role = new_role.value
    sessions.end_all(operator.id)  # a new role takes effect at the next sign-in
    db.session.commit()
    return operator, old


def disable(username: str) -> Operator:
    operator = _require(username)
    if operator.disabled_at is not None:
        raise OperatorError(f"{operator.username!r} is already disabled.")
    if operator.role == Role.ADMIN and _other_active_admins(operator) == 0:
        raise OperatorError("This is the last active admin; it cannot be disabled.")
    operator.disabled_at = utcnow()
    operator.session_version += 1
    sessions.end_all(operator.id)  # ends their open sessions on every host
    db.session.commit()
    return operator


def enable(username: str) -> Operator:
    operator = _require(username)
    if operator.disabled_at is None:
        raise OperatorError(f"{operator.username!r} is not disabled.")
    operator.disabled_at = None
    db.session.commit()
    return operator


def reset_password(username: str) -> tuple[Operator, str]:
    """A new generated password for ``username`` (shown once by the caller); their open
    sessions end on every host."""
    operator = _require(username)
    password = passwords.generate_password()
    operator.password_hash = passwords.hash_password(password)
    operator.must_change_password = True  # a one-time password: changed at the next sign-in
    operator.session_version += 1
    sessions.end_all(operator.id)
    db.session.commit()
    return operator, password


def require(username: str) -> Operator:
    """The operator named ``username`` (:class:`OperatorError` if there is none)."""
    return _require(username)


def _require(username: str) -> Operator:
    operator = find(username)
    if operator is None:
        raise OperatorError(f"No operator named {normalize_username(username)!r}.")
    return operator


def _other_active_admins(operator: Operator) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Operator)
            .where(
                Operator.role == Role.ADMIN.value,
                Operator.disabled_at.is_(None),
                Operator.id != operator.id,
            )
        )
        or 0
    )
