"""Every fault kind and every documented error status, mapped to the right typed error."""

from __future__ import annotations

import time

import pytest
import requests

from app.qoder import NotAvailableError, QoderClient
from app.upstream_errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
    ValidationError,
)

VAULTS = "/api/v1/cloud/vaults"


def envelope(kind: str, message: str, **extra) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message, **extra}}


# ------------------------------------------------------------------ status mapping
def test_400_with_param_fills_field_errors(qoder, qbox):
    body = envelope("invalid_request_error", "Missing required field: name", param="name")
    qbox.faults.add("status", status=400, body=body, path=VAULTS)
    with pytest.raises(ValidationError) as info:
        qoder.list_vaults()
    err = info.value
    assert err.status == 400 and err.code == "invalid_request_error"
    assert err.field_errors == {"name": ["Missing required field: name"]}
    assert err.general_errors == []


def test_400_without_param_is_a_general_error(qoder, qbox):
    qbox.faults.add("status", status=400, body=envelope("invalid_request_error", "Bad thing."))
    with pytest.raises(ValidationError) as info:
        qoder.list_vaults()
    assert info.value.field_errors == {} and info.value.general_errors == ["Bad thing."]


@pytest.mark.parametrize("error_type", ["authentication_error", "TOKEN_INVALID"])
def test_401_is_keyed_on_the_status_not_the_type(qoder, qbox, error_type):
    qbox.faults.add("status", status=401, body=envelope(error_type, "Invalid API key or token."))
    with pytest.raises(AuthError) as info:
        qoder.list_vaults()
    assert info.value.message == "Qoder rejected the access token (QODER_PAT)."
    assert info.value.code == error_type


def test_403_is_a_permission_auth_error(qoder, qbox):
    qbox.faults.add("status", status=403)
    with pytest.raises(AuthError) as info:
        qoder.list_vaults()
    assert info.value.status == 403 and "not permitted" in info.value.message
    assert info.value.code == "permission_error"


def test_404_and_409_keep_the_server_message(qoder, qbox):
    qbox.faults.add("status", status=404, body=envelope("not_found_error", "Gone."))
    with pytest.raises(NotFoundError, match="Gone."):
        qoder.list_vaults()
    qbox.faults.add("status", status=409)
    with pytest.raises(ConflictError) as info:
        qoder.archive_credential("vault_a", "vcred_b")
    assert info.value.code == "conflict_error"


def test_429_with_a_long_retry_after_is_handed_over(qoder, qbox):
    qbox.faults.add("status", status=429, headers={"Retry-After": "40"})
    with pytest.raises(RateLimitedError) as info:
        qoder.list_vaults()
    assert info.value.retry_after == 40 and "Retry in 40 s." in info.value.message


def test_429_retry_after_ms(qbox):
    client = QoderClient(qbox.base_url, qbox.pat, retries=0)
    qbox.faults.add("status", status=429, headers={"retry-after-ms": "2500"})
    with pytest.raises(RateLimitedError) as info:
        client.list_vaults()
    assert info.value.retry_after == 2.5 and "Retry in 3 s." in info.value.message


def test_a_short_429_is_retried_for_the_archive_post(wqoder, wbox, wraw):
    vault = wraw.new_vault(
        "429", [{"mcp_server_url": "https://mcp.sentry.dev/mcp", "access_token": "t"}]
    )
    cred = vault["credentials"][0]["id"]
    wbox.faults.add("status", status=429, method="POST", headers={"Retry-After": "0"})
    assert wqoder.archive_credential(vault["id"], cred).archived
    assert wbox.faults.list() == []


def test_5xx_get_is_retried_then_succeeds(qoder, qbox):
    qbox.faults.add("status", status=503, method="GET", path=VAULTS, times=2)
    assert qoder.list_vaults().data
    assert qbox.faults.list() == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_after_the_retry_budget_is_unavailable(qoder, qbox, status):
    qbox.faults.add("status", status=status, path=VAULTS, times=5)
    with pytest.raises(UnavailableError) as info:
        qoder.list_vaults()
    assert info.value.kind == "server" and info.value.status == status
    assert str(status) in info.value.message


def test_archive_post_is_not_retried_on_5xx(wqoder, wbox, wraw):
    vault = wraw.new_vault(
        "5xx", [{"mcp_server_url": "https://mcp.sentry.dev/mcp", "access_token": "t"}]
    )
    wbox.faults.add("status", status=500, method="POST", times=2)
    with pytest.raises(UnavailableError):
        wqoder.archive_credential(vault["id"], vault["credentials"][0]["id"])
    assert wbox.faults.list()[0]["times"] == 1  # exactly one attempt


def test_501_is_a_clear_not_available_error(qoder, qbox):
    body = envelope(
        "feature_not_available", "Not yet.", feature="vault_update", available_from="2026-12"
    )
    qbox.faults.add("status", status=501, body=body)
    with pytest.raises(NotAvailableError) as info:
        qoder.list_vaults()
    err = info.value
    assert isinstance(err, UpstreamError) and not isinstance(err, UnavailableError)
    assert err.status == 501 and err.feature == "vault_update"
    assert (
        err.message == "This Qoder feature is not available (vault_update); available from 2026-12."
    )


