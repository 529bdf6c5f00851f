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
    ("typed", "sent"),
    [
        ("portal.example.com", "https://portal.example.com"),
        (" Portal.Example.com/login?x=1 ", "https://Portal.Example.com/login?x=1"),
        ("203.0.113.7:8443", "https://203.0.113.7:8443"),
        ("app.example.co.uk:8443/a", "https://app.example.co.uk:8443/a"),
        ("[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ],
)
def test_a_bare_host_gets_https(typed, sent):
    assert rules.domain(typed) == sent


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "Enter the domain"),
        ("mailto:portal@example.com", "full URL"),
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
    with pytest.raises(RuleError, match="not a duration"):
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


# ---------------------------------------------------------------- exact messages and boundaries
# Operators read these messages next to the field they typed in: a changed message or a
# boundary moved by one is a regression, so both are asserted exactly.


def _message(rule, *args) -> str:
    with pytest.raises(RuleError) as caught:
        rule(*args)
    return str(caught.value)


def test_permissioned_user_id_is_trimmed_required_and_at_most_255_characters():
    assert rules.permissioned_user_id("  svc-portal ") == "svc-portal"
    assert rules.permissioned_user_id("u" * 255) == "u" * 255
    required = "Enter the permissioned user id workflows use for this credential."
    assert _message(rules.permissioned_user_id, None) == required
    assert _message(rules.permissioned_user_id, "   ") == required
    assert _message(rules.permissioned_user_id, "u" * 256) == (
        "The permissioned user id is too long (at most 255 characters)."
    )
    assert _message(rules.permissioned_user_id, "a\x1fb") == (
        "The permissioned user id contains control characters."
    )


@pytest.mark.parametrize(
    "value",
    [
        "http://portal.example.com",
        "https://my-portal.example.com",
        "HTTPS://Portal.Example.com/Login",
        "http://[2001:db8::1]:8443/",
        "https://portal.example.com:8443",
    ],
)
def test_more_valid_domains(value):
    assert rules.domain(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Enter the domain, a URL such as https://portal.example.com."),
        ("   ", "Enter the domain, a URL such as https://portal.example.com."),
        ("https://exa mple.com", "The domain must not contain spaces."),
        ("https://exa\u00a0mple.com", "The domain must not contain spaces."),
        (
            "javascript:alert(1)",
            "The domain must be a full URL starting with https:// (or http://).",
        ),
        (
            "https:/portal.example.com",
            "The domain must be a full URL starting with https:// (or http://).",
        ),
        (
            "user:pw@portal.example.com",
            "The domain must be a full URL starting with https:// (or http://).",
        ),
        ("localhost:3000", "localhost is rejected by CloudCruise; use http://127.0.0.1:<port>."),
        ("intranet", "“intranet” is not a valid host name."),
        ("[::1", "The domain URL has an invalid host name."),
        (
            "ftp://portal.example.com",
            "The domain must be a full URL starting with https:// (or http://).",
        ),
        ("https:///login", "The domain must be a full URL starting with https:// (or http://)."),
        ("https://example.com:99999", "The domain has an invalid port."),
        ("https://example.com:port", "The domain has an invalid port."),
        ("https://:443", "The domain URL has no host name."),
        ("https://user@", "The domain URL has no host name."),
        ("https://localhost", "localhost is rejected by CloudCruise; use http://127.0.0.1:<port>."),
        (
            "https://LOCALHOST:3000",
            "localhost is rejected by CloudCruise; use http://127.0.0.1:<port>.",
        ),
        (
            "https://app.localhost",
            "localhost is rejected by CloudCruise; use http://127.0.0.1:<port>.",
        ),
        ("https://intranet", "“intranet” is not a valid host name."),
        ("https://exa_mple.com", "“exa_mple.com” is not a valid host name."),
        ("https://exa\x00mple.com", "The domain contains control characters."),
        # refused since the console agrees with the sandbox (test_rules_agree_with_sandbox)
        (
            "https://user:pw@portal.example.com",
            "The domain must not contain a username or password (user:pw@).",
        ),
        (
            "https://printer.local",
            "“printer.local” is an internal name, which CloudCruise rejects; use the site's "
            "public host name or IP address.",
        ),
        (
            "https://a.b",
            "“a.b” is not a valid host name: “b” is not a top-level domain; give a full name "
            "such as portal.example.com, or an IP address written in full.",
        ),
        (
            "https://-bad-.com",
            "“-bad-.com” is not a valid host name: a part cannot start or end with a hyphen "
            "(“-bad-”).",
        ),
        (
            "https://portal..example.com",
            "“portal..example.com” is not a valid host name: it has an empty part between dots.",
        ),
    ],
)
def test_domain_messages(value, message):
    assert _message(rules.domain, value) == message


