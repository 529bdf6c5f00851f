"""Checkpoint canonicalization, signing and fail-closed verification (no network)."""

from __future__ import annotations

import copy
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.r4.checkpoints import (
    DEFAULT,
    CanonicalizationError,
    Scheme,
    Verdict,
    jcs,
    rollback_check,
    sign,
    spki_fingerprint,
    verify_checkpoint,
)
from app.r4.models import SignerKey

VAULT = "507f1f77bcf86cd799439011"
SIGNER = "65a1b2c3d4e5f60718293a4b"


# -- RFC 8785 -------------------------------------------------------------------------------
def test_jcs_sorts_keys_by_utf16_code_units_rfc8785_3_2_3():
    # RFC 8785 §3.2.3: the emoji (U+1F600 = D83D DE00 in UTF-16) sorts BEFORE U+FB33
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert jcs(obj) == expected.encode("utf-8")


def test_jcs_string_escaping_rfc8785_3_2_2_2():
    source = r'{"string": "\u20ac$\u000F\u000aA' "'" r'\u0042\u0022\u005c\\\"\/"}'
    assert jcs(json.loads(source)) == '{"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()


def test_jcs_literals_nesting_and_whitespace():
    assert jcs(json.loads('{"literals": [null, true, false]}')) == b'{"literals":[null,true,false]}'
    obj = {"b": [1, {"d": -2, "c": 3}], "a": "x", "e": {}, "f": []}
    assert jcs(obj) == b'{"a":"x","b":[1,{"c":3,"d":-2}],"e":{},"f":[]}'
    # controls: short escapes where ECMAScript has them, \u00xx (lowercase) otherwise;
    # U+007F and U+2028 are written as they are
    assert (
        jcs("\b\t\n\f\r\x01\x1f\x7f\u2028") == '"\\b\\t\\n\\f\\r\\u0001\\u001f\x7f\u2028"'.encode()
    )


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"version": 1.5}, "floats are not supported"),
        ([2**53], "I-JSON"),
        ("\ud800", "lone surrogate"),
        ({1: "x"}, "keys must be strings"),
        ({"\udc00": 1}, "lone surrogate"),
        (b"bytes", "not JSON"),
    ],
)
def test_jcs_rejects_what_it_cannot_canonicalize(value, needle):
    with pytest.raises(CanonicalizationError, match=needle):
        jcs(value)


def test_jcs_accepts_the_safe_integer_range_and_bools_are_not_ints():
    assert jcs([2**53 - 1, -(2**53 - 1), 0, True]) == b"[9007199254740991,-9007199254740991,0,true]"


# -- signing and verification -----------------------------------------------------------------
@pytest.fixture(scope="module")
def key_a() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key_b() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def directory(key: rsa.RSAPrivateKey, signer: str = SIGNER, **kw) -> list[SignerKey]:
    public = key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    fields = {"type": "USER_KEY_PAIR", "fingerprint": spki_fingerprint(public)} | kw
    return [SignerKey(id=signer, public_key_pem=pem, **fields)]


def summary(version: int = 3, vault: str = VAULT) -> dict:
    return {
        "vaultId": vault,
        "version": version,
        "name": "Ops – €",
        "dataClassification": "INTERNAL",
        "currentDekVersion": 1,
        "items": [
            {"id": "a" * 24, "name": "GitHub", "type": "LOGIN",
             "websites": ["https://github.com"], "groupId": None},
        ],
        "groups": [],
    }  # fmt: skip


def envelope(checkpoint: dict, key: rsa.RSAPrivateKey, scheme: Scheme = DEFAULT) -> dict:
    return {
        "checkpoint": checkpoint,
        "signerUserKeyPairId": SIGNER,
        "signature": sign(checkpoint, key, scheme),
    }


def test_a_correct_signature_verifies_with_version_and_signer(key_a):
    verdict = verify_checkpoint(envelope(summary(7), key_a), directory(key_a), VAULT)
    assert verdict == Verdict("verified", f"signed by {SIGNER}", 7, SIGNER)
    assert verdict.verified


