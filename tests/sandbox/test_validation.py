"""Request validation: NestJS-style 400s whose messages start with the field they concern,
and 401 INVALID_ENCRYPTION for ciphertexts the workspace key cannot open."""

from __future__ import annotations

import pytest
from sandbox_helpers import uid

from app.cloudcruise.crypto import encrypt_value, generate_key
from app.sandbox.validation import NULL_PROBLEM, NULLABLE, WRITABLE

DOMAIN = "https://secure.uhcprovider.com"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TFA_ENUM = "tfa_method must be one of the following values: AUTHENTICATOR, EMAIL, SMS, MAGIC_LINK"
PROXY_ENUM = "proxy_setting must be one of the following values: random, static, country, custom"
PRIVATE = "proxy_value must not point to a private or loopback address"
TOO_LONG = "permissioned_user_id must be shorter than or equal to 255 characters"
SCHEMES = "proxy_value must be a proxy URL with scheme http, https, socks4, socks5, socks5h"
LOCALHOST = "domain must not be localhost; use http://127.0.0.1:<port> instead"
PROTOCOL = "domain must be a URL address with the http or https protocol"


def post(api, **fields):
    return api.post("/vault", json={"permissioned_user_id": uid(), "domain": DOMAIN, **fields})


def messages(r):
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert isinstance(body["message"], list) and body["message"]
    return body["message"]


# -- properties and types ------------------------------------------------------------------
def test_unknown_properties_are_rejected_by_name(api):
    found = messages(post(api, username="x", conversation_id="y"))
    assert found == [
        "property username should not exist",
        "property conversation_id should not exist",
    ]


def test_server_computed_fields_are_accepted_and_ignored(api, box):
    r = post(
        api,
        workspace_id="w",
        organization_id="o",
        site_identifier="s",
        created_at="2000-01-01T00:00:00Z",
        updated_at="x",
        tfa_email="me@example.com",
        tfa_phone_number="+1",
        session_data_set_at="2000-01-01T00:00:00Z",
        effective_expires_at="2000-01-01T00:00:00Z",
    )
    assert r.status_code == 201
    entry = r.json()
    assert entry["workspace_id"] == box.workspace.workspace_id
    assert entry["created_at"] != "2000-01-01T00:00:00Z"
    assert entry["tfa_email"].startswith("info+") and entry["session_data_set_at"] is None


