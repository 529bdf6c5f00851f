"""Server-computed fields: identifiers, TFA routing, session expiry and proxy assignment."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from app.sandbox import computed
from app.sandbox.computed import INTERNAL_FIELDS, parse_ts

COOKIE = {"name": "session_id", "value": "abc", "domain": "app.gusto.com"}


def pair(entry):
    return {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}


@pytest.mark.parametrize(
    ("domain", "slug"),
    [
        ("https://portal.availity.com", "portal-availity-com"),
        ("https://www.fedex.com/secure-login", "www-fedex-com"),
        ("http://127.0.0.1:8080/login", "127-0-0-1-8080"),
        ("https://App.Gusto.com", "app-gusto-com"),
    ],
)
def test_site_identifier_and_tfa_email(api, domain, slug):
    entry = api.create(permissioned_user_id="billing-team-03", domain=domain)
    assert entry["site_identifier"] == slug
    assert entry["tfa_email"] == f"info+billing-team-03+{slug}@cloudcruise.com"


def test_tfa_phone_number_only_for_sms(api):
    sms = api.create(tfa_method="SMS")
    # CloudCruise's default number, "+1 415 753-4639" in the docs, in E.164
    assert sms["tfa_phone_number"] == computed.TFA_PHONE_NUMBER == "+14157534639"
    assert api.create(tfa_method="EMAIL")["tfa_phone_number"] is None
    assert api.create()["tfa_phone_number"] is None
    switched = api.put("/vault", json={**pair(sms), "tfa_method": "EMAIL"}).json()
    assert switched["tfa_phone_number"] is None


def test_session_data_set_at_follows_session_writes(api):
    entry = api.create()
    assert entry["session_data_set_at"] is None
    with_cookies = api.put("/vault", json={**pair(entry), "cookies": [COOKIE]}).json()
    set_at = with_cookies["session_data_set_at"]
    assert set_at == with_cookies["updated_at"]
    # an unrelated write keeps it
    assert (
        api.put("/vault", json={**pair(entry), "user_alias": "x"}).json()["session_data_set_at"]
        == set_at
    )
    # new storage data moves it
    moved = api.put("/vault", json={**pair(entry), "local_storage": {"k": "v"}}).json()
    assert moved["session_data_set_at"] > set_at
    # emptying everything clears it
    cleared = api.put(
        "/vault", json={**pair(entry), "cookies": [], "local_storage": {}, "session_storage": {}}
    ).json()
    assert cleared["session_data_set_at"] is None


def test_effective_expires_at_from_session_data_set(api):
    entry = api.create(cookies=[COOKIE], expiry_time_from_session_data_set="7 days")
    expected = parse_ts(entry["session_data_set_at"]) + timedelta(days=7)
    assert parse_ts(entry["effective_expires_at"]) == expected


def test_effective_expires_at_is_the_earlier_of_both_intervals(api):
    entry = api.create(
        cookies=[COOKIE],
        expiry_time_from_session_data_set="7 days",
        expiry_time_from_last_use="01:30:00",
    )
    expected = parse_ts(entry["session_data_set_at"]) + timedelta(minutes=90)
    assert parse_ts(entry["effective_expires_at"]) == expected


def test_effective_expires_at_is_null_without_intervals_or_session(api):
    assert api.create(cookies=[COOKIE])["effective_expires_at"] is None
    assert api.create(expiry_time_from_last_use="1 day")["effective_expires_at"] is None


def test_effective_expires_at_uses_last_use_bookkeeping():
    set_at = "2026-01-01T00:00:00.000000Z"
    entry = {
        "session_data_set_at": set_at,
        "last_used_at": "2026-01-03T00:00:00.000000Z",
        "expiry_time_from_last_use": "1 day",
        "expiry_time_from_session_data_set": "7 days",
    }
    assert computed.effective_expires_at(entry) == "2026-01-04T00:00:00.000000Z"
    entry["expiry_time_from_session_data_set"] = "2 days"
    assert computed.effective_expires_at(entry) == "2026-01-03T00:00:00.000000Z"


def _public(ip):
    return ipaddress.ip_address(ip).is_global


def _ip_port(proxy_string):
    """``(ip, port)`` of an assigned proxy, ``ip:port`` as the docs show it."""
    host, _, port = proxy_string.rpartition(":")
    return host.strip("[]"), int(port)


def test_random_proxy_assignment(api):
    entry = api.create(proxy_setting="random")
    ip, port = _ip_port(entry["proxy_string"])
    assert _public(ip) and 10000 <= port <= 65535
    assert entry["ip_address"] is None  # the legacy target IP: not the assigned proxy
    city, cc = entry["location"].split(", ")
    assert city and len(cc) == 2
    # deterministic: re-reading or an unrelated update keeps the assignment
    again = api.put("/vault", json={**pair(entry), "user_alias": "x"}).json()
    assert (again["proxy_string"], again["location"]) == (entry["proxy_string"], entry["location"])


def test_static_proxy_assignment(api):
    entry = api.create(proxy_setting="static", proxy_value="203.0.113.7")
    assert _ip_port(entry["proxy_string"])[0] == "203.0.113.7"
    assert entry["ip_address"] is None
    assert ", " in entry["location"]
    v6 = api.create(proxy_setting="static", proxy_value="2001:db8::7")
    assert v6["proxy_string"].startswith("[2001:db8::7]:")


def test_country_proxy_assignment(api):
    entry = api.create(proxy_setting="country", proxy_value="DE")
    assert _public(_ip_port(entry["proxy_string"])[0])
    assert entry["location"].endswith(", DE")


def test_custom_proxy_assignment_strips_credentials(api):
    url = "socks5://agent:s3cret@45.77.112.9:1080"
    entry = api.create(proxy_setting="custom", proxy_value=api.enc(url))
    assert entry["proxy_string"] == "45.77.112.9:1080"
    assert entry["ip_address"] is None and entry["location"] is None
    assert "s3cret" not in str(entry)
    named = api.create(proxy_setting="custom", proxy_value=api.enc("http://u:p@pr.oxylabs.io"))
    assert named["proxy_string"] == "pr.oxylabs.io:80"  # a host name is not resolved


def test_legacy_proxy_assignment(api):
    entry = api.create(proxy={"enable": True, "target_ip": "198.51.100.4"})
    assert entry["proxy"] == {"enable": True, "target_ip": "198.51.100.4"}
    assert _ip_port(entry["proxy_string"])[0] == "198.51.100.4"
    plain = api.create(proxy={"enable": True})
    assert _public(_ip_port(plain["proxy_string"])[0])
    off = api.create(proxy={"enable": False})
    assert (off["proxy_string"], off["ip_address"], off["location"]) == (None, None, None)


def test_ip_address_is_the_stored_legacy_target_ip(api):
    """Deprecated "legacy field for target IP address": written by the client (PUT
    included), returned as stored whatever proxy is assigned."""
    entry = api.create(proxy_setting="random", ip_address="198.51.100.9")
    assert entry["ip_address"] == "198.51.100.9"
    assert _ip_port(entry["proxy_string"])[0] != "198.51.100.9"
    moved = api.put("/vault", json={**pair(entry), "ip_address": "2001:db8::1"}).json()
    assert moved["ip_address"] == "2001:db8::1"
    assert moved["proxy_string"] == entry["proxy_string"]
    cleared = api.put("/vault", json={**pair(entry), "ip_address": ""}).json()
    assert cleared["ip_address"] is None
    r = api.put("/vault", json={**pair(entry), "ip_address": "gate.example.com"})
    assert r.status_code == 400
    assert r.json()["message"] == ["ip_address must be an ip address"]


def test_no_proxy_means_null_assignment(api):
    entry = api.create()
    assert (entry["proxy_string"], entry["ip_address"], entry["location"]) == (None, None, None)
    assert "proxy" not in entry


def test_internal_bookkeeping_is_never_exposed(seeded, api):
    from sandbox_helpers import bound

    entries = bound(seeded).get("/vault").json()
    assert any(e["proxy_setting"] == "custom" for e in entries)
    for entry in entries:
        assert not set(INTERNAL_FIELDS) & set(entry)
        assert list(entry)[:3] == ["id", "permissioned_user_id", "user_name"]
