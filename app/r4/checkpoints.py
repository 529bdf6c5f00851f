"""Zero-trust verification of r4 signed checkpoints (docs/r4-api.md, "Checkpoints",
"Signature scheme", "Verification").

An r4 server serves, next to vault metadata, a checkpoint signed by a client-held key:
``{"checkpoint": {...}, "signerUserKeyPairId" | "signerEncryptionKeyId": id, "signature": str}``.
A client that does not trust the server checks that (1) the signer is in the vault's signer
directory, (2) the signature covers the checkpoint, (3) the checkpoint is about the vault
(and item) that was asked for, (4) the served metadata is exactly what was signed, and (5)
the version never goes back (:func:`rollback_check`; the caller keeps the highest version
seen per vault / item).

**The signature scheme is not public.** Everything about it is one pluggable
:class:`Scheme`. ``DEFAULT`` holds the reference's proposal, and every part of it is an
ASSUMPTION until checked against a golden vector from the real r4 SDK or service:

* signed bytes: ``prefix + canonicalize(envelope["checkpoint"])``, no prefix (no
  domain separation), the envelope's other members not signed;
* canonicalization: RFC 8785 JCS (:func:`jcs`), UTF-8;
* RSA-PSS with ``hash`` = SHA-256, MGF1 with the same hash; :func:`sign` uses a salt of
  32 bytes (assumed), verification accepts any salt length the signature carries (PSS
  recovers it), so a genuine signature made with another salt length still verifies;
* signature text: standard base64 with padding (RFC 4648 §4).

Entry points: :func:`verify_checkpoint` (signature, signer, vault id, version; with
``items=`` / ``item=`` also the served items / item), :func:`verify_item_list` and
:func:`verify_item_detail` (everything, from the client's objects), :func:`rollback_check`.

Fail closed: whatever is not provably valid is ``"unverified"`` with a reason an operator
can read; no exception escapes the verify functions.

No Flask imports.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .models import ItemDetail, ItemList, ItemSummary, SignerKey

VERIFIED = "verified"
UNVERIFIED = "unverified"
ROLLBACK = "rollback"

#: Signer id members seen in envelopes: user key pairs (published) and agent keys (inferred).
SIGNER_FIELDS = ("signerUserKeyPairId", "signerEncryptionKeyId")
MIN_KEY_BITS = 2048
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE-754 doubles (I-JSON range)
_MAX_DEPTH = 64


# -- RFC 8785 canonical JSON -----------------------------------------------------------------
class CanonicalizationError(ValueError):
    """The value cannot be canonicalized (float, lone surrogate, non-string key, ...)."""


def _jcs_string(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError("strings must be valid Unicode (lone surrogate)") from None
    # json.dumps with ensure_ascii=False escapes exactly what ECMAScript JSON.stringify
    # escapes: '"', '\\', \b \f \n \r \t and other controls below U+0020 as \u00xx
    # (lowercase hex); everything else (incl. U+007F, U+2028) is written as is.
    return json.dumps(text, ensure_ascii=False)


def _jcs(value: Any, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CanonicalizationError("value is nested too deeply")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer {value} is outside the I-JSON range (±2^53-1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalizationError(
            "floats are not supported: checkpoints only hold integers (RFC 8785 number "
            "formatting is deliberately not implemented)"
        )
    elif isinstance(value, str):
        out.append(_jcs_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _jcs(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        keys = {}
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(
                    f"object keys must be strings, not {type(key).__name__}"
                )
            keys[key] = _jcs_string(key)  # validates before the UTF-16 sort below
        out.append("{")
        # RFC 8785 §3.2.3: sort by the keys' UTF-16 code units (not by code points)
        for i, key in enumerate(sorted(keys, key=lambda k: k.encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(keys[key])
            out.append(":")
            _jcs(value[key], out, depth + 1)
        out.append("}")
    else:
        raise CanonicalizationError(f"{type(value).__name__} values are not JSON")


def jcs(obj: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON, UTF-8, for str/int/bool/None/list/dict.

    Raises :class:`CanonicalizationError` (a ``ValueError``) for floats, integers beyond
    ±(2^53-1), lone surrogates, non-string keys and other types.
    """
    out: list[str] = []
    _jcs(obj, out, 0)
    return "".join(out).encode("utf-8")