def test_all_documented_writable_fields_are_accepted(api):
    r = post(
        api,
        user_name=api.enc("u"),
        password=api.enc("p"),
        tfa_secret=api.enc(SECRET),
        tfa_method="AUTHENTICATOR",
        user_alias="alias",
        persist_cookies=True,
        persist_local_storage=None,
        persist_session_storage=False,
        cookies=[],
        local_storage={"a": 1},
        session_storage={},
        cookie_domain_to_store=".uhcprovider.com",
        skip_csrf_cookies=True,
        allow_multiple_sessions=True,
        max_concurrency=None,
        prevent_concurrency_during_login=True,
        expiry_time_from_last_use=None,
        expiry_time_from_session_data_set="7 days 00:00:00",
        proxy={"enable": False},
        user_id="7b0f5d7e-5f0a-4a8e-9d51-9d3f2f0b7c11",
        user_agent="Mozilla/5.0",
        location="Somewhere",
        ip_address="203.0.113.9",
        session_id="sess_1",
        headers=[{"name": "X-Test", "value": "1"}],
        proxy_string="p:1",
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["user_id"] == "7b0f5d7e-5f0a-4a8e-9d51-9d3f2f0b7c11"
    assert entry["headers"] == [{"name": "X-Test", "value": "1"}]
    assert entry["proxy"] == {"enable": False}
    assert entry["persist_local_storage"] is False  # null (the JS SDK sends it): false
    assert entry["prevent_concurrency_during_login"] is True
    # no proxy configured: client-set assignment fields are kept
    assert (entry["proxy_string"], entry["ip_address"], entry["location"]) == (
        "p:1",
        "203.0.113.9",
        "Somewhere",
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("user_alias", 5, "user_alias must be a string"),
        ("cookie_domain_to_store", ["x"], "cookie_domain_to_store must be a string"),
        ("user_agent", True, "user_agent must be a string"),
        ("persist_cookies", "true", "persist_cookies must be a boolean value"),
        ("skip_csrf_cookies", 1, "skip_csrf_cookies must be a boolean value"),
        ("allow_multiple_sessions", "yes", "allow_multiple_sessions must be a boolean value"),
        (
            "prevent_concurrency_during_login",
            0,
            "prevent_concurrency_during_login must be a boolean value",
        ),
        ("max_concurrency", 0, "max_concurrency must not be less than 1"),
        ("max_concurrency", 2.5, "max_concurrency must be an integer number"),
        ("max_concurrency", True, "max_concurrency must be an integer number"),
        ("max_concurrency", "3", "max_concurrency must be an integer number"),
        ("secret_cache_ttl_seconds", -1, "secret_cache_ttl_seconds must not be less than 0"),
        ("local_storage", [], "local_storage must be an object"),
        ("session_storage", "x", "session_storage must be an object"),
        ("cookies", {}, "cookies must be an array"),
        ("headers", {}, "headers must be an array"),
        ("tfa_method", "TOTP", TFA_ENUM),
        ("tfa_method", "email", TFA_ENUM),
        ("proxy_setting", "rotating", PROXY_ENUM),
        ("user_name", 123, "user_name must be a string"),
        ("permissioned_user_id", "", "permissioned_user_id should not be empty"),
        ("permissioned_user_id", None, f"permissioned_user_id {NULL_PROBLEM}"),
        ("permissioned_user_id", "x" * 256, TOO_LONG),
    ],
)
def test_type_checks(api, field, value, expected):
    assert messages(post(api, **{field: value})) == [expected]


def test_all_problems_are_reported_together(api):
    found = messages(post(api, max_concurrency=0, persist_cookies="no", extra=1))
    assert found == [
        "max_concurrency must not be less than 1",
        "persist_cookies must be a boolean value",
        "property extra should not exist",
    ]


def test_create_requires_permissioned_user_id_and_domain(api):
    found = messages(api.post("/vault", json={}))
    assert {m.split()[0] for m in found} == {"permissioned_user_id", "domain"}


# -- domain --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "domain",
    [
        "https://provider.availity.com",
        "http://127.0.0.1:8080",
        "https://www.fedex.com/secure-login?x=1",
        "https://10.1.2.3",
        "https://xn--bcher-kva.example:8443/path",
    ],
)
def test_valid_domains(api, domain):
    assert (
        api.post("/vault", json={"permissioned_user_id": uid(), "domain": domain}).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("provider.availity.com", PROTOCOL),
        ("ftp://files.example.com", PROTOCOL),
        ("http://localhost:3000", LOCALHOST),
        ("https://app.localhost", LOCALHOST),
        ("https://", "domain must be a URL address"),
        ("https://intranet", "domain must be a URL address"),
        ("https://exa mple.com", "domain must be a URL address"),
        ("https://example.com:99999", "domain must be a URL address"),
        ("https://bad_host.com", "domain must be a URL address"),
        ("https://user:pw@example.com", "domain must not contain a username or password"),
        ("", "domain should not be empty"),
        (42, "domain must be a string"),
    ],
)
def test_invalid_domains(api, domain, problem):
    assert messages(api.post("/vault", json={"permissioned_user_id": uid(), "domain": domain})) == [
        problem
    ]


# -- intervals -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("01:30:00", "01:30:00"),
        ("7 days 00:00:00", "7 days"),
        ("PT36H", "1 day 12:00:00"),
        ("90 minutes", "01:30:00"),
    ],
)
def test_intervals_are_normalised(api, given, stored):
    entry = post(api, expiry_time_from_last_use=given).json()
    assert entry["expiry_time_from_last_use"] == stored