def test_domain_is_at_most_2048_characters():
    base = "https://portal.example.com/"
    longest = base + "p" * (2048 - len(base))
    assert rules.domain(longest) == longest
    assert _message(rules.domain, longest + "p") == (
        "The domain is too long (at most 2048 characters)."
    )


def test_alias_is_optional_trimmed_and_at_most_255_characters():
    assert rules.alias(None) is None
    assert rules.alias("   ") is None
    assert rules.alias("  Billing portal ") == "Billing portal"
    assert rules.alias("a" * 255) == "a" * 255
    assert _message(rules.alias, "a" * 256) == "The alias is too long (at most 255 characters)."
    assert _message(rules.alias, "a\nb") == "The alias contains control characters."


def test_plain_text_defaults_and_limits():
    assert rules.plain_text(None) is None
    assert rules.plain_text(" \t ".replace("\t", " ")) is None
    assert rules.plain_text("  a note ") == "a note"
    assert rules.plain_text(42) == "42"
    assert rules.plain_text("n" * 4096) == "n" * 4096
    assert _message(rules.plain_text, "n" * 4097) == (
        "This value is too long (at most 4096 characters)."
    )
    assert _message(rules.plain_text, "a\x7fb") == "This value contains control characters."
    assert _message(rules.plain_text, "a\x00b", "The note") == (
        "The note contains control characters."
    )
    assert rules.plain_text("abc", "The note", 3) == "abc"
    assert _message(rules.plain_text, "abcd", "The note", 3) == (
        "The note is too long (at most 3 characters)."
    )


def test_secret_text_is_kept_exactly_as_typed():
    assert rules.secret_text(None, "password") is None
    assert rules.secret_text("", "password") is None
    assert rules.secret_text("  pa ss\t\x01 ", "password") == "  pa ss\t\x01 "
    assert rules.secret_text(1234, "password") == "1234"
    assert rules.secret_text("p" * 4096, "password") == "p" * 4096
    assert _message(rules.secret_text, "p" * 4097, "password") == (
        "The password is too long (at most 4096 characters)."
    )
    assert _message(rules.secret_text, "a\x00b", "username") == (
        "The username contains a NUL character."
    )


@pytest.mark.parametrize("method", ["AUTHENTICATOR", "EMAIL", "SMS", "MAGIC_LINK"])
def test_tfa_methods(method):
    assert rules.tfa_method(method) == method
    assert rules.tfa_method(f"  {method} ") == method


@pytest.mark.parametrize("value", [None, "", "  ", "none", " none "])
def test_tfa_method_not_set(value):
    assert rules.tfa_method(value) is None


@pytest.mark.parametrize("value", ["sms", "NONE", "authenticator", "PUSH"])
def test_tfa_method_rejections(value):
    assert _message(rules.tfa_method, value) == (
        "Choose authenticator app, email, SMS, magic link or none."
    )


