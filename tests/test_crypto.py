"""AES-256-GCM interop with the official SDK, both ways, and clear failures."""

from __future__ import annotations

import json

import pytest
from cloudcruise.vault.utils import decrypt_data, encrypt_data
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cloudcruise import crypto

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
OTHER_KEY = "ff" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=200),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(json_values)
@settings(max_examples=150, deadline=None)
def test_console_ciphertext_decrypts_with_the_sdk(value):
    assert decrypt_data(crypto.encrypt_value(value, KEY), KEY) == value


@given(json_values)
@settings(max_examples=150, deadline=None)
def test_sdk_ciphertext_decrypts_in_the_console(value):
    assert crypto.decrypt_value(encrypt_data(value, KEY), KEY) == value


def test_format_is_hex_iv_ciphertext_tag_of_the_json_value():
    out = crypto.encrypt_value("p@ss", KEY)
    # 12-byte IV + json.dumps("p@ss") (6 bytes, quotes included) + 16-byte tag, in hex
    assert len(out) == 24 + 2 * len(json.dumps("p@ss")) + 32 == 68
    assert out == out.lower() and all(c in "0123456789abcdef" for c in out)


def test_every_encryption_uses_a_fresh_iv():
    outputs = {crypto.encrypt_value("same", KEY) for _ in range(20)}
    assert len(outputs) == 20
    assert len({o[:24] for o in outputs}) == 20


def test_wrong_key_is_a_clear_error_not_garbage():
    ciphertext = crypto.encrypt_value("secret", KEY)
    with pytest.raises(crypto.DecryptionError, match="different key or has been altered"):
        crypto.decrypt_value(ciphertext, OTHER_KEY)


@pytest.mark.parametrize("position", [0, 30, -1])
def test_tampering_anywhere_is_detected(position):
    ciphertext = crypto.encrypt_value("secret", KEY)
    flipped = "0" if ciphertext[position] != "0" else "1"
    index = position % len(ciphertext)
    tampered = ciphertext[:index] + flipped + ciphertext[index + 1 :]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_value(tampered, KEY)


@pytest.mark.parametrize(
    "payload", ["", "abc", "zz" * 40, "a" * 55, "a" * 57, 12345, None, "secret-in-plain-text"]
)
def test_malformed_payloads_are_rejected_without_echoing_them(payload):
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt_value(payload, KEY)
    if isinstance(payload, str) and payload:
        assert payload not in str(info.value)


def test_raw_non_json_encryption_is_named_as_such():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    iv = b"\x01" * 12
    raw = (iv + AESGCM(bytes.fromhex(KEY)).encrypt(iv, b"not json at all", None)).hex()
    with pytest.raises(crypto.DecryptionError, match="not JSON"):
        crypto.decrypt_value(raw, KEY)


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "empty"),
        ("abc", "3 characters"),
        ("g" * 64, "not hex digits"),
        ("a" * 66, "66 characters"),
    ],
)
def test_bad_keys_say_what_is_wrong(key, fragment):
    with pytest.raises(crypto.InvalidKeyError, match=fragment):
        crypto.validate_key(key)


def test_encrypt_payload_follows_the_sdk_field_rules():
    payload = {
        "permissioned_user_id": "u1",
        "domain": "https://example.com",
        "user_name": "ann",
        "password": "pw",
        "tfa_secret": None,
        "proxy_setting": "static",
        "proxy_value": "203.0.113.7",
    }
    out = crypto.encrypt_payload(payload, KEY)
    assert decrypt_data(out["user_name"], KEY) == "ann"
    assert decrypt_data(out["password"], KEY) == "pw"
    assert out["tfa_secret"] is None  # None means "clear": sent as-is, like the SDK
    assert out["proxy_value"] == "203.0.113.7"  # static proxies travel in plain text
    custom = crypto.encrypt_payload(
        {"proxy_setting": "custom", "proxy_value": "socks5://u:p@proxy.example.net:1080"}, KEY
    )
    assert decrypt_data(custom["proxy_value"], KEY) == "socks5://u:p@proxy.example.net:1080"
    with pytest.raises(ValueError, match="proxy_setting"):
        crypto.encrypt_payload({"proxy_value": "socks5://x"}, KEY)