def test_other_4xx_is_the_base_error(qoder, qbox):
    qbox.faults.add("status", status=418, body=envelope("teapot", "I am a teapot."))
    with pytest.raises(UpstreamError) as info:
        qoder.list_vaults()
    assert type(info.value) is UpstreamError and info.value.message == "I am a teapot."


def test_non_json_error_body_is_still_mapped_by_status(qoder, qbox):
    qbox.faults.add("status", status=404, body="<html>nope</html>")  # a JSON string
    with pytest.raises(NotFoundError):
        qoder.get_vault("vault_x")


# ------------------------------------------------------------------ transport faults
def test_latency_is_tolerated_within_the_timeout(qoder, qbox):
    qbox.faults.add("latency", delay=0.3, path=VAULTS)
    started = time.monotonic()
    assert qoder.list_vaults().data
    assert time.monotonic() - started >= 0.3


def test_latency_beyond_the_read_timeout_is_reported_as_a_timeout(qbox):
    client = QoderClient(qbox.base_url, qbox.pat, read_timeout=0.3, retries=0)
    qbox.faults.add("latency", delay=1.0, path=VAULTS)
    with pytest.raises(UnavailableError) as info:
        client.list_vaults()
    assert info.value.kind == "timeout"


def test_slow_read_is_a_timeout(qbox):
    client = QoderClient(qbox.base_url, qbox.pat, read_timeout=0.3, retries=0)
    qbox.faults.add("slow_read", delay=1.0, path=VAULTS)
    with pytest.raises(UnavailableError) as info:
        client.list_vaults()
    assert info.value.kind == "timeout"


def test_dropped_connection(qbox):
    client = QoderClient(qbox.base_url, qbox.pat, retries=0)
    qbox.faults.add("drop", path=VAULTS)
    with pytest.raises(UnavailableError) as info:
        client.list_vaults()
    assert info.value.kind == "connection"


def test_connection_refused():
    client = QoderClient("http://127.0.0.1:9/api/v1/cloud", "qpat_x", retries=0)
    with pytest.raises(UnavailableError) as info:
        client.list_vaults()
    assert info.value.kind == "connection"


@pytest.mark.parametrize("kind", ["malformed", "content_type"])
def test_garbage_bodies_are_malformed(qoder, qbox, kind):
    qbox.faults.add(kind, path=VAULTS)
    with pytest.raises(UnavailableError) as info:
        qoder.list_vaults()
    assert info.value.kind == "malformed"


def test_oversized_body_is_refused(qbox):
    small = QoderClient(qbox.base_url, qbox.pat, max_response_bytes=100_000, retries=0)
    qbox.faults.add("oversized", size=2_000_000, path=VAULTS)
    with pytest.raises(UnavailableError, match="too large") as info:
        small.list_vaults()
    assert info.value.kind == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        ["a", "list"],
        {"data": "not a list"},
        {"data": [{"no": "id"}]},
        {"data": [], "has_more": "yes"},
        {"data": [], "first_id": 7},
        {"data": [{"id": "vault_1"}], "has_more": False, "first_id": None, "last_id": None},
    ],
)
def test_unexpected_list_shapes_are_malformed(qoder, qbox, body):
    qbox.faults.add("status", status=200, body=body, path=VAULTS)
    if isinstance(body, dict) and body.get("data") == [{"id": "vault_1"}]:
        page = qoder.list_vaults()  # explicit nulls are taken as sent
        assert page.data[0].id == "vault_1" and page.first_id is None
        return
    with pytest.raises(UnavailableError) as info:
        qoder.list_vaults()
    assert info.value.kind == "malformed"


def test_unexpected_credential_shapes_are_malformed(qoder, qbox, seeded):
    path = f"{VAULTS}/{seeded['Support Desk']}/credentials/vcred_x"
    for body in ({"id": "vcred_x", "auth": "static"}, {"vault_id": "v"}, [], "text"):
        qbox.faults.add("status", status=200, body=body, path=path)
        with pytest.raises(UnavailableError):
            qoder.get_credential(seeded["Support Desk"], "vcred_x")


# ------------------------------------------------------------------ control endpoints
def test_faults_over_http_need_the_pat_and_use_the_qoder_envelope(qbox, raw):
    assert (
        raw.post("/_sandbox/faults", json={"kind": "status", "status": 503}, auth=False).status_code
        == 401
    )
    r = raw.post("/_sandbox/faults", json={"kind": "status", "status": 503, "path": VAULTS})
    assert r.status_code == 201 and r.json()["kind"] == "status"
    assert len(raw.get("/_sandbox/faults").json()) == 1
    r = raw.get("/vaults", auth=False)  # faults apply before auth
    assert r.status_code == 503
    assert r.json() == envelope("api_error", "The service is temporarily unavailable.")
    bad = raw.post("/_sandbox/faults", json={"kind": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    unknown = raw.post("/_sandbox/faults", json={"kind": "drop", "colour": "red"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "colour"
    raw.post("/_sandbox/faults", json={"kind": "status", "status": 429})
    r = raw.get("/vaults")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["type"] == "rate_limit_error"
    raw.post("/_sandbox/faults", json={"kind": "drop", "times": 3})
    assert raw.delete("/_sandbox/faults").json() == {"cleared": 1}
    assert requests.get(qbox.root_url + "/_sandbox/health", timeout=5).json() == {"status": "ok"}
