"""The validation rules shared by the create form and inline editing."""

from __future__ import annotations

import pyotp
import pytest

from app.services import entry_rules as rules
from app.services.entry_rules import RuleError


@pytest.mark.parametrize(
    "value",
    ["https://portal.example.com", "http://127.0.0.1:8080", "https://app.example.co.uk/login?x=1"],
)
def test_valid_domains_are_kept_as_typed(value):
    assert rules.domain(f"  {value} ") == value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "Enter the domain"),
        ("portal.example.com", "full URL"),
        ("ftp://portal.example.com", "full URL"),
        ("https://localhost:3000", "localhost is rejected"),
        ("https://app.localhost", "localhost is rejected"),
        ("https://intranet", "not a valid host name"),
        ("https://exa mple.com", "spaces"),
        ("https://example.com:99999", "invalid port"),
        ("https://exa\x00mple.com", "control characters"),
    ],
)
def test_invalid_domains_say_why(value, fragment):
    with pytest.raises(RuleError, match=fragment):
        rules.domain(value)


def test_tfa_secret_accepts_spaced_lowercase_and_otpauth_links():
    secret = pyotp.random_base32()
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()
    assert rules.tfa_secret(spaced) == secret
    uri = pyotp.TOTP(secret).provisioning_uri(name="ann@example.com", issuer_name="Portal")
    assert rules.tfa_secret(uri) == secret
    assert rules.tfa_secret("") is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("JBSWY3DP", "too short"),
        ("JBSWY3DPEHPK3PX1", "base32"),
        ("otpauth://totp/x?issuer=y", "no secret="),
        ("not a secret at all!", "base32"),
    ],
)
def test_bad_tfa_secrets(value, fragment):
    with pytest.raises(RuleError, match=fragment):
        rules.tfa_secret(value)


def test_intervals_are_normalised_and_empty_means_no_expiry():
    assert rules.interval("90 minutes") == "01:30:00"
    assert rules.interval("7 days 00:00:00") == "7 days"
    assert rules.interval("") is None
    with pytest.raises(RuleError, match="PostgreSQL interval"):
        rules.interval("tomorrow")


@pytest.mark.parametrize(("value", "expected"), [("", None), ("1", 1), (" 12 ", 12)])
def test_max_concurrency(value, expected):
    assert rules.max_concurrency(value) == expected


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5", "99999"])
def test_max_concurrency_rejects(value):
    with pytest.raises(RuleError):
        rules.max_concurrency(value)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("static", "203.0.113.10", "203.0.113.10"),
        ("static", "2001:4860:4860::8888", "2001:4860:4860::8888"),
        ("country", " us ", "US"),
        ("custom", "socks5://u:p@proxy.example.net:1080", "socks5://u:p@proxy.example.net:1080"),
        ("custom", "http://proxy.example.net", "http://proxy.example.net"),
        ("random", "", None),
        (None, "", None),
    ],
)
def test_proxy_values_per_mode(mode, value, expected):
    assert rules.proxy_value(mode, value) == expected


@pytest.mark.parametrize(
    ("mode", "value", "fragment"),
    [
        ("static", "not-an-ip", "target IP"),
        ("static", "10.0.0.8", "public address"),
        ("static", "127.0.0.1", "public address"),
        ("country", "USA", "two-letter"),
        ("country", "XX", "two-letter"),
        ("custom", "", "Enter the proxy URL"),
        ("custom", "ftp://proxy.example.net", "must start with"),
        ("custom", "socks5://127.0.0.1:1080", "private or loopback"),
        ("custom", "socks5://proxy.example.net", "port"),
        ("custom", "http://localhost:8080", "localhost"),
        ("random", "1.2.3.4", "take no value"),
    ],
)
def test_proxy_value_rejections(mode, value, fragment):
    with pytest.raises(RuleError, match=fragment):
        rules.proxy_value(mode, value)


def test_cookies_json():
    cookie = (
        '[{"name": "sid", "value": "x", "domain": ".example.com", "path": "/",'
        ' "secure": true, "expirationDate": 1893456000}]'
    )
    assert rules.cookies_json(cookie)[0]["name"] == "sid"
    assert rules.cookies_json("") is None
    for bad, fragment in [
        ("[{", "Not valid JSON"),
        ('"x"', "array"),
        ('[{"name": "a", "value": "b"}]', "domain"),
        ('[{"name": "a", "value": "b", "domain": "d", "secure": "yes"}]', "true or false"),
        ('[{"name": "a", "value": "b", "domain": "d", "expirationDate": "soon"}]', "number"),
    ]:
        with pytest.raises(RuleError, match=fragment):
            rules.cookies_json(bad)


def test_storage_json():
    assert rules.storage_json('{"token": "abc"}') == {"token": "abc"}
    with pytest.raises(RuleError, match="JSON object"):
        rules.storage_json("[1, 2]")


def test_cross_field_rules():
    assert rules.cross_field({"tfa_method": "AUTHENTICATOR"}) == {
        "tfa_secret": "An authenticator app needs its TFA secret (base32)."
    }
    assert rules.cross_field({"tfa_method": "AUTHENTICATOR"}, {"has_tfa_secret": True}) == {}
    assert "max_concurrency" in rules.cross_field({"max_concurrency": 3})
    assert rules.cross_field({"max_concurrency": 3, "allow_multiple_sessions": True}) == {}
    provider = rules.cross_field(
        {"secret_provider_id": "p1", "secret_ref": "op://v/i", "password": "pw"}
    )
    assert set(provider) == {"password"}
    assert "secret_ref" in rules.cross_field({"secret_provider_id": "p1"})
    assert "secret_cache_ttl_seconds" in rules.cross_field({"secret_cache_ttl_seconds": 60})
    assert "tfa_secret" in rules.cross_field(
        {"tfa_method": "SMS", "tfa_secret": "JBSWY3DPEHPK3PXP"}
    )
