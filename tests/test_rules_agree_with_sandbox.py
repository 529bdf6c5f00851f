"""The console's entry rules never accept a value the sandbox's validation rejects.

Both validators are called in-process: the console's rules (``app/services/entry_rules``)
turn what an operator typed into the value sent; the sandbox (``app/sandbox/validation``,
the emulator's own, independent rules) must then accept that value. Otherwise the
operator would get a vague upstream 400 instead of a message beside the field. Covered:
the domain, the proxy value of each mode, the two intervals and the TOTP secret (plus
the identifier and the numbers). The explicit examples are values the console used to
accept.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.cloudcruise.countries import COUNTRY_CODES
from app.sandbox.errors import ApiError
from app.sandbox.validation import (
    PROXY_SETTINGS,
    check_entry_body,
    country_problem,
    custom_proxy_problem,
    is_ip,
    totp_secret_ok,
)
from app.services import entry_rules as rules
from app.services.entry_rules import RuleError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


REFUSED = object()


def console(rule, *args):
    """What the console sends for the typed value, or ``REFUSED`` (with a message)."""
    try:
        return rule(*args)
    except RuleError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return REFUSED


def sandbox_problems(**fields) -> list[str]:
    """The sandbox's 400 messages for a body with ``fields`` (none: accepted)."""
    body = {"permissioned_user_id": "agent-1", "domain": "https://portal.example.com", **fields}
    try:
        check_entry_body(body, require_identity=True)
    except ApiError as exc:
        return exc.body["message"]
    return []


def sandbox_proxy_problem(mode: str | None, value) -> str | None:
    """The sandbox's proxy rules (``entries._proxy_rules``) for a mode and its value."""
    problems = sandbox_problems(proxy_setting=mode) if mode is not None else []
    if problems:
        return problems[0]
    if mode is None or mode == "random":
        return None if value is None else "proxy_value must be empty"
    if value is None:
        return f"proxy_value is required when proxy_setting is {mode}"
    if mode == "static":
        return None if is_ip(value) else "proxy_value must be an IP address"
    if mode == "country":
        return country_problem(value)
    return custom_proxy_problem(value)


# -- strategies -----------------------------------------------------------------------------
_label = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["-bad-", "bad-", "-bad", "a" * 64, "my_host", "xn--bcher-kva", "b", ""]),
    st.text(alphabet="abc-_.0é", max_size=6),
)
_tld = st.sampled_from(
    ["com", "net", "de", "io", "b", "1", "x1", "internal", "local", "localhost", "localdomain",
     "home.arpa", "xn--p1ai", "c0m", ""]
)  # fmt: skip
_names = st.tuples(st.lists(_label, min_size=0, max_size=3), _tld).map(
    lambda parts: ".".join([*parts[0], parts[1]])
)
_numeric = st.one_of(
    st.integers(0, 2**32 - 1).map(str),
    st.integers(0, 2**32 - 1).map(hex),
    st.lists(st.integers(0, 400), min_size=1, max_size=4).map(
        lambda parts: ".".join(f"0{p:o}" if p % 3 == 0 else str(p) for p in parts)
    ),
)
_ips = st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip))
_hosts = st.one_of(_names, _numeric, _ips, st.sampled_from(["localhost", "LOCALHOST", ""]))
_userinfo = st.sampled_from(["", "user@", "user:pw@", ":@", "u:p%40ss@"])
_port = st.one_of(st.none(), st.integers(0, 70000)).map(lambda p: "" if p is None else f":{p}")
_tail = st.sampled_from(["", "/", "/login", "/a b", "?next=/x", "#top", "/%2e%2e/"])


def _urls(schemes: list[str]):
    return st.builds(
        lambda scheme, user, host, port, tail: f"{scheme}://{user}{host}{port}{tail}",
        st.sampled_from(schemes),
        _userinfo,
        _hosts,
        _port,
        _tail,
    )


_domains = st.one_of(
    _urls(["http", "https", "HTTPS", "ftp", "javascript", "file"]), st.text(max_size=40)
)
_proxy_urls = st.one_of(
    _urls(["http", "https", "socks4", "socks5", "socks5h", "SOCKS5", "ftp"]),
    st.text(max_size=40),
)
_intervals = st.one_of(
    st.from_regex(
        r"\s?@?\s?(\d{1,4}(\.\d{1,7})?\s?(us|ms|s|sec|min|m|h|hours|d|days|w|mon|y|years)\s?){1,3}",
        fullmatch=True,
    ),
    st.from_regex(r"(\d{1,3} days? )?\d{1,5}:\d{1,2}(:\d{1,2}(\.\d{1,7})?)?", fullmatch=True),
    st.from_regex(
        r"P(\d{1,4}Y)?(\d{1,3}M)?(\d{1,3}W)?(\d{1,3}D)?(T(\d{1,4}H)?(\d{1,4}M)?"
        r"(\d{1,6}(\.\d{1,7})?S)?)?",
        fullmatch=True,
    ),  # fmt: skip
    st.text(max_size=20),
)
_base32 = string.ascii_uppercase + "234567"
_totp = st.one_of(
    st.text(alphabet=_base32 + _base32.lower() + " -=", min_size=0, max_size=40),
    st.text(alphabet=_base32 + "0189", min_size=10, max_size=40),
    st.builds(
        lambda secret, extra: f"otpauth://totp/Acme:ops?secret={secret}{extra}",
        st.text(alphabet=_base32 + " =", max_size=40),
        st.sampled_from(["", "&issuer=Acme", "&secret=AAAA"]),
    ),
    st.text(max_size=30),
)
_countries = st.one_of(
    st.sampled_from(sorted(COUNTRY_CODES)),
    st.sampled_from(sorted(COUNTRY_CODES)).map(str.lower),
    st.text(alphabet=string.ascii_letters + " ", max_size=4),
)
_static = st.one_of(
    st.ip_addresses().map(str), st.text(alphabet="0123456789abcdef.:x ", max_size=20)
)
_modes = st.sampled_from([*PROXY_SETTINGS, None])