# -- the pluggable scheme --------------------------------------------------------------------
@dataclass(frozen=True)
class Scheme:
    """How checkpoint signatures are made. ``DEFAULT`` is an ASSUMPTION (see module doc)."""

    canonicalize: Callable[[Any], bytes] = jcs
    #: a hash class from ``cryptography.hazmat.primitives.hashes`` (also used by MGF1)
    hash: Callable[[], hashes.HashAlgorithm] = hashes.SHA256
    #: PSS salt length :func:`sign` uses, in bytes, or ``"digest"`` (= hash length) or
    #: ``"max"``; verifying accepts any (:meth:`verify_pss`)
    salt_length: int | str = 32
    #: ``"base64"`` (RFC 4648 §4, padded) or ``"base64url"`` (§5, padding optional)
    encoding: str = "base64"
    #: bytes put before the canonical checkpoint (domain separation); none assumed
    prefix: bytes = b""

    def message(self, checkpoint: Any) -> bytes:
        return self.prefix + self.canonicalize(checkpoint)

    def pss(self, key_bits: int) -> padding.PSS:
        """PSS padding for signing, with an explicit salt length ("max" is computed here)."""
        salt = self.salt_length
        if salt == "digest":
            salt = self.hash().digest_size
        elif salt == "max":
            salt = (key_bits - 1 + 7) // 8 - self.hash().digest_size - 2
        elif isinstance(salt, bool) or not isinstance(salt, int) or salt < 0:
            raise ValueError("salt_length must be a non-negative int, 'digest' or 'max'")
        return padding.PSS(mgf=padding.MGF1(self.hash()), salt_length=salt)

    def verify_pss(self) -> padding.PSS:
        """PSS padding for verifying: any valid salt length (``PSS.AUTO``). The 32 bytes
        :func:`sign` uses are an assumption; the salt length adds nothing to what a
        signature proves, so an unproven guess must not reject a genuine one."""
        return padding.PSS(mgf=padding.MGF1(self.hash()), salt_length=padding.PSS.AUTO)

    def encode(self, signature: bytes) -> str:
        if self.encoding == "base64":
            return base64.b64encode(signature).decode("ascii")
        if self.encoding == "base64url":
            return base64.urlsafe_b64encode(signature).decode("ascii")
        raise ValueError(f"unknown signature encoding {self.encoding!r}")

    def decode(self, text: str) -> bytes:
        """Strict decoding; raises ``ValueError`` for anything but the chosen alphabet."""
        if self.encoding == "base64":
            return base64.b64decode(text.encode("ascii"), validate=True)
        if self.encoding == "base64url":
            if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
                raise ValueError("not base64url")
            body = text.rstrip("=")
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raise ValueError(f"unknown signature encoding {self.encoding!r}")


DEFAULT = Scheme()


def sign(checkpoint: dict, private_key: rsa.RSAPrivateKey, scheme: Scheme = DEFAULT) -> str:
    """The signature text of ``checkpoint`` (the inner object, not the envelope)."""
    pss = scheme.pss(private_key.key_size)
    raw = private_key.sign(scheme.message(checkpoint), pss, scheme.hash())
    return scheme.encode(raw)