@pytest.mark.parametrize("mode", ["random", "static", "country", "custom"])
def test_proxy_modes(mode):
    assert rules.proxy_mode(f" {mode} ") == mode


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("none", None)])
def test_proxy_mode_not_set(value, expected):
    assert rules.proxy_mode(value) is expected


@pytest.mark.parametrize("value", ["Random", "NONE", "tor"])
def test_proxy_mode_rejections(value):
    assert _message(rules.proxy_mode, value) == "Choose random, static, country or custom."


SECRET16 = "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("   ", None),
        (SECRET16, SECRET16),
        (SECRET16 + "====", SECRET16),
        ("jbsw-y3dp ehpk-3pxp", SECRET16),
        (SECRET16 + "AA", SECRET16 + "AA"),  # 18 characters: decodes with 6 "=" of padding
        (SECRET16 + "AA======", SECRET16 + "AA"),
        (SECRET16 + "AAAA", SECRET16 + "AAAA"),  # 20 characters: 4 "="
        ("JBSWY3DPEHPK3PXX==", "JBSWY3DPEHPK3PXX"),  # only "=" is taken off the end
        (f"otpauth://totp/Portal:ann?secret={SECRET16}&issuer=Portal", SECRET16),
        (f"OTPAUTH://totp/Portal:ann?secret={SECRET16.lower()}", SECRET16),
    ],
)
def test_tfa_secret_values(value, expected):
    assert rules.tfa_secret(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "JBSWY3DPEHPK3PX",
            "The TFA secret is too short: authenticator secrets have 16+ characters.",
        ),
        (
            "JBSWY3DP========",
            "The TFA secret is too short: authenticator secrets have 16+ characters.",
        ),
        ("JBSWY3DPEHPK3PX1", "The TFA secret must be base32: letters A–Z and digits 2–7."),
        ("=JBSWY3DPEHPK3PXP", "The TFA secret must be base32: letters A–Z and digits 2–7."),
        ("JBSWY3DPEHPK3PXPA", "The TFA secret is not valid base32."),  # 17: impossible length
        ("otpauth://totp/x?issuer=y", "That otpauth:// link has no secret= parameter."),
        ("otpauth://totp/x?secret=", "That otpauth:// link has no secret= parameter."),
        ("JBSWY3DP\x01EHPK3PXP", "The TFA secret contains control characters."),
        ("A" * 4097, "The TFA secret is too long (at most 4096 characters)."),
    ],
)
def test_tfa_secret_messages(value, message):
    assert _message(rules.tfa_secret, value) == message


def test_tfa_secret_at_the_general_length_limit():
    assert rules.tfa_secret("A" * 4096) == "A" * 4096