@pytest.mark.parametrize("bad", ["soon", "-1 day", "00:00:00", 90, "25 fortnights"])
def test_bad_intervals_are_rejected(api, bad):
    (found,) = messages(post(api, expiry_time_from_session_data_set=bad))
    assert found.startswith("expiry_time_from_session_data_set must be")


# -- cookies -------------------------------------------------------------------------------
def test_cookie_shape(api):
    good = {
        "name": "XSRF-TOKEN",
        "value": "v",
        "domain": ".uhcprovider.com",
        "path": "/",
        "expirationDate": 1790000000.5,
        "httpOnly": False,
        "hostOnly": False,
        "secure": True,
        "session": False,
        "storeId": "0",
        "sameSite": "lax",
    }
    assert post(api, cookies=[good]).json()["cookies"] == [good]
    bad = [
        {"value": "v", "domain": "d"},
        "session_id=abc",
        {**good, "secure": "true", "expirationDate": "tomorrow", "path": 1},
    ]
    assert messages(post(api, cookies=bad)) == [
        "cookies.0.name must be a string",
        "cookies.1 must be an object",
        "cookies.2.path must be a string",
        "cookies.2.secure must be a boolean value",
        "cookies.2.expirationDate must be a number",
    ]


# -- TFA -----------------------------------------------------------------------------------
def test_authenticator_requires_a_decryptable_base32_secret(api):
    assert messages(post(api, tfa_method="AUTHENTICATOR")) == [
        "tfa_secret is required when tfa_method is AUTHENTICATOR"
    ]
    (found,) = messages(post(api, tfa_method="AUTHENTICATOR", tfa_secret=api.enc("not base32!")))
    assert found.startswith("tfa_secret must decrypt to a base32 TOTP secret")
    (found,) = messages(post(api, tfa_method="AUTHENTICATOR", tfa_secret=api.enc("JBSWY3DP")))
    assert found.startswith("tfa_secret ")  # 40 bits: too short to be a real TOTP secret
    ok = post(api, tfa_method="AUTHENTICATOR", tfa_secret=api.enc("jbsw y3dp ehpk 3pxp"))
    assert ok.status_code == 201


def test_authenticator_may_use_the_stored_secret(api):
    entry = api.create(tfa_secret=api.enc(SECRET))
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    r = api.put("/vault", json={**pair, "tfa_method": "AUTHENTICATOR"})
    assert r.status_code == 200 and r.json()["tfa_method"] == "AUTHENTICATOR"
    r = api.put("/vault", json={**pair, "tfa_method": "EMAIL", "tfa_secret": None})
    assert messages(r) == [f"tfa_secret {NULL_PROBLEM}"]  # no documented way to remove it


# -- encryption ----------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["user_name", "password", "tfa_secret"])
def test_credentials_must_be_encrypted_with_the_workspace_key(api, field):
    other_key = generate_key()
    for value in ("plaintext", encrypt_value("x", other_key), "ab" * 40):
        r = post(api, **{field: value})
        assert r.status_code == 401
        assert r.json() == {
            "statusCode": 401,
            "error": "Unauthorized",
            "code": "INVALID_ENCRYPTION",
            "message": f"{field} is not encrypted with this workspace's encryption key",
        }


def test_raw_non_json_encryption_is_rejected(api, box):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    iv = b"\x01" * 12
    raw = (iv + AESGCM(bytes.fromhex(box.encryption_key)).encrypt(iv, b"hunter2", None)).hex()
    assert post(api, password=raw).status_code == 401


def test_ciphertext_of_a_non_string_or_of_null_is_a_400(api):
    assert messages(post(api, password=api.enc(1234))) == ["password must decrypt to a string"]
    entry = api.create(password=api.enc("pw"))
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    # the JS SDK encrypts an explicit null: an undocumented null all the same
    r = api.put("/vault", json={**pair, "password": api.enc(None)})
    assert messages(r) == [f"password {NULL_PROBLEM}"]
    assert api.one(**pair).json()["password"] == entry["password"]


