"""Keys, ids and v3 field envelopes of the r4 emulator."""

from __future__ import annotations

import base64
import json
import re
import secrets
import string

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.r4.checkpoints import spki_fingerprint

API_KEY_RE = re.compile(r"rk_[0-9a-f]{12}\.[A-Za-z0-9]{24}")
_ALNUM = string.ascii_letters + string.digits


def new_id() -> str:
    """24 lowercase hex characters (ObjectId-like, as in the r4 examples)."""
    return secrets.token_hex(12)


def is_id(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{24}", value))


def new_api_key() -> str:
    """``rk_<12 hex>.<24 alphanumerics>``: access key id ``.`` secret."""
    return f"rk_{secrets.token_hex(6)}.{''.join(secrets.choice(_ALNUM) for _ in range(24))}"


def check_api_key(api_key: str) -> str:
    if not api_key or any(ch.isspace() for ch in api_key) or len(api_key) > 256:
        raise ValueError("The API key must be a non-empty string without spaces.")
    return api_key


def new_signer_key() -> tuple[str, str, str]:
    """A fresh RSA-2048 key pair: (PKCS#8 private PEM, SPKI public PEM, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return private_pem, public_pem, spki_fingerprint(public)


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def new_dek() -> str:
    return secrets.token_bytes(32).hex()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def seal(plaintext: str, dek_hex: str) -> str:
    """A v3 envelope string ``{"v":3,"iv","t","d"}``: AES-256-GCM under the vault DEK,
    12-byte IV, 16-byte tag, standard base64, no AAD (all emulator choices)."""
    iv = secrets.token_bytes(12)
    sealed = AESGCM(bytes.fromhex(dek_hex)).encrypt(iv, plaintext.encode("utf-8"), None)
    data, tag = sealed[:-16], sealed[-16:]
    return json.dumps(
        {"v": 3, "iv": _b64(iv), "t": _b64(tag), "d": _b64(data)}, separators=(",", ":")
    )


def open_envelope(envelope: str, dek_hex: str) -> str:
    """Inverse of :func:`seal` (for the emulator's own tests)."""
    parts = json.loads(envelope)
    raw = base64.b64decode(parts["d"]) + base64.b64decode(parts["t"])
    return (
        AESGCM(bytes.fromhex(dek_hex))
        .decrypt(base64.b64decode(parts["iv"]), raw, None)
        .decode("utf-8")
    )