def test_interval_none_and_messages():
    assert rules.interval(None) is None
    assert rules.interval("   ") is None
    assert rules.interval(" 2 hours ") == "02:00:00"
    assert _message(rules.interval, "tomorrow") == (
        "“tomorrow” is not a duration: enter one like 01:30:00, 90 minutes or 7 days."
    )
    # below a microsecond it would be sent as 00:00:00, a zero interval
    assert _message(rules.interval, "0.4 us") == "The interval must be at least one microsecond."


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("   ", None), (5, 5), ("10000", 10000), ("1", 1), (" 7 ", 7)],
)
def test_max_concurrency_values(value, expected):
    assert rules.max_concurrency(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("two", "Enter a whole number of sessions, or leave empty for unlimited."),
        ("1.5", "Enter a whole number of sessions, or leave empty for unlimited."),
        ("0", "Allow at least 1 concurrent session (or leave empty for unlimited)."),
        (-1, "Allow at least 1 concurrent session (or leave empty for unlimited)."),
        ("10001", "That is more sessions than CloudCruise can run; use at most 10000."),
    ],
)
def test_max_concurrency_messages(value, message):
    assert _message(rules.max_concurrency, value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("  ", None), ("0", 0), (0, 0), (" 60 ", 60), (3600, 3600)],
)
def test_ttl_seconds_values(value, expected):
    assert rules.ttl_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "The cache time cannot be negative."),
        (-30, "The cache time cannot be negative."),
        ("soon", "Enter the cache time in whole seconds."),
        ("1.5", "Enter the cache time in whole seconds."),
    ],
)
def test_ttl_seconds_messages(value, message):
    assert _message(rules.ttl_seconds, value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" 203.0.113.10 ", "203.0.113.10"),
        ("2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"),
        ("172.15.255.255", "172.15.255.255"),
        ("172.32.0.1", "172.32.0.1"),
        ("192.167.255.255", "192.167.255.255"),
        ("11.0.0.1", "11.0.0.1"),
        ("fbff::1", "fbff::1"),
    ],
)
def test_static_ip_public_addresses(value, expected):
    assert rules.static_ip(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.8",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "fc00::1",
        "fd12:3456::1",
        "127.0.0.1",
        "::1",
        "169.254.10.10",
        "fe80::1",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "::",
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_static_ip_refuses_internal_addresses(value):
    assert _message(rules.static_ip, value) == (
        "The target IP must be a public address, not a private or loopback one."
    )


@pytest.mark.parametrize("value", [None, "", "proxy.example.net", "256.1.1.1"])
def test_static_ip_needs_an_address(value):
    assert _message(rules.static_ip, value) == (
        "Enter the proxy's target IP address, e.g. 203.0.113.10."
    )


def test_country_codes():
    assert rules.country_code(" de ") == "DE"
    assert rules.country_code("US") == "US"
    for bad in (None, "", "USA", "XX"):
        assert _message(rules.country_code, bad) == (
            "Enter a two-letter ISO 3166 country code, e.g. US or DE."
        )


@pytest.mark.parametrize(
    "value",
    [
        "http://proxy.example.net",
        "https://proxy.example.net:8443",
        "socks4://proxy.example.net:1080",
        "socks5://proxy.example.net:1080",
        "socks5h://u:p@proxy.example.net:1080",
        "HTTP://Proxy.Example.NET.:3128",
        "http://proxy.net:3128",
        "http://8.8.8.8:3128",
        "http://[2001:4860:4860::8888]:3128",
        "http://proxy.example.xn--p1ai:3128",
        "http://my-proxy.example.net:3128",
        f"http://{'p' * 63}.example.net:3128",
    ],
)
def test_proxy_urls_accepted(value):
    assert rules.proxy_url(f"  {value} ") == value


NUMERIC_HOST = (
    "The proxy host must be a full host name (proxy.example.net) or a dotted IP "
    "address; numeric shorthands such as 127.1 or 0x7f000001 are refused."
)
INTERNAL_NAME = "The proxy must not point to localhost or an internal name."
PRIVATE_ADDRESS = "The proxy must not point to a private or loopback address."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://proxy example.net", "The proxy URL must not contain spaces."),
        ("", "The proxy URL must start with http://, https://, socks4:// or socks5://."),
        (
            "ftp://proxy.example.net",
            "The proxy URL must start with http://, https://, socks4:// or socks5://.",
        ),
        (
            "proxy.example.net:8080",
            "The proxy URL must start with http://, https://, socks4:// or socks5://.",
        ),
        ("http://proxy.example.net:99999", "The proxy URL has an invalid port."),
        ("http://proxy.example.net:abc", "The proxy URL has an invalid port."),
        ("http://:8080", "The proxy URL has no host."),
        ("http://", "The proxy URL has no host."),
        ("http://localhost:8080", INTERNAL_NAME),
        ("http://LOCALHOST.:8080", INTERNAL_NAME),
        ("http://app.localhost:8080", INTERNAL_NAME),
        ("http://printer.local:8080", INTERNAL_NAME),
        ("http://db.internal:8080", INTERNAL_NAME),
        ("http://db.internal.:8080", INTERNAL_NAME),
        ("http://box.localdomain:8080", INTERNAL_NAME),
        ("http://nas.home.arpa:8080", INTERNAL_NAME),
        ("socks5://127.0.0.1:1080", PRIVATE_ADDRESS),
        ("http://10.1.2.3:3128", PRIVATE_ADDRESS),
        ("http://169.254.169.254", PRIVATE_ADDRESS),
        ("http://[::1]:3128", PRIVATE_ADDRESS),
        ("http://0.0.0.0:3128", PRIVATE_ADDRESS),
        ("http://127.1:3128", NUMERIC_HOST),
        ("http://2130706433:3128", NUMERIC_HOST),
        ("http://0x7f000001:3128", NUMERIC_HOST),
        ("http://0177.0.0.1:3128", NUMERIC_HOST),
        ("http://intranet:3128", NUMERIC_HOST),
        ("http://proxy.example.1:3128", NUMERIC_HOST),
        ("http://.proxy.example.net:3128", NUMERIC_HOST),
        ("http://-proxy.example.net:3128", NUMERIC_HOST),
        ("http://proxy-.example.net:3128", NUMERIC_HOST),
        ("http://prox_y.example.net:3128", NUMERIC_HOST),
        (f"http://{'p' * 64}.example.net:3128", NUMERIC_HOST),
        ("http://proxy.example.n:3128", NUMERIC_HOST),
        ("socks5://proxy.example.net", "Give the SOCKS proxy's port, e.g. socks5://host:1080."),
        ("socks4://proxy.example.net", "Give the SOCKS proxy's port, e.g. socks5://host:1080."),
        ("http://proxy.exa\x7fmple.net", "The proxy URL contains control characters."),
    ],
)
def test_proxy_url_messages(value, message):
    assert _message(rules.proxy_url, value) == message