def test_encryption_is_checked_on_update_too(api):
    entry = api.create()
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    r = api.put("/vault", json={**pair, "user_name": "bob@example.com"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_ENCRYPTION"


# -- proxy ---------------------------------------------------------------------------------
def test_proxy_value_requires_proxy_setting(api):
    assert messages(post(api, proxy_value="US")) == ["proxy_value requires proxy_setting"]


@pytest.mark.parametrize(
    ("setting", "value", "ok"),
    [
        ("random", None, True),
        ("random", "US", False),
        ("static", "203.0.113.7", True),
        ("static", "2001:db8::1", True),
        ("static", "proxy.example.com", False),
        ("static", None, False),
        ("country", "US", True),
        ("country", "DE", True),
        ("country", "us", False),
        ("country", "USA", False),
        ("country", "XX", False),
        ("country", None, False),
    ],
)
def test_managed_proxy_values(api, setting, value, ok):
    r = post(api, proxy_setting=setting, **({"proxy_value": value} if value else {}))
    if ok:
        assert r.status_code == 201, r.text
        assert r.json()["proxy_value"] == value
    else:
        (found,) = messages(r)
        assert found.startswith("proxy_value ")


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@proxy.provider.net:8080",
        "https://proxy.provider.net",
        "socks4://8.8.8.8:1080",
        "socks5://u:p@gate.smartproxy.com:7000",
        "socks5h://[2606:4700::1111]:1080",
    ],
)
def test_custom_proxy_urls_accepted(api, url):
    r = post(api, proxy_setting="custom", proxy_value=api.enc(url))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8080", PRIVATE),
        ("socks5://10.0.0.5:1080", PRIVATE),
        ("http://192.168.1.10:3128", PRIVATE),
        ("http://169.254.169.254", PRIVATE),
        ("http://[::1]:8080", PRIVATE),
        ("http://[fe80::1]:8080", PRIVATE),
        ("http://localhost:8080", PRIVATE),
        ("http://metadata.internal", PRIVATE),
        ("ftp://proxy.provider.net", SCHEMES),
        ("http://", "proxy_value must be a proxy URL with a host"),
        ("http://proxy.provider.net:70000", "proxy_value must be a proxy URL with a valid port"),
    ],
)
def test_custom_proxy_urls_rejected(api, url, problem):
    assert messages(post(api, proxy_setting="custom", proxy_value=api.enc(url))) == [problem]


def test_custom_proxy_value_must_be_encrypted(api):
    r = post(api, proxy_setting="custom", proxy_value="http://proxy.provider.net:8080")
    assert r.status_code == 401
    assert r.json()["message"].startswith("proxy_value is not encrypted")
    assert messages(post(api, proxy_setting="custom")) == [
        "proxy_value is required when proxy_setting is custom"
    ]


def test_changing_proxy_setting_drops_the_old_value(api):
    entry = api.create(proxy_setting="static", proxy_value="203.0.113.7")
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    updated = api.put("/vault", json={**pair, "proxy_setting": "random"}).json()
    assert updated["proxy_setting"] == "random" and updated["proxy_value"] is None
    assert messages(api.put("/vault", json={**pair, "proxy_setting": "country"})) == [
        "proxy_value is required when proxy_setting is country"
    ]


def test_legacy_proxy_object(api):
    assert post(api, proxy={"enable": True, "target_ip": "203.0.113.5"}).status_code == 201
    assert messages(post(api, proxy={"target_ip": "203.0.113.5"})) == [
        "proxy.enable must be a boolean value"
    ]
    assert messages(post(api, proxy={"enable": True, "port": 1})) == [
        "proxy.property port should not exist"
    ]
    assert messages(post(api, proxy={"enable": True, "target_ip": "host"})) == [
        "proxy.target_ip must be an ip address"
    ]


# -- secret providers ----------------------------------------------------------------------
@pytest.fixture
def provider(api):
    first = api.get("/secret-providers").json()[0]
    items = api.get(f"/secret-providers/{first['id']}/items").json()
    return first["id"], items[0]["ref"]


