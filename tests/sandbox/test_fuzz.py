"""Arbitrary input never produces a 5xx or a non-JSON answer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_helpers import bound

from app.sandbox import start_sandbox
from app.sandbox.validation import WRITABLE

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(sorted(WRITABLE) + ["bogus", "workspace_id"])
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("fuzz") / "s.db", seed=3, rate_limits=None)
    yield bound(running)
    running.stop()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]),
    body=bodies,
    domain=st.sampled_from(["https://a.example.com", "http://127.0.0.1:9", "nope", ""]),
)
def test_random_bodies_get_a_json_4xx_or_success(fuzz_api, method, body, domain):
    if isinstance(body, dict) and "domain" not in body:
        body = {**body, "domain": domain, "permissioned_user_id": "fuzz"}
    path = "/vault/clear-browser-state" if method == "PATCH" else "/vault"
    r = fuzz_api.request(method, path, json=body)
    assert r.status_code < 500, r.text
    assert r.headers["Content-Type"] == "application/json"
    r.json()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["permissioned_user_id", "domain", "x"]), st.text(max_size=30)
    )
)
def test_random_query_strings(fuzz_api, params):
    for path in ("/vault", "/vault/tfa-code"):
        r = fuzz_api.get(path, params=params)
        assert r.status_code < 500 and r.headers["Content-Type"] == "application/json"