def test_proxy_url_is_at_most_2048_characters():
    base = "http://proxy.example.net:3128/"
    longest = base + "p" * (2048 - len(base))
    assert rules.proxy_url(longest) == longest
    assert _message(rules.proxy_url, longest + "p") == (
        "The proxy URL is too long (at most 2048 characters)."
    )


@pytest.mark.parametrize(
    ("mode", "value", "message"),
    [
        ("custom", None, "Enter the proxy URL, e.g. socks5://user:pass@proxy.example.net:1080."),
        ("custom", "   ", "Enter the proxy URL, e.g. socks5://user:pass@proxy.example.net:1080."),
        ("random", "1.2.3.4", "Random and no-proxy modes take no value; clear this field."),
        (None, "x", "Random and no-proxy modes take no value; clear this field."),
        ("static", None, "Enter the proxy's target IP address, e.g. 203.0.113.10."),
        ("country", None, "Enter a two-letter ISO 3166 country code, e.g. US or DE."),
    ],
)
def test_proxy_value_messages(mode, value, message):
    assert _message(rules.proxy_value, mode, value) == message


def test_proxy_value_passes_the_trimmed_value_on():
    assert rules.proxy_value("static", " 203.0.113.10 ") == "203.0.113.10"
    assert rules.proxy_value("custom", " http://proxy.example.net ") == "http://proxy.example.net"
    assert rules.proxy_value("random", None) is None
    assert rules.proxy_value(None, "   ") is None


def _cookie(**fields) -> dict:
    return {"name": "sid", "value": "x", "domain": ".example.com", **fields}


def _cookies_message(cookies) -> str:
    import json

    return _message(rules.cookies_json, json.dumps(cookies))


