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


# --- exact messages and boundaries (what an operator sees; mutation-tested) ---

NOT_A_PAYLOAD = "The value is not an encrypted payload (expected hex iv‖ct‖tag)."
WRONG_KEY = (
    "The value could not be decrypted: it was encrypted with a different key or has been altered."
)
NOT_JSON = (
    "The value decrypted but is not JSON; it was not made by a CloudCruise client "
    "(raw, non-JSON encryption)."
)


def _raw_payload(plaintext: bytes, key: str = KEY) -> str:
    """An AES-GCM payload in the wire format around arbitrary bytes (not JSON-encoded)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    iv = bytes(range(12))
    return (iv + AESGCM(bytes.fromhex(key)).encrypt(iv, plaintext, None)).hex()


def _key_error(key) -> str:
    with pytest.raises(crypto.InvalidKeyError) as info:
        crypto.validate_key(key)
    return str(info.value)


def _decrypt_error(payload, key: str = KEY) -> str:
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt_value(payload, key)
    return str(info.value)


@pytest.mark.parametrize("key", ["", None])
def test_empty_key_message_is_exact(key):
    assert _key_error(key) == ("The encryption key is empty; expected 64 hex characters (AES-256).")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("abc", "it has 3 characters"),
        ("a" * 63, "it has 63 characters"),
        ("a" * 65, "it has 65 characters"),
        ("  " + "a" * 63 + "  ", "it has 63 characters"),  # counted after trimming
        ("g" * 64, "it contains characters that are not hex digits"),
        ("a" * 63 + "-", "it contains characters that are not hex digits"),
    ],
)
def test_invalid_key_message_is_exact(key, problem):
    assert _key_error(key) == (
        f"The encryption key is not valid: {problem}; expected exactly 64 hex characters "
        "(a 256-bit AES key, as shown in CloudCruise workspace settings)."
    )


def test_valid_keys_give_the_raw_bytes():
    assert crypto.validate_key(KEY) == bytes.fromhex(KEY)
    assert crypto.validate_key(KEY.upper()) == bytes.fromhex(KEY)
    assert crypto.validate_key(f"  {KEY}\n") == bytes.fromhex(KEY)


def test_generated_keys_are_valid_256_bit_hex_and_fresh():
    keys = {crypto.generate_key() for _ in range(10)}
    assert len(keys) == 10
    for key in keys:
        assert len(key) == 64 and key == key.lower()
        assert len(crypto.validate_key(key)) == 32
        assert crypto.decrypt_value(crypto.encrypt_value("x", key), key) == "x"


@pytest.mark.parametrize("payload", [12345, None, b"00" * 40, ["00" * 40]])
def test_non_string_payload_message_is_exact(payload):
    assert _decrypt_error(payload) == "The encrypted value is not a string."


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "0" * 54,  # even, hex, one byte short of iv + tag
        "0" * 55,  # the minimum length minus one
        "0" * 57,  # long enough but odd
        "0" * 59,
        "zz" * 40,  # long and even but not hex
        "0" * 58 + "g0",
        "secret-in-plain-text",
    ],
)
def test_malformed_payload_message_is_exact(payload):
    assert _decrypt_error(payload) == NOT_A_PAYLOAD


def test_the_shortest_payload_is_iv_plus_tag():
    # 56 hex characters (12-byte IV + 16-byte tag) is a payload: it reaches the cipher
    assert crypto.MIN_PAYLOAD_HEX == 56
    assert _decrypt_error("0" * 56) == WRONG_KEY
    assert _decrypt_error("0" * 58) == WRONG_KEY
    # an authentic empty plaintext is exactly that long and is not JSON
    empty = _raw_payload(b"")
    assert len(empty) == 56
    assert _decrypt_error(empty) == NOT_JSON


def test_wrong_key_and_tampering_messages_are_exact():
    ciphertext = crypto.encrypt_value("secret", KEY)
    assert _decrypt_error(ciphertext, OTHER_KEY) == WRONG_KEY
    assert crypto.decrypt_value(ciphertext.upper(), KEY) == "secret"  # upper-case hex parses


@pytest.mark.parametrize("plaintext", [b"not json at all", b"\xff\xfe", b"{"])
def test_non_json_plaintext_message_is_exact(plaintext):
    assert _decrypt_error(_raw_payload(plaintext)) == NOT_JSON


def test_utf8_values_round_trip_byte_for_byte():
    value = "pässwörd ✓ 🔑"
    out = crypto.encrypt_value(value, KEY)
    assert len(out) == 24 + 2 * len(json.dumps(value).encode("utf-8")) + 32
    assert crypto.decrypt_value(_raw_payload('"pässwörd"'.encode()), KEY) == "pässwörd"


@pytest.mark.parametrize("length", [56, 58, 200])
def test_looks_encrypted_accepts_even_hex_of_at_least_the_minimum(length):
    assert crypto.looks_encrypted("a" * length) is True
    assert crypto.looks_encrypted("A" * length) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ab",  # even hex, too short
        "0" * 54,
        "0" * 55,
        "0" * 57,  # long enough, odd
        "0" * 59,
        "zz" * 30,  # long enough, even, not hex
        "0" * 56 + " ",
        12345,
        None,
        b"00" * 40,
        ["0"] * 56,
    ],
)
def test_looks_encrypted_rejects_other_shapes(value):
    assert crypto.looks_encrypted(value) is False


def test_real_ciphertext_looks_encrypted():
    assert crypto.looks_encrypted(crypto.encrypt_value("", KEY)) is True
    assert crypto.looks_encrypted("plain password") is False


def test_proxy_value_without_setting_message_is_exact():
    with pytest.raises(ValueError) as info:
        crypto.encrypt_payload({"proxy_value": "socks5://x"}, KEY)
    assert str(info.value) == (
        "proxy_value requires proxy_setting (so a custom URL is never sent plain)"
    )
