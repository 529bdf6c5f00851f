"""``GET /vault/tfa-code``: the current authenticator code or the latest fresh email code.

Email inboxes are emulated two ways: codes recorded through the control endpoint
``POST /_sandbox/email-codes``, and, for entries seeded with ``simulated_inbox``, an
inbox that "receives" a new code every :data:`INBOX_PERIOD` seconds (derived from
the entry id and the time slot, so every process and restart agrees on it).
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.cloudcruise.crypto import DecryptionError, decrypt_value
from app.cloudcruise.totp import PERIOD as TOTP_PERIOD
from app.cloudcruise.totp import code_at

from . import computed
from .errors import ApiError, conflict, not_found
from .store import Store
from .validation import totp_secret_ok
from .workspace import Workspace

EMAIL_FRESHNESS = timedelta(minutes=10)
INBOX_PERIOD = 300


def simulated_inbox_code(entry_id: str, now: float) -> tuple[str, float]:
    """``(code, received_at epoch)`` of the latest code the simulated inbox received."""
    slot = int(now // INBOX_PERIOD)
    for candidate in (slot, slot - 1):
        digest = hmac.new(b"sandbox-inbox", f"{entry_id}:{candidate}".encode(), "sha256").digest()
        received = candidate * INBOX_PERIOD + 3 + digest[0] % 15
        if received <= now:
            return f"{int.from_bytes(digest[1:5], 'big') % 1_000_000:06d}", received
    raise AssertionError("unreachable: the previous slot always has a code")


def totp_at(secret: str, moment: float) -> str:
    """RFC 6238 code via pyotp (:mod:`app.cloudcruise.totp` also accepts 80-bit secrets)."""
    return code_at(secret.replace(" ", "").upper().rstrip("="), moment)


def _totp(secret: str, now: float) -> dict[str, Any]:
    return {
        "type": "authenticator",
        "code": totp_at(secret, now),
        "expires_in_seconds": TOTP_PERIOD - int(now) % TOTP_PERIOD,
    }


def current_code(
    store: Store, workspace: Workspace, permissioned_user_id: str, domain: str
) -> dict[str, Any]:
    now = time.time()
    with store.read() as db:
        row = db.entry(permissioned_user_id, domain)
        if row is None:
            raise not_found()
        entry = row.data
        method = entry.get("tfa_method")
        if method == "AUTHENTICATOR":
            provider_id = entry.get("secret_provider_id")
            if provider_id:
                item = db.provider_item(provider_id, entry.get("secret_ref") or "") or {}
                secret = item.get("totp_secret")
                if not secret:
                    raise conflict(
                        "The secret provider item has no one-time password field",
                        code="TFA_NOT_AVAILABLE",
                    )
                return _totp(secret, now)
            try:
                secret = decrypt_value(entry.get("tfa_secret"), workspace.encryption_key)
            except DecryptionError:
                raise conflict(
                    "The stored tfa_secret cannot be decrypted with this workspace's "
                    "encryption key",
                    code="TFA_NOT_AVAILABLE",
                ) from None
            if not totp_secret_ok(secret):
                raise conflict("The stored tfa_secret is not a base32 TOTP secret")
            return _totp(secret, now)
        if method == "EMAIL":
            candidates = []
            recorded = db.latest_email_code(row.id)
            if recorded:
                candidates.append((computed.parse_ts(recorded[1]), recorded[0]))
            if entry.get("simulated_inbox"):
                code, received = simulated_inbox_code(row.id, now)
                candidates.append((datetime.fromtimestamp(received, UTC), code))
            fresh = [
                c for c in candidates if c[0] >= datetime.fromtimestamp(now, UTC) - EMAIL_FRESHNESS
            ]
            if not fresh:
                raise ApiError(404, "No fresh 2FA code has been received")
            received_at, code = max(fresh)
            return {"type": "email", "code": code, "received_at": computed.format_ts(received_at)}
    reasons = {
        "SMS": "2FA codes for SMS credentials are not available through the API",
        "MAGIC_LINK": "Magic-link credentials have no 2FA code",
        None: "This vault entry has no 2FA method configured",
    }
    raise conflict(reasons.get(method, "No 2FA code is available"), code="TFA_NOT_AVAILABLE")


def record_email_code(store: Store, permissioned_user_id: str, domain: str, code: str) -> dict:
    received_at = computed.format_ts(computed.utcnow())
    with store.write() as db:
        row = db.entry(permissioned_user_id, domain)
        if row is None:
            raise not_found()
        db.add_email_code(row.id, code, received_at)
    return {
        "permissioned_user_id": permissioned_user_id,
        "domain": domain,
        "code": code,
        "received_at": received_at,
    }
