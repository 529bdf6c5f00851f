"""Hypothesis throws odd submissions at every form and htmx endpoint: unicode, very long
strings, NUL bytes, wrong types, missing and extra fields. Never a 500; a rejected form
names the field it did not accept."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, make_entry

NASTY = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(max_size=5).map(lambda s: s + "\x00" + s),
    st.text(alphabet="9", min_size=300, max_size=6000),
    st.sampled_from(["", " ", "-1", "0", "1e309", "NaN", "true", "null", "[]", "{}",
                     "<script>x</script>", "'; DROP TABLE--", "ñandú", "🙂" * 30,
                     "http://localhost", "socks5://127.0.0.1:1", "P1D", "99:99:99"]),
)  # fmt: skip

FIELDS = {
    "new": [
        "permissioned_user_id", "domain", "user_alias", "source", "user_name", "password",
        "secret_provider_id", "secret_ref", "secret_cache_ttl_seconds", "tfa_method",
        "tfa_secret", "persist_cookies", "cookie_domain_to_store", "expiry_time_from_last_use",
        "expiry_time_from_session_data_set", "cookies", "local_storage", "session_storage",
        "allow_multiple_sessions", "max_concurrency", "proxy_setting", "proxy_value",
        "user_agent",
    ],
    "credentials": ["user_alias", "user_name", "password", "updated_at"],
    "twofactor": ["tfa_method", "tfa_secret", "remove_tfa_secret", "updated_at"],
    "session": [
        "persist_cookies", "expiry_time_from_last_use", "expiry_time_from_session_data_set",
        "cookies_action", "cookies", "local_storage_action", "local_storage",
        "session_storage_action", "session_storage", "cookie_domain_to_store", "updated_at",
    ],
    "concurrency": ["allow_multiple_sessions", "max_concurrency",
                    "prevent_concurrency_during_login", "updated_at"],
    "proxy": ["proxy_setting", "proxy_value", "updated_at"],
    "provider": ["binding", "secret_provider_id", "secret_ref", "secret_cache_ttl_seconds",
                 "user_name", "password", "updated_at"],
    "bulk": ["kind", "ids", "all_matching", "q", "persist_cookies", "proxy_setting", "proxy_value",
             "max_concurrency_action", "max_concurrency", "expiry_time_from_last_use_action",
             "expiry_time_from_last_use"],
}  # fmt: skip
CHOICES = {
    "source": ["stored", "provider"],
    "tfa_method": ["none", "AUTHENTICATOR", "EMAIL", "SMS", "MAGIC_LINK"],
    "proxy_setting": ["none", "random", "static", "country", "custom"],
    "cookies_action": ["keep", "replace", "clear"],
    "local_storage_action": ["keep", "replace", "clear"],
    "session_storage_action": ["keep", "replace", "clear"],
    "binding": ["stored", "provider"],
    "kind": ["persistence", "expiry", "concurrency", "proxy"],
    "max_concurrency_action": ["keep", "set", "unlimited"],
    "expiry_time_from_last_use_action": ["keep", "set", "none"],
}


def submission(form: str):
    """A dict of some of the form's fields (plausible choices or junk) plus extra junk keys."""

    def value(name):
        if name in CHOICES:
            return st.one_of(st.sampled_from(CHOICES[name]), NASTY)
        return NASTY

    known = st.fixed_dictionaries({}, optional={name: value(name) for name in FIELDS[form]})
    extra = st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=12), NASTY, max_size=3)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory, sandbox):
    app = make_app(tmp_path_factory.mktemp("fuzz"), sandbox, UPSTREAM_READ_TIMEOUT=5)
    client = app.test_client()
    AuthActions(app, client).login("fuzzer", "admin")
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret="JBSWY3DPEHPK3PXPJBSWY3DP",
                       allow_multiple_sessions=True)  # fmt: skip
    yield app, client, csrf(client), entry
    app.extensions["upstream"].close()


def _check(response, *, form: bool):
    assert response.status_code < 500 or response.status_code == 503, response.status_code
    body = response.get_data(as_text=True)
    assert "Something went wrong" not in body
    if form and response.status_code == 422:
        named = re.search(r'class="field-error"', body) or re.search(r'role="alert"', body)
        assert named, body[:1500]


@given(data=submission("new"))
@SETTINGS
def test_fuzz_create(fuzz, data):
    _app, client, token, _entry = fuzz
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    _check(client.post("/entries/new", data={**data, "csrf_token": token}, headers=hx), form=True)


@pytest.mark.parametrize(
    "section", ["credentials", "twofactor", "session", "concurrency", "proxy", "provider"]
)
def test_fuzz_sections(fuzz, section):
    _app, client, token, entry = fuzz

    @given(data=submission(section))
    @SETTINGS
    def run(data):
        response = client.post(
            f"/entries/{entry.id}/sections/{section}",
            data={**data, "csrf_token": token},
            headers={"HX-Request": "true", "X-CSRFToken": token},
        )
        _check(response, form=True)

    run()


@given(data=submission("bulk"))
@SETTINGS
def test_fuzz_bulk(fuzz, data):
    _app, client, token, entry = fuzz
    for step in ("/entries/bulk", "/entries/bulk/preview"):
        _check(client.post(step, data={"ids": entry.id, **data, "csrf_token": token}), form=True)


@given(
    login=st.fixed_dictionaries({}, optional={"username": NASTY, "password": NASTY, "next": NASTY}),
    confirm=NASTY,
    secret=NASTY,
    query=st.dictionaries(
        st.sampled_from(["q", "tfa", "proxy", "session", "source", "sort", "dir", "page",
                         "per_page", "operator", "action", "outcome", "entry", "since", "until",
                         "before", "after", "expiry_time_from_last_use"]),
        NASTY, max_size=6,
    ),
)  # fmt: skip
@SETTINGS
def test_fuzz_small_endpoints(fuzz, login, confirm, secret, query):
    app, client, token, entry = fuzz
    anonymous = app.test_client()
    html = anonymous.get("/login").get_data(as_text=True)
    login_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]
    _check(anonymous.post("/login", data={**login, "csrf_token": login_token}), form=True)
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    _check(
        client.post(f"/entries/{entry.id}/delete", data={"confirm": confirm}, headers=hx), form=True
    )
    _check(
        client.post(f"/entries/{entry.id}/tfa-preview", data={"tfa_secret": secret}, headers=hx),
        form=False,
    )
    _check(client.post(f"/entries/{entry.id}/secrets/password/reveal", data={"password": secret},
                       headers=hx), form=False)  # fmt: skip
    for path in ("/entries", "/audit", "/entries/interval-preview"):
        _check(client.get(path, query_string=query, headers={"HX-Request": "true"}), form=False)