def test_cookies_json_accepts_the_chrome_extension_format():
    import json

    full = _cookie(
        path="/",
        sameSite=None,
        storeId="0",
        httpOnly=True,
        hostOnly=False,
        secure=True,
        session=False,
        expirationDate=1893456000.5,
    )
    assert rules.cookies_json(json.dumps([full, _cookie(value="", expirationDate=1)])) == [
        full,
        _cookie(value="", expirationDate=1),
    ]
    # a single object is taken as a list of one
    assert rules.cookies_json(json.dumps(_cookie())) == [_cookie()]
    assert rules.cookies_json(None) is None
    assert rules.cookies_json("   ") is None
    assert rules.cookies_json("[]") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "Not valid JSON (line 1, column 3)."),
        ('[\n  {"name": }', "Not valid JSON (line 2, column 12)."),
        ('"x"', "Paste a JSON array of cookie objects."),
        ("3", "Paste a JSON array of cookie objects."),
        ("null", "Paste a JSON array of cookie objects."),
    ],
)
def test_cookies_json_shape_messages(text, message):
    assert _message(rules.cookies_json, text) == message


@pytest.mark.parametrize(
    ("cookies", "message"),
    [
        (["x"], "Cookie 1 is not an object."),
        ([_cookie(), "x"], "Cookie 2 is not an object."),
        ([_cookie(), _cookie(), None], "Cookie 3 is not an object."),
        ([{"value": "x", "domain": "d"}], "Cookie 1 needs a string “name”."),
        ([_cookie(name="")], "Cookie 1 needs a string “name”."),
        ([_cookie(name=5)], "Cookie 1 needs a string “name”."),
        ([{"name": "a", "domain": "d"}], "Cookie 1 needs a string “value”."),
        ([_cookie(value=None)], "Cookie 1 needs a string “value”."),
        ([_cookie(value=1)], "Cookie 1 needs a string “value”."),
        ([{"name": "a", "value": "b"}], "Cookie 1 needs a string “domain”."),
        ([_cookie(), _cookie(domain="")], "Cookie 2 needs a string “domain”."),
        ([_cookie(domain=["d"])], "Cookie 1 needs a string “domain”."),
        ([_cookie(httpOnly="true")], "Cookie 1: “httpOnly” must be true or false."),
        ([_cookie(hostOnly=1)], "Cookie 1: “hostOnly” must be true or false."),
        ([_cookie(secure="yes")], "Cookie 1: “secure” must be true or false."),
        ([_cookie(), _cookie(session=None)], "Cookie 2: “session” must be true or false."),
        (
            [_cookie(expirationDate="soon")],
            "Cookie 1: “expirationDate” must be a number (epoch seconds).",
        ),
        (
            [_cookie(expirationDate=None)],
            "Cookie 1: “expirationDate” must be a number (epoch seconds).",
        ),
        ([_cookie(path=1)], "Cookie 1: “path” must be a string."),
        ([_cookie(sameSite=False)], "Cookie 1: “sameSite” must be a string."),
        ([_cookie(), _cookie(storeId=0)], "Cookie 2: “storeId” must be a string."),
    ],
)
def test_cookies_json_messages(cookies, message):
    assert _cookies_message(cookies) == message


def test_storage_json_values_and_messages():
    assert rules.storage_json(None) is None
    assert rules.storage_json("  ") is None
    assert rules.storage_json(' {"token": "abc", "n": 1} ') == {"token": "abc", "n": 1}
    assert rules.storage_json("{}") == {}
    assert _message(rules.storage_json, '{"token": ') == "Not valid JSON (line 1, column 10)."
    assert _message(rules.storage_json, "[1, 2]") == 'Paste a JSON object, e.g. {"token": "…"}.'
    assert _message(rules.storage_json, '"x"') == 'Paste a JSON object, e.g. {"token": "…"}.'


NEEDS_ITEM = "Choose the 1Password item this entry signs in with."
NEEDS_PROVIDER = "Choose the provider the item belongs to."
TTL_WITHOUT_PROVIDER = "A cache time only applies to provider-backed entries."
NEEDS_TFA_SECRET = "An authenticator app needs its TFA secret (base32)."
TFA_SECRET_UNUSED = "A TFA secret is only used with the authenticator app method."
PROVIDER_TFA = "Provider-backed entries get 2FA codes from 1Password."