def test_the_signature_covers_the_canonical_form_not_the_key_order(key_a):
    env = envelope(summary(), key_a)
    env["checkpoint"] = dict(reversed(list(env["checkpoint"].items())))
    assert verify_checkpoint(env, directory(key_a), VAULT).verified


def test_default_scheme_is_the_documented_assumption():
    assert DEFAULT.canonicalize is jcs and DEFAULT.salt_length == 32
    assert DEFAULT.hash is hashes.SHA256 and DEFAULT.encoding == "base64" and DEFAULT.prefix == b""


def test_a_signature_by_another_key_fails(key_a, key_b):
    verdict = verify_checkpoint(envelope(summary(), key_b), directory(key_a), VAULT)
    assert verdict == Verdict("unverified", "signature does not match")


@pytest.mark.parametrize(
    "other",
    [
        Scheme(salt_length="digest", hash=hashes.SHA384),
        Scheme(hash=hashes.SHA512),
        Scheme(prefix=b"r4:summary:"),
    ],
    ids=["sha384", "sha512", "prefix"],
)
def test_a_signature_made_with_another_scheme_fails_but_verifies_under_it(key_a, other):
    """(Another salt length is not another scheme: any verifies, test_checkpoint_salt.)"""
    env = envelope(summary(), key_a, other)
    assert verify_checkpoint(env, directory(key_a), VAULT).reason == "signature does not match"
    assert verify_checkpoint(env, directory(key_a), VAULT, other).verified  # pluggable
    # and the other way round: a verifier assuming ``other`` rejects DEFAULT signatures
    default_env = envelope(summary(), key_a)
    assert verify_checkpoint(default_env, directory(key_a), VAULT, other).reason == (
        "signature does not match"
    )


def test_base64url_encoding_is_pluggable(key_a):
    scheme = Scheme(encoding="base64url")
    env = envelope(summary(), key_a, scheme)
    assert verify_checkpoint(env, directory(key_a), VAULT, scheme).verified


def test_changing_any_signed_value_breaks_the_signature(key_a):
    env = envelope(summary(), key_a)
    for mutate in (
        lambda c: c.update(version=4),
        lambda c: c["items"][0].update(websites=["https://github.com.evil.example"]),
        lambda c: c["items"].append({"id": "b" * 24, "name": "x", "type": "LOGIN"}),
        lambda c: c.update(extra=True),
    ):
        changed = copy.deepcopy(env)
        mutate(changed["checkpoint"])
        assert (
            verify_checkpoint(changed, directory(key_a), VAULT).reason == "signature does not match"
        )


def test_a_flipped_signature_bit_fails(key_a):
    import base64

    env = envelope(summary(), key_a)
    raw = bytearray(base64.b64decode(env["signature"]))
    raw[0] ^= 0x80
    env["signature"] = base64.b64encode(bytes(raw)).decode()
    assert verify_checkpoint(env, directory(key_a), VAULT).reason == "signature does not match"


NO_BASE64 = "signature is not valid base64"
MALFORMED = "checkpoint is malformed"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: None, "no checkpoint"),
        (lambda e: e | {"signature": "not base64!!"}, NO_BASE64),
        (lambda e: e | {"signature": e["signature"].rstrip("=")[:-1]}, NO_BASE64),
        (lambda e: e | {"signature": ""}, MALFORMED),
        (lambda e: {k: e[k] for k in ("checkpoint", "signature")}, "checkpoint names no signer"),
        (lambda e: e | {"signerEncryptionKeyId": "f" * 24},
         "checkpoint names two different signers"),
        (lambda e: e | {"checkpoint": json.dumps(e["checkpoint"])}, MALFORMED),
        (lambda e: [e], MALFORMED),
        (lambda e: e | {"signerUserKeyPairId": 42}, "checkpoint is malformed (signer id)"),
        (lambda e: e | {"signerUserKeyPairId": "c" * 24},
         "signer key not in the vault's signer directory (" + "c" * 24 + ")"),
    ],
)  # fmt: skip
def test_fail_closed_with_a_reason(key_a, change, reason):
    env = change(envelope(summary(), key_a))
    assert verify_checkpoint(env, directory(key_a), VAULT) == Verdict("unverified", reason)


