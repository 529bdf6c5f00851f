"""Checkpoint verification accepts any valid RSA-PSS salt length.

The 32-byte salt :func:`app.r4.checkpoints.sign` uses is an assumption (docs/r4-api.md,
"Signature scheme"): a PSS verifier recovers the salt from the signature, so a genuine
signature made with another salt length (the digest length, the maximum: Node's default)
must still verify, while everything else about the scheme stays fixed and a bad
signature still fails.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from r4_helpers import PRODUCTION

from app.r4.checkpoints import (
    DEFAULT,
    Scheme,
    sign,
    spki_fingerprint,
    verify_checkpoint,
    verify_item_detail,
    verify_item_list,
)
from app.r4.models import SignerKey
from app.sandbox.r4 import RunningR4Sandbox, start_r4_sandbox

VAULT = "507f1f77bcf86cd799439011"
SIGNER = "65a1b2c3d4e5f60718293a4b"
SALTS = [0, 20, 32, "digest", "max"]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def directory(key: rsa.RSAPrivateKey) -> list[SignerKey]:
    public = key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return [SignerKey(SIGNER, "USER_KEY_PAIR", pem, spki_fingerprint(public))]


def envelope(key: rsa.RSAPrivateKey, scheme: Scheme = DEFAULT, version: int = 4) -> dict:
    checkpoint = {"vaultId": VAULT, "version": version, "name": "Ops", "items": []}
    return {
        "checkpoint": checkpoint,
        "signerUserKeyPairId": SIGNER,
        "signature": sign(checkpoint, key, scheme),
    }


@pytest.mark.parametrize("salt", SALTS, ids=[f"salt-{s}" for s in SALTS])
def test_any_salt_length_verifies_under_the_default_scheme(key, salt):
    verdict = verify_checkpoint(envelope(key, Scheme(salt_length=salt)), directory(key), VAULT)
    assert verdict.verified and verdict.version == 4


def test_a_salt_the_signer_chose_freely_verifies(key):
    """Signed outside :func:`sign`, as another SDK would, with the maximum salt length."""
    checkpoint = envelope(key)["checkpoint"]
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    raw = key.sign(DEFAULT.message(checkpoint), pss, hashes.SHA256())
    env = {**envelope(key), "signature": base64.b64encode(raw).decode()}
    assert verify_checkpoint(env, directory(key), VAULT).verified


@pytest.mark.parametrize("salt", ["digest", "max"])
def test_a_bad_signature_still_fails_whatever_the_salt(key, salt):
    env = envelope(key, Scheme(salt_length=salt))
    raw = bytearray(base64.b64decode(env["signature"]))
    raw[len(raw) // 2] ^= 0x01
    flipped = {**env, "signature": base64.b64encode(bytes(raw)).decode()}
    assert verify_checkpoint(flipped, directory(key), VAULT).reason == "signature does not match"
    changed = {**env, "checkpoint": {**env["checkpoint"], "version": 5}}
    assert verify_checkpoint(changed, directory(key), VAULT).reason == "signature does not match"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert verify_checkpoint(env, directory(other), VAULT).reason == "signature does not match"


@pytest.mark.parametrize(
    "scheme",
    [Scheme(salt_length="digest", hash=hashes.SHA384), Scheme(prefix=b"r4:summary:")],
    ids=["sha384", "prefix"],
)
def test_only_the_salt_is_relaxed(key, scheme):
    """Hash, MGF and signed bytes stay fixed: another choice there still fails."""
    env = envelope(key, scheme)
    assert verify_checkpoint(env, directory(key), VAULT).reason == "signature does not match"
    assert verify_checkpoint(env, directory(key), VAULT, scheme).verified


def test_pkcs1v15_is_not_pss(key):
    checkpoint = envelope(key)["checkpoint"]
    raw = key.sign(DEFAULT.message(checkpoint), padding.PKCS1v15(), hashes.SHA256())
    env = {**envelope(key), "signature": base64.b64encode(raw).decode()}
    assert verify_checkpoint(env, directory(key), VAULT).reason == "signature does not match"


@pytest.fixture(params=["digest", "max"])
def salted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningR4Sandbox]:
    """An r4 emulator that signs its checkpoints with another salt length."""
    running = start_r4_sandbox(tmp_path / "r4.db", scheme=Scheme(salt_length=request.param))
    yield running
    running.stop()


def test_the_emulator_signing_with_another_salt_length_verifies(salted, make_client):
    r4 = make_client(salted)
    vault_id = salted.vault_id(PRODUCTION)
    keys = r4.public_keys(vault_id)
    listing = r4.list_items(vault_id)
    assert verify_item_list(listing, keys).verified
    assert verify_item_detail(r4.get_item(vault_id, listing.items[0].id), keys).verified
    salted.model.set_tamper(vault_id, "signature")  # one bit of every signature flipped
    assert verify_item_list(r4.list_items(vault_id), keys).reason == "signature does not match"