@pytest.mark.parametrize(
    ("values", "existing", "errors"),
    [
        ({}, None, {}),
        ({"secret_provider_id": "p1"}, None, {"secret_ref": NEEDS_ITEM}),
        ({"secret_ref": "op://v/i"}, None, {"secret_provider_id": NEEDS_PROVIDER}),
        ({"secret_provider_id": "p1", "secret_ref": "op://v/i"}, None, {}),
        (
            {"secret_cache_ttl_seconds": 60},
            None,
            {"secret_cache_ttl_seconds": TTL_WITHOUT_PROVIDER},
        ),
        ({"secret_cache_ttl_seconds": 0}, None, {"secret_cache_ttl_seconds": TTL_WITHOUT_PROVIDER}),
        ({"secret_cache_ttl_seconds": None}, None, {}),
        (
            {"secret_provider_id": "p1", "secret_ref": "op://v/i", "secret_cache_ttl_seconds": 0},
            None,
            {},
        ),
        (
            {"secret_provider_id": "p1", "secret_ref": "r", "user_name": "ann", "password": "pw"},
            None,
            {
                "user_name": "Provider-backed entries get the username from 1Password; clear it.",
                "password": "Provider-backed entries get the password from 1Password; clear it.",
            },
        ),
        (
            {"secret_provider_id": "p1", "secret_ref": "r", "user_name": "", "password": None},
            None,
            {},
        ),
        ({"user_name": "ann", "password": "pw"}, None, {}),
        (
            {"secret_provider_id": "p1", "secret_ref": "r", "tfa_secret": SECRET16},
            None,
            {"tfa_secret": PROVIDER_TFA},
        ),
        (
            {"secret_provider_id": "p1", "secret_ref": "r", "tfa_method": "AUTHENTICATOR"},
            None,
            {},
        ),
        (
            # provider-backed with a secret and the wrong method: the provider message wins
            {"secret_provider_id": "p1", "secret_ref": "r", "tfa_method": "SMS", "tfa_secret": "S"},
            None,
            {"tfa_secret": PROVIDER_TFA},
        ),
        ({"tfa_method": "AUTHENTICATOR"}, None, {"tfa_secret": NEEDS_TFA_SECRET}),
        ({"tfa_method": "AUTHENTICATOR"}, {}, {"tfa_secret": NEEDS_TFA_SECRET}),
        (
            {"tfa_method": "AUTHENTICATOR"},
            {"has_tfa_secret": False},
            {"tfa_secret": NEEDS_TFA_SECRET},
        ),
        ({"tfa_method": "AUTHENTICATOR"}, {"has_tfa_secret": True}, {}),
        ({"tfa_method": "AUTHENTICATOR", "tfa_secret": SECRET16}, None, {}),
        ({"tfa_method": "SMS"}, None, {}),
        ({"tfa_method": "SMS", "tfa_secret": SECRET16}, None, {"tfa_secret": TFA_SECRET_UNUSED}),
        ({"tfa_method": "EMAIL", "tfa_secret": SECRET16}, None, {"tfa_secret": TFA_SECRET_UNUSED}),
        ({"tfa_method": None, "tfa_secret": SECRET16}, None, {}),
        ({"tfa_secret": SECRET16}, None, {}),
        (
            {"max_concurrency": 3},
            None,
            {"max_concurrency": "Set a limit only when multiple sessions are allowed."},
        ),
        (
            {"max_concurrency": 3, "allow_multiple_sessions": False},
            None,
            {"max_concurrency": "Set a limit only when multiple sessions are allowed."},
        ),
        ({"max_concurrency": 3, "allow_multiple_sessions": True}, None, {}),
        ({"max_concurrency": None}, None, {}),
    ],
)
def test_cross_field_exact_errors(values, existing, errors):
    assert rules.cross_field(values, existing) == errors