# -- the seven values the console used to accept ----------------------------------------
FORMERLY_ACCEPTED_DOMAINS = [
    "https://user:pw@portal.example.com",  # credentials in the URL
    "https://metadata.google.internal",  # an internal name
    "https://printer.local",
    "https://intranet.localdomain/login",
    "https://a.b",  # "b" is not a top-level domain
    "https://-bad-.com",  # a label may not start or end with a hyphen
    "https://127.1",  # a numeric shorthand, neither an address nor a name
    "https://portal..example.com",  # an empty label
]


@pytest.mark.parametrize("value", FORMERLY_ACCEPTED_DOMAINS)
def test_formerly_accepted_domains_are_refused_with_a_reason(value):
    assert sandbox_problems(domain=value)  # the sandbox refuses it
    with pytest.raises(RuleError) as refused:
        rules.domain(value)
    assert "domain" in str(refused.value).lower() or "host" in str(refused.value).lower()


# -- the properties ---------------------------------------------------------------------
@SETTINGS
@given(value=_domains)
@example(value="https://user:pw@host.example.com")
@example(value="https://x.internal")
@example(value="https://a.b")
@example(value="https://-bad-.com")
def test_domain(value):
    sent = console(rules.domain, value)
    if sent is not REFUSED:
        assert sandbox_problems(domain=sent) == [], (value, sent)


@SETTINGS
@given(mode=_modes, value=st.one_of(st.none(), st.just(""), _static, _countries, _proxy_urls))
def test_proxy_mode_and_value(mode, value):
    sent_mode = console(rules.proxy_mode, mode)
    if sent_mode is REFUSED:
        return
    sent = console(rules.proxy_value, sent_mode, value)
    if sent is not REFUSED:
        assert sandbox_proxy_problem(sent_mode, sent) is None, (mode, value, sent)


@pytest.mark.parametrize(
    ("mode", "values"),
    [("static", _static), ("country", _countries), ("custom", _proxy_urls)],
    ids=["static", "country", "custom"],
)
@SETTINGS
@given(data=st.data())
def test_proxy_value_of_each_mode(mode, values, data):
    value = data.draw(values, label="value")
    sent = console(rules.proxy_value, mode, value)
    if sent is not REFUSED:
        assert sandbox_proxy_problem(mode, sent) is None, (value, sent)


@SETTINGS
@given(value=_intervals)
@example(value="0.4 us")
@example(value="PT0.0000004S")
def test_intervals(value):
    sent = console(rules.interval, value)
    if sent is not REFUSED:
        for field in ("expiry_time_from_last_use", "expiry_time_from_session_data_set"):
            assert sandbox_problems(**{field: sent}) == [], (value, sent)


@SETTINGS
@given(value=_totp)
def test_totp_secret(value):
    sent = console(rules.tfa_secret, value)
    if sent not in (REFUSED, None):
        assert totp_secret_ok(sent), (value, sent)  # the sandbox checks the decrypted secret


@SETTINGS
@given(
    puid=st.text(max_size=300),
    concurrency=st.one_of(st.none(), st.integers(-5, 20000).map(str), st.text(max_size=6)),
    ttl=st.one_of(st.none(), st.integers(-5, 10**6).map(str), st.text(max_size=6)),
)
def test_identifier_and_numbers(puid, concurrency, ttl):
    sent = console(rules.permissioned_user_id, puid)
    if sent is not REFUSED:
        assert sandbox_problems(permissioned_user_id=sent) == [], (puid, sent)
    limit = console(rules.max_concurrency, concurrency)
    if limit not in (REFUSED, None):
        assert sandbox_problems(max_concurrency=limit) == [], (concurrency, limit)
    seconds = console(rules.ttl_seconds, ttl)
    if seconds not in (REFUSED, None):
        assert sandbox_problems(secret_cache_ttl_seconds=seconds) == [], (ttl, seconds)


@SETTINGS
@given(
    value=st.one_of(
        st.ip_addresses().map(str),
        st.text(alphabet="0123456789.:abcdef ", max_size=45),
        st.text(max_size=20),
    )
)
@example(value=" 198.51.100.7 ")
@example(value="1.2.3")
def test_legacy_target_ip(value):
    sent = console(rules.legacy_ip, value)
    if sent is not REFUSED:
        # empty clears it: the console then sends "" (the catalogue's way to clear this field)
        assert sandbox_problems(ip_address="" if sent is None else sent) == [], (value, sent)
