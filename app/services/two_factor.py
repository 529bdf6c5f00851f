"""Two-factor sign-in of operators: TOTP (RFC 6238, pyotp) and one-time recovery codes.

* The TOTP secret is stored encrypted (Fernet, AES-128-CBC + HMAC) in ``operators.totp_secret``
  under ``TOTP_KEY`` (``VAULT_CONSOLE_TOTP_KEY``, or a key file in the instance folder), which
  is never in the database: a copy of the database alone does not give the secrets.
* A code is accepted once: the time step of the last accepted code is kept per operator
  (``totp-step:<id>`` in the throttle table, compared and set in one statement), so a code
  seen over a shoulder cannot be replayed within its 30 seconds.
* Recovery codes (10, shown once) are stored as a keyed HMAC under the same key, and used
  by one conditional UPDATE: two requests with one code cannot both succeed.
* Wrong codes are throttled like passwords (``totp:<id>``, the same window and limit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any, cast

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import CursorResult, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Operator, RecoveryCode, ThrottleCounter, utcnow
from app.services import throttle
from app.services.throttle import Lockout

ISSUER = "Vault Console"
RECOVERY_CODES = 10
#: a code of the step before or after the current one is accepted (clock drift)
VALID_WINDOW = 1
#: how long a secret being set up stays valid before it must be confirmed
SETUP_SECONDS = 15 * 60
_T = cast(Table, ThrottleCounter.__table__)


class TwoFactorError(ValueError):
    """The stored secret cannot be read (the key changed); the message says what to do."""


def _fernet() -> Fernet:
    key = str(current_app.config["TOTP_KEY"]).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"totp-secret|" + key).digest()))


def _hmac_key() -> bytes:
    key = str(current_app.config["TOTP_KEY"]).encode()
    return hashlib.sha256(b"recovery-code|" + key).digest()


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str, ttl: int | None = None) -> str | None:
    """The secret in ``token`` (None if it was not made with this key, or is older than ttl)."""
    try:
        return _fernet().decrypt(token.encode(), ttl=ttl).decode()
    except (InvalidToken, ValueError):
        return None


def enabled(operator: Operator) -> bool:
    return operator.totp_enabled_at is not None and bool(operator.totp_secret)


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG (no style attributes: the CSP forbids them)."""
    qr = segno.make(uri, error="m")
    return str(qr.svg_inline(scale=4, dark="#000", light="#fff", title="QR code to scan"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an authenticator by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalize(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _step_of(secret: str, code: str) -> int | None:
    """The time step ``code`` belongs to (within the drift window), or None."""
    digits = _normalize(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        at = now + timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(at), digits):
            return int(totp.timecode(at))
    return None


def code_matches(secret: str, code: str) -> bool:
    """``code`` is valid now for ``secret`` (setup confirmation: no replay bookkeeping)."""
    return _step_of(secret, code) is not None


def _claim_step(operator_id: int, step: int) -> bool:
    """Record ``step`` as used; False when it (or a later one) was used already."""
    key = f"totp-step:{operator_id}"
    bump = (
        update(_T)
        .where(_T.c.key == key, _T.c.count < step)
        .values(count=step, window_start=utcnow())
    )
    result = cast("CursorResult[Any]", db.session.execute(bump))
    if result.rowcount:
        db.session.commit()
        return True
    if db.session.scalar(select(_T.c.count).where(_T.c.key == key)) is not None:
        db.session.rollback()
        return False  # this code, or a later one, was accepted already
    try:
        with db.session.begin_nested():
            db.session.execute(insert(_T).values(key=key, window_start=utcnow(), count=step))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def verify_totp(operator: Operator, code: str) -> bool:
    """``code`` is the operator's current TOTP code, not used before."""
    if not enabled(operator):
        return False
    secret = decrypt(operator.totp_secret or "")
    if secret is None:
        raise TwoFactorError(
            "The two-factor secret cannot be read with this console's TOTP key "
            "(VAULT_CONSOLE_TOTP_KEY changed?). Sign in with a recovery code."
        )
    step = _step_of(secret, code)
    return step is not None and _claim_step(operator.id, step)


def looks_like_recovery_code(code: str) -> bool:
    return len(_normalize(code)) == 10


def _code_hash(code: str) -> str:
    return hmac.new(_hmac_key(), _normalize(code).encode(), hashlib.sha256).hexdigest()


def use_recovery_code(operator: Operator, code: str) -> bool:
    """Spend one of the operator's recovery codes (each works once)."""
    if not looks_like_recovery_code(code):
        return False
    spend = (
        update(RecoveryCode)
        .where(
            RecoveryCode.operator_id == operator.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    result = cast("CursorResult[Any]", db.session.execute(spend))
    db.session.commit()
    return bool(result.rowcount)


def new_recovery_codes(operator: Operator) -> list[str]:
    """Ten new recovery codes (the old ones stop working); shown once by the caller."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.operator_id == operator.id))
    now = utcnow()
    for code in codes:
        db.session.add(
            RecoveryCode(operator_id=operator.id, code_hash=_code_hash(code), created_at=now)
        )
    db.session.commit()
    return codes


def recovery_codes_left(operator: Operator) -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.operator_id == operator.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def enable(operator: Operator, secret: str) -> list[str]:
    """Turn two-factor sign-in on with ``secret`` (confirmed by a code); the recovery codes."""
    operator.totp_secret = encrypt(secret)
    operator.totp_enabled_at = utcnow()
    db.session.commit()
    return new_recovery_codes(operator)


def disable(operator: Operator) -> None:
    operator.totp_secret = None
    operator.totp_enabled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.operator_id == operator.id))
    db.session.execute(delete(_T).where(_T.c.key == f"totp-step:{operator.id}"))
    db.session.commit()


def verify(operator: Operator, code: str) -> str | None:
    """How ``code`` was accepted ("totp" or "recovery code"), or None when it is wrong."""
    if looks_like_recovery_code(code):
        return "recovery code" if use_recovery_code(operator, code) else None
    return "totp" if verify_totp(operator, code) else None


def attempt(operator_id: int) -> Lockout | None:
    """Count a code attempt (before checking it), like a password attempt."""
    cfg = current_app.config
    window = int(cfg["LOGIN_LOCKOUT_SECONDS"])
    # the throttle's atomic counter, under this module's own key
    count, start = throttle._count(f"totp:{operator_id}", window)
    if count > int(cfg["LOGIN_MAX_FAILURES"]):
        return throttle._lockout(start, window)
    return None


def attempts_left(operator_id: int) -> int:
    count = db.session.scalar(select(_T.c.count).where(_T.c.key == f"totp:{operator_id}"))
    return max(0, int(current_app.config["LOGIN_MAX_FAILURES"]) - int(count or 0))


def succeeded(operator_id: int) -> None:
    db.session.execute(delete(_T).where(_T.c.key == f"totp:{operator_id}"))
    db.session.commit()