def test_a_valid_checkpoint_for_another_vault_is_unverified(key_a):
    env = envelope(summary(vault="0" * 24), key_a)
    assert (
        verify_checkpoint(env, directory(key_a), VAULT).reason == "checkpoint is for another vault"
    )


@pytest.mark.parametrize("version", [None, True, -1, "12"])
def test_a_signed_checkpoint_without_a_valid_version_is_unverified(key_a, version):
    cp = summary()
    cp["version"] = version
    if version is None:
        del cp["version"]
    assert verify_checkpoint(envelope(cp, key_a), directory(key_a), VAULT).reason == (
        "checkpoint has no valid version"
    )


def test_a_checkpoint_that_cannot_be_canonicalized_is_unverified(key_a):
    env = envelope(summary(), key_a)
    env["checkpoint"]["version"] = 3.0
    verdict = verify_checkpoint(env, directory(key_a), VAULT)
    assert verdict.status == "unverified" and verdict.reason.startswith(
        "checkpoint cannot be canonicalized (floats are not supported"
    )


def test_unusable_directory_keys_are_unverified(key_a, key_b):
    env = envelope(summary(), key_a)
    good = directory(key_a)[0]
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    small_env = envelope(summary(), small)
    cases = [
        ([SignerKey(SIGNER, None, "-----BEGIN PUBLIC KEY-----\nnope\n", None)], env,
         "signer key in the directory is not a readable PEM public key"),
        (directory(key_a, fingerprint="0" * 64), env,
         "signer key's fingerprint does not match its public key"),
        (directory(small), small_env, "signer key is not an RSA key of at least 2048 bits"),
        ([good, directory(key_b)[0]], env,
         "the signer directory lists two different keys under one id"),
        ([], env, f"signer key not in the vault's signer directory ({SIGNER})"),
    ]  # fmt: skip
    for keys, env_, reason in cases:
        assert verify_checkpoint(env_, keys, VAULT) == Verdict("unverified", reason)
    # no fingerprint given: nothing to compare, the key itself decides
    assert verify_checkpoint(env, directory(key_a, fingerprint=None), VAULT).verified


@pytest.mark.parametrize(
    "garbage",
    [0, "x", [], {"checkpoint": None}, {"checkpoint": {}, "signature": 5},
     {"checkpoint": {"a": {1, 2}}, "signature": "AAAA", "signerUserKeyPairId": SIGNER}],
)  # fmt: skip
def test_garbage_never_raises(key_a, garbage):
    verdict = verify_checkpoint(garbage, directory(key_a), VAULT)
    assert verdict.status == "unverified" and verdict.version is None and verdict.signer is None


def test_a_broken_scheme_fails_closed(key_a):
    def explode(obj):
        raise RuntimeError("boom")

    verdict = verify_checkpoint(
        envelope(summary(), key_a), directory(key_a), VAULT, Scheme(canonicalize=explode)
    )
    assert verdict == Verdict("unverified", "verification failed (RuntimeError)")


def test_rollback_check():
    ok = Verdict("verified", "signed by x", 9, "x")
    assert rollback_check(ok, None) == "verified"
    assert rollback_check(ok, 9) == "verified"  # a re-read of the same version
    assert rollback_check(ok, 8) == "verified"
    assert rollback_check(ok, 12) == "rollback"
    assert rollback_check(Verdict("unverified", "no checkpoint"), None) == "unverified"
    assert rollback_check(Verdict("unverified", "no checkpoint"), 12) == "unverified"
