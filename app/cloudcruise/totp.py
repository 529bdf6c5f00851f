"""TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s) computed with pyotp.

pyotp 2.10+ refuses secrets shorter than 112 bits, but many sites still issue 80-bit
(16-character) secrets and authenticator apps accept them; CloudCruise agents must sign in
with what the site gave. :class:`SiteTOTP` keeps pyotp's algorithm and only relaxes that
length check to 80 bits.
"""

from __future__ import annotations

import base64
import time

import pyotp

PERIOD = 30
MIN_SECRET_BYTES = 10  # 80 bits


class SiteTOTP(pyotp.TOTP):
    def byte_secret(self) -> bytes:
        secret = self.secret.upper()
        decoded = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
        if len(decoded) < MIN_SECRET_BYTES:
            raise ValueError("TOTP secrets must be at least 80 bits")
        return decoded


def code_at(secret: str, moment: float | None = None) -> str:
    return SiteTOTP(secret).at(time.time() if moment is None else moment)


def current_code(secret: str, moment: float | None = None) -> tuple[str, int]:
    """The code for ``moment`` (default now) and the seconds it stays valid."""
    now = time.time() if moment is None else moment
    return code_at(secret, now), PERIOD - int(now) % PERIOD
