"""AES-256-GCM field encryption, byte-compatible with the official ``cloudcruise`` SDK.

Wire format (docs/cloudcruise-api.md#encryption, checked against ``cloudcruise.vault.utils``):

* key: 64 hex characters (32 bytes);
* plaintext: the UTF-8 bytes of ``json.dumps(value)`` (a string secret keeps its quotes);
* a fresh random 12-byte IV per value, no associated data, a 16-byte tag;
* output: lowercase hex of ``iv || ciphertext || tag``.

Unlike the SDK, failures are never swallowed: a wrong key, a tampered value or a
malformed payload raises :class:`DecryptionError` with a message that says which.
Error messages never contain key material, ciphertext or plaintext.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.cloudcruise import fields

IV_BYTES = 12
TAG_BYTES = 16
#: Shortest payload the SDKs accept: 12-byte IV + 16-byte tag, in hex.
MIN_PAYLOAD_HEX = 2 * (IV_BYTES + TAG_BYTES)

_KEY_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]*$")

#: Fields the client encrypts before sending (proxy_value only for custom proxies).
CREDENTIAL_FIELDS = fields.CREDENTIAL_FIELDS


class CryptoError(Exception):
    """Base class for encryption problems; messages are safe to show and log."""


class InvalidKeyError(CryptoError):
    pass


class DecryptionError(CryptoError):
    pass


def validate_key(key_hex: str | None) -> bytes:
    """Return the 32 raw key bytes, or raise :class:`InvalidKeyError` saying what is wrong."""
    if not key_hex:
        raise InvalidKeyError("The encryption key is empty; expected 64 hex characters (AES-256).")
    key_hex = key_hex.strip()
    if not _KEY_RE.match(key_hex):
        problem = (
            f"it has {len(key_hex)} characters"
            if _HEX_RE.match(key_hex)
            else "it contains characters that are not hex digits"
        )
        raise InvalidKeyError(
            f"The encryption key is not valid: {problem}; expected exactly 64 hex characters "
            "(a 256-bit AES key, as shown in CloudCruise workspace settings)."
        )
    return bytes.fromhex(key_hex)


def generate_key() -> str:
    """A fresh random workspace key in the SDK's hex format."""
    return secrets.token_bytes(32).hex()


def encrypt_value(value: Any, key_hex: str) -> str:
    """Encrypt one JSON-serialisable value exactly as ``cloudcruise.vault.utils.encrypt_data``."""
    key = validate_key(key_hex)
    iv = secrets.token_bytes(IV_BYTES)
    plaintext = json.dumps(value).encode("utf-8")
    return (iv + AESGCM(key).encrypt(iv, plaintext, None)).hex()


def decrypt_value(payload: Any, key_hex: str) -> Any:
    """Decrypt a payload made by the SDK (or :func:`encrypt_value`) and JSON-parse it."""
    key = validate_key(key_hex)
    if not isinstance(payload, str):
        raise DecryptionError("The encrypted value is not a string.")
    if len(payload) < MIN_PAYLOAD_HEX or len(payload) % 2 or not _HEX_RE.match(payload):
        raise DecryptionError("The value is not an encrypted payload (expected hex iv‖ct‖tag).")
    raw = bytes.fromhex(payload)
    iv, body = raw[:IV_BYTES], raw[IV_BYTES:]
    try:
        plaintext = AESGCM(key).decrypt(iv, body, None)
    except InvalidTag:
        raise DecryptionError(
            "The value could not be decrypted: it was encrypted with a different key "
            "or has been altered."
        ) from None
    try:
        return json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DecryptionError(
            "The value decrypted but is not JSON; it was not made by a CloudCruise client "
            "(raw, non-JSON encryption)."
        ) from None


def looks_encrypted(value: Any) -> bool:
    """True when ``value`` has the shape of an encrypted payload (it may still not decrypt)."""
    return (
        isinstance(value, str)
        and len(value) >= MIN_PAYLOAD_HEX
        and len(value) % 2 == 0
        and bool(_HEX_RE.match(value))
    )


def encrypted_fields(entry: dict[str, Any]) -> tuple[str, ...]:
    """Names of the fields of ``entry`` that travel encrypted (the SDK's rule)."""
    return tuple(f for f in fields.SECRET_FIELDS if f in entry and fields.is_secret(f, entry))


def encrypt_payload(payload: dict[str, Any], key_hex: str) -> dict[str, Any]:
    """Copy of ``payload`` with credential fields (and a custom proxy URL) encrypted.

    ``None`` values are sent as-is (meaning "clear"), matching the Python SDK, which
    only encrypts values that are not ``None``.
    """
    if payload.get("proxy_value") is not None and not payload.get("proxy_setting"):
        raise ValueError("proxy_value requires proxy_setting (so a custom URL is never sent plain)")
    out = dict(payload)
    for name in encrypted_fields(payload):
        if payload[name] is not None:
            out[name] = encrypt_value(payload[name], key_hex)
    return out
