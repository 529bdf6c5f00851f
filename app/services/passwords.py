"""Operator password hashing with Argon2id (argon2-cffi defaults, RFC 9106 low-memory)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

_hasher = PasswordHasher()
#: Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def configure(memory_kib: int | None = None, time_cost: int | None = None) -> None:
    """Argon2id cost (defaults: argon2-cffi's RFC 9106 low-memory profile). Existing hashes
    keep verifying; they are re-hashed with the new cost at the next sign-in."""
    global _hasher, _DUMMY_HASH
    defaults = PasswordHasher()
    _hasher = PasswordHasher(
        time_cost=time_cost or defaults.time_cost,
        memory_cost=memory_kib or defaults.memory_cost,
        parallelism=defaults.parallelism,
    )
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def generate_password() -> str:
    """A random password an operator can type: 20 url-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


#: the 30,000 most common passwords of leaked lists, as the zxcvbn package ships them
COMMON_PASSWORDS: frozenset[str] = frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """``password`` (ignoring case and surrounding spaces) is on the common-passwords list."""
    return password.strip().lower() in COMMON_PASSWORDS


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why ``password`` may not be set (every place that sets a password asks this), or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    if is_common(password):
        return "This password is on a list of common passwords; choose another."
    if username and username.strip().lower() in password.lower():
        return "Do not use your username in your password."
    return None
