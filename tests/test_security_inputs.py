"""Hostile input the outside probe sent: numeric and internal spellings of private proxy
targets, and upstream entries whose fields carry any JSON type. None of it may be accepted
where CloudCruise would refuse it, and none of it may end in an HTTP 500."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sandbox.validation import custom_proxy_problem
from app.services.entry_rules import RuleError, proxy_url
from tests.entries_support import csrf, hx, index_sync, make_entry

PRIVATE_SPELLINGS = [
    "http://2130706433/",
    "http://0x7f000001:8080/",
    "socks5://0177.0.0.1:1080",
    "socks5://127.1:1080",
    "http://metadata.google.internal/",
    "http://printer.local:8080/",
    "http://LOCALHOST:3128/",
    "http://intranet.localdomain:3128/",
    "http://10.0.0.7:3128/",
    "http://[::1]:3128/",
    "http://169.254.169.254/",
    "http://proxy.example.net:3128/ extra",
]


@pytest.mark.parametrize("url", PRIVATE_SPELLINGS)
def test_the_console_refuses_what_cloudcruise_refuses(url):
    assert custom_proxy_problem(url) is not None  # the emulator's (independent) rule
    with pytest.raises(RuleError):
        proxy_url(url)


def test_ordinary_proxies_still_pass():
    for url in ("socks5://u:p@proxy.example.net:1080", "http://93.184.216.34:3128"):
        assert proxy_url(url) == url and custom_proxy_problem(url) is None


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_hosts = st.one_of(
    st.integers(0, 2**32 - 1).map(str),
    st.integers(0, 2**32 - 1).map(hex),
    st.lists(st.integers(0, 400), min_size=1, max_size=4).map(
        lambda parts: ".".join(f"0{p:o}" if p % 3 == 0 else str(p) for p in parts)
    ),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.lists(_label, min_size=1, max_size=3).map(".".join),
    st.tuples(
        st.lists(_label, min_size=1, max_size=2).map(".".join),
        st.sampled_from(["com", "net", "internal", "local", "localhost", "1", "x"]),
    ).map(".".join),
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "socks4", "socks5", "socks5h", "ftp"]),
    host=_hosts,
    port=st.one_of(st.none(), st.integers(1, 65535)),
)
def test_the_console_never_accepts_a_proxy_the_emulator_rejects(scheme, host, port):
    url = f"{scheme}://{host}" + (f":{port}" if port else "")
    try:
        accepted = proxy_url(url)
    except RuleError:
        return
    assert custom_proxy_problem(accepted) is None, url


def _vault(sandbox) -> list[dict]:
    answer = requests.get(f"{sandbox.base_url}/vault", headers={"cc-key": sandbox.api_key},
                          timeout=10)  # fmt: skip
    answer.raise_for_status()
    return answer.json()


def test_an_entry_with_an_object_for_an_alias_is_skipped_with_a_notice(client, auth, sandbox):
    target = make_entry(sandbox, user_alias="Will be odd")
    auth.login("omar", "viewer")
    token = csrf(client)
    body = _vault(sandbox)
    odd = next(e for e in body if e["id"] == target.id)
    odd["user_alias"] = {"first": "Ann"}
    sandbox.faults.add("status", status=200, body=body, method="GET", path="/vault", times=1)
    synced = index_sync(client, token)
    assert synced.status_code == 200
    page = client.get("/entries?per_page=200")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 entry in CloudCruise could not be read" in html and target.id in html
    assert "Showing <strong>1–" in html  # everyone else is listed
    # its page says what is wrong instead of failing
    sandbox.faults.add("status", status=200, body=odd, method="GET", path="/vault", times=1)
    detail = client.get(f"/entries/{target.id}")
    assert detail.status_code == 503
    assert "cannot read (user_alias is not text)" in detail.get_data(as_text=True)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),  # fmt: skip
    max_leaves=6,
)
FIELDS = [
    "id", "permissioned_user_id", "domain", "user_alias", "tfa_method", "persist_cookies",
    "persist_local_storage", "persist_session_storage", "skip_csrf_cookies",
    "cookie_domain_to_store", "expiry_time_from_last_use", "expiry_time_from_session_data_set",
    "allow_multiple_sessions", "max_concurrency", "prevent_concurrency_during_login",
    "proxy_setting", "proxy_value", "proxy", "secret_provider_id", "secret_ref",
    "secret_cache_ttl_seconds", "effective_expires_at", "session_data_set_at", "cookies",
    "local_storage", "session_storage", "created_at", "updated_at", "user_name", "password",
    "tfa_secret", "tfa_email", "tfa_phone_number",
]  # fmt: skip


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), _json, min_size=1, max_size=6))
def test_any_json_in_any_field_never_breaks_a_page(client, auth, sandbox, changes):
    if client.get("/entries").status_code != 200:  # sign in once for all examples
        auth.login("fuzz", "viewer")
    token = csrf(client)
    body = _vault(sandbox)[:5]
    fuzzed = {**body[0], **changes}
    body[0] = fuzzed
    sandbox.faults.add("status", status=200, body=body, method="GET", path="/vault", times=1)
    assert hx(client, "POST", "/entries/sync", token).status_code == 200
    for path in ("/entries", "/entries?sort=session", "/entries?q=a&sort=updated&dir=desc",
                 "/overview", "/search?q=a"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, (path, json.dumps(changes, default=str)[:300])
    entry_id = fuzzed.get("id")
    if isinstance(entry_id, str) and entry_id:
        sandbox.faults.add("status", status=200, body=fuzzed, method="GET", path="/vault",
                           times=1)  # fmt: skip
        response = client.get(f"/entries/{entry_id}")
        assert response.status_code in (200, 404, 503), json.dumps(changes, default=str)[:300]
    sandbox.faults.clear()