def spki_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex (this module's choice)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


# -- verification ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    status: str  # "verified" | "unverified"
    reason: str  # for an operator, e.g. "signature does not match"
    version: int | None = None  # the signed version, only when verified
    signer: str | None = None  # the signer key id, only when verified

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


class _Unverified(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signer_id(envelope: dict) -> str:
    ids = {envelope[f] for f in SIGNER_FIELDS if envelope.get(f) is not None}
    if not ids:
        raise _Unverified("checkpoint names no signer")
    if len(ids) > 1:
        raise _Unverified("checkpoint names two different signers")
    signer = ids.pop()
    if not isinstance(signer, str) or not signer:
        raise _Unverified("checkpoint is malformed (signer id)")
    return signer


def _public_key(signer: str, signer_keys: Iterable[SignerKey]) -> rsa.RSAPublicKey:
    matches = [k for k in signer_keys if isinstance(k, SignerKey) and k.id == signer]
    if not matches:
        raise _Unverified(f"signer key not in the vault's signer directory ({signer})")
    if len({k.public_key_pem for k in matches}) > 1:
        raise _Unverified("the signer directory lists two different keys under one id")
    entry = matches[0]
    try:
        key = serialization.load_pem_public_key(entry.public_key_pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise _Unverified("signer key in the directory is not a readable PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        raise _Unverified(f"signer key is not an RSA key of at least {MIN_KEY_BITS} bits")
    if entry.fingerprint is not None and entry.fingerprint.lower() != spki_fingerprint(key):
        raise _Unverified("signer key's fingerprint does not match its public key")
    return key


def _check(envelope: Any, signer_keys: Iterable[SignerKey], vault_id: str, scheme: Scheme):
    if envelope is None:
        raise _Unverified("no checkpoint")
    if not isinstance(envelope, dict):
        raise _Unverified("checkpoint is malformed")
    checkpoint = envelope.get("checkpoint")
    signature = envelope.get("signature")
    if not isinstance(checkpoint, dict) or not isinstance(signature, str) or not signature:
        raise _Unverified("checkpoint is malformed")
    signer = _signer_id(envelope)
    key = _public_key(signer, list(signer_keys or []))
    try:
        raw = scheme.decode(signature)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise _Unverified("signature is not valid base64") from None
    try:
        message = scheme.message(checkpoint)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Unverified(f"checkpoint cannot be canonicalized ({exc})") from None
    try:
        key.verify(raw, message, scheme.verify_pss(), scheme.hash())
    except InvalidSignature:
        raise _Unverified("signature does not match") from None
    # Signed; now what was signed must be what was asked for.
    if checkpoint.get("vaultId") != vault_id:
        raise _Unverified("checkpoint is for another vault")
    version = checkpoint.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise _Unverified("checkpoint has no valid version")
    return checkpoint, version, signer


def _run(check: Callable[[], tuple[dict, int, str]]) -> Verdict:
    try:
        _, version, signer = check()
    except _Unverified as exc:
        return Verdict(UNVERIFIED, exc.reason)
    except Exception as exc:  # fail closed, whatever went wrong
        return Verdict(UNVERIFIED, f"verification failed ({type(exc).__name__})")
    return Verdict(VERIFIED, f"signed by {signer}", version, signer)


def _websites(value: Any) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Unverified("checkpoint is malformed (websites)")
    return tuple(value)


def _signed_list(checkpoint: dict, name: str) -> list[dict]:
    value = checkpoint.get(name)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _Unverified(f"checkpoint is malformed ({name})")
    return value


def _match_items(checkpoint: dict, items: list[ItemSummary], count: int | None = None) -> None:
    """The served items must be exactly the signed ones (order does not matter)."""
    if "vaultItemId" in checkpoint or "items" not in checkpoint:
        raise _Unverified("checkpoint is not a vault summary checkpoint")
    signed = sorted(
        (
            (s.get("id"), s.get("name"), s.get("type"), _websites(s.get("websites")),
             s.get("groupId"))
            for s in _signed_list(checkpoint, "items")
        ),
        key=repr,
    )  # fmt: skip
    served = sorted(
        ((i.id, i.name, i.type, tuple(i.websites), i.group_id) for i in items), key=repr
    )
    if signed != served or (count is not None and count != len(signed)):
        raise _Unverified("items differ from the signed checkpoint")


def _match_listing(checkpoint: dict, item_list: ItemList) -> None:
    _match_items(checkpoint, item_list.items, item_list.count)
    if checkpoint.get("name") != item_list.vault_name:
        raise _Unverified("vault name differs from the signed checkpoint")
    if checkpoint.get("dataClassification") != item_list.data_classification:
        raise _Unverified("data classification differs from the signed checkpoint")
    if checkpoint.get("currentDekVersion") != item_list.current_dek_version:
        raise _Unverified("DEK version differs from the signed checkpoint")


def _match_detail(checkpoint: dict, detail: ItemDetail) -> None:
    """The served item and its fields (id, name, type, order) must be the signed ones."""
    if "vaultItemId" not in checkpoint:
        raise _Unverified("checkpoint is not an item detail checkpoint")
    if checkpoint.get("vaultItemId") != detail.id:
        raise _Unverified("checkpoint is for another item")
    signed_item = (
        checkpoint.get("name"),
        checkpoint.get("type"),
        _websites(checkpoint.get("websites")),
        checkpoint.get("groupId"),
    )
    if signed_item != (detail.name, detail.type, tuple(detail.websites), detail.group_id):
        raise _Unverified("item differs from the signed checkpoint")
    signed_fields = sorted(
        ((f.get("id"), f.get("name"), f.get("type"), f.get("order"))
         for f in _signed_list(checkpoint, "fields")),
        key=repr,
    )  # fmt: skip
    served_fields = sorted(((f.id, f.name, f.type, f.order) for f in detail.fields), key=repr)
    if signed_fields != served_fields:
        raise _Unverified("fields differ from the signed checkpoint")


def verify_checkpoint(
    envelope: dict | None,
    signer_keys: list[SignerKey],
    expected_vault_id: str,
    scheme: Scheme = DEFAULT,
    *,
    items: list[ItemSummary] | None = None,
    item: ItemDetail | None = None,
) -> Verdict:
    """Check a summary or detail checkpoint: signer in the directory, signature, vault id,
    version. With ``items`` (the served list) it must be a summary checkpoint signing exactly
    those items; with ``item`` (the served detail) a detail checkpoint signing exactly that
    item and its fields. :func:`verify_item_list` / :func:`verify_item_detail` do all of it
    from the client's objects (plus vault name, classification and DEK version)."""

    def check() -> tuple[dict, int, str]:
        checkpoint, version, signer = _check(envelope, signer_keys, expected_vault_id, scheme)
        if items is not None:
            _match_items(checkpoint, items)
        if item is not None:
            _match_detail(checkpoint, item)
        return checkpoint, version, signer

    return _run(check)


def verify_item_list(
    item_list: ItemList, signer_keys: list[SignerKey], scheme: Scheme = DEFAULT
) -> Verdict:
    """Verify ``summaryCheckpoint`` and that the served vault metadata and items are exactly
    the signed ones (ids, names, types, websites, group ids, count; vault name,
    classification and DEK version). Served metadata the signature does not cover makes the
    list unverified."""

    def check() -> tuple[dict, int, str]:
        checkpoint, version, signer = _check(
            item_list.summary_checkpoint, signer_keys, item_list.vault_id, scheme
        )
        _match_listing(checkpoint, item_list)
        return checkpoint, version, signer

    return _run(check)


def verify_item_detail(
    detail: ItemDetail, signer_keys: list[SignerKey], scheme: Scheme = DEFAULT
) -> Verdict:
    """Verify ``detailCheckpoint`` and that the served item and its fields (id, name, type,
    order) are exactly the signed ones."""

    def check() -> tuple[dict, int, str]:
        checkpoint, version, signer = _check(
            detail.detail_checkpoint, signer_keys, detail.vault_id, scheme
        )
        _match_detail(checkpoint, detail)
        return checkpoint, version, signer

    return _run(check)


def rollback_check(verdict: Verdict, highest_seen: int | None) -> str:
    """``"rollback"`` when a verified checkpoint is older than the highest version seen.

    The caller keeps ``highest_seen`` per vault (summary) or per item (detail) and raises
    it after a ``"verified"`` answer. An equal version is accepted (a re-read).
    """
    if verdict.status != VERIFIED or verdict.version is None:
        return UNVERIFIED
    if highest_seen is not None and verdict.version < highest_seen:
        return ROLLBACK
    return VERIFIED