def test_provider_backed_entry(api, provider):
    provider_id, ref = provider
    entry = post(api, secret_provider_id=provider_id, secret_ref=ref, secret_cache_ttl_seconds=0)
    assert entry.status_code == 201
    body = entry.json()
    assert (body["secret_provider_id"], body["secret_ref"]) == (provider_id, ref)
    assert body["secret_cache_ttl_seconds"] == 0 and body["user_name"] is None


def test_provider_rules(api, provider):
    provider_id, ref = provider
    assert messages(post(api, secret_provider_id=provider_id)) == [
        "secret_ref must be provided together with secret_provider_id"
    ]
    assert messages(post(api, secret_ref=ref)) == [
        "secret_provider_id must be provided together with secret_ref"
    ]
    assert messages(post(api, secret_provider_id="nope", secret_ref=ref)) == [
        "secret_provider_id must reference an existing secret provider"
    ]
    assert messages(post(api, secret_provider_id=provider_id, secret_ref="op://x/y")) == [
        "secret_ref must be the ref of an item of that secret provider"
    ]
    assert messages(post(api, secret_cache_ttl_seconds=60)) == [
        "secret_cache_ttl_seconds requires secret_provider_id and secret_ref"
    ]
    found = messages(
        post(api, secret_provider_id=provider_id, secret_ref=ref, password=api.enc("p"))
    )
    assert len(found) == 1 and found[0].startswith("password must not be set on a provider-backed")


def test_binding_and_unbinding_a_provider(api, provider):
    provider_id, ref = provider
    entry = api.create(user_name=api.enc("u"), password=api.enc("p"))
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    bound = api.put(
        "/vault",
        json={
            **pair,
            "secret_provider_id": provider_id,
            "secret_ref": ref,
            "secret_cache_ttl_seconds": 60,
        },
    ).json()
    assert bound["user_name"] is None and bound["password"] is None  # replaced by the provider
    r = api.put("/vault", json={**pair, "password": api.enc("again")})
    assert messages(r)[0].startswith("password must not be set on a provider-backed")
    # unbinding would take nulls: the API documents none for these fields
    r = api.put("/vault", json={**pair, "secret_provider_id": None, "secret_ref": None})
    assert messages(r) == [f"secret_provider_id {NULL_PROBLEM}", f"secret_ref {NULL_PROBLEM}"]
    assert api.one(**pair).json()["secret_provider_id"] == provider_id


def test_every_message_names_its_field(api):
    """Clients map messages to form fields by their first word."""
    r = post(
        api,
        user_alias=1,
        max_concurrency=-3,
        cookies=[{}],
        tfa_method="X",
        expiry_time_from_last_use="x",
    )
    for message in messages(r):
        assert message.split()[0].split(".")[0] in {
            "user_alias",
            "max_concurrency",
            "cookies",
            "tfa_method",
            "expiry_time_from_last_use",
        }


# -- null ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field", sorted(set(WRITABLE) - NULLABLE - {"permissioned_user_id", "domain"})
)
def test_null_is_refused_where_the_docs_give_it_no_meaning(api, field):
    entry = api.create()
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    r = api.put("/vault", json={**pair, field: None})
    assert r.status_code == 400 and messages(r) == [f"{field} {NULL_PROBLEM}"]
    assert messages(post(api, **{field: None})) == [f"{field} {NULL_PROBLEM}"]


def test_null_is_taken_where_documented_and_by_the_persist_flags(api):
    entry = api.create(
        allow_multiple_sessions=True,
        max_concurrency=2,
        expiry_time_from_last_use="01:30:00",
        expiry_time_from_session_data_set="7 days",
        persist_cookies=True,
    )
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    names = ("max_concurrency", "expiry_time_from_last_use", "expiry_time_from_session_data_set")
    updated = api.put("/vault", json={**pair, **dict.fromkeys((*names, "persist_cookies"))})
    assert updated.status_code == 200, updated.text
    assert all(updated.json()[name] is None for name in names)  # unlimited, no expiry
    assert updated.json()["persist_cookies"] is False  # the JS SDK sends null here
    assert NULLABLE - {"id"} == {*names, "persist_cookies", "persist_local_storage",
                                 "persist_session_storage"}  # fmt: skip
