"""Fault injection, in process (``sandbox.faults``) and over HTTP (``/_sandbox/faults``)."""

from __future__ import annotations

import time

import pytest
import requests


def test_status_fault_with_default_body(api, box):
    box.faults.add("status", status=503, method="GET", path="/vault")
    r = api.get("/vault")
    assert r.status_code == 503
    assert r.json() == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "Service Unavailable",
    }
    assert api.get("/vault").status_code == 200  # times=1: consumed


def test_status_fault_with_body_and_headers(api, box):
    box.faults.add("status", status=429, headers={"Retry-After": "7"})
    r = api.get("/secret-providers")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert r.json()["retryAfterSeconds"] == 7
    box.faults.add("status", status=200, body=["not", "entries"])
    assert api.get("/vault").json() == ["not", "entries"]


def test_faults_match_method_and_exact_path(api, box):
    box.faults.add("status", status=500, method="POST", path="/vault")
    assert api.get("/vault").status_code == 200
    assert api.get("/vault/tfa-code").status_code == 400  # a different path
    assert api.post("/vault", json={}).status_code == 500
    assert box.faults.list() == []


def test_times_and_until_cleared(api, box):
    box.faults.add("status", status=502, times=2)
    assert [api.get("/vault").status_code for _ in range(3)] == [502, 502, 200]
    box.faults.add("status", status=500, times=None)
    assert {api.get("/vault").status_code for _ in range(5)} == {500}
    assert box.faults.clear() == 1
    assert api.get("/vault").status_code == 200


def test_faults_are_consumed_in_order(api, box):
    box.faults.add("status", status=500)
    box.faults.add("status", status=502)
    assert [api.get("/vault").status_code for _ in range(3)] == [500, 502, 200]


def test_faults_apply_before_auth(api, box):
    box.faults.add("status", status=503)
    assert api.get("/vault", auth=False).status_code == 503


def test_latency(api, box):
    box.faults.add("latency", delay=0.4)
    start = time.monotonic()
    r = api.get("/vault")
    assert r.status_code == 200 and r.json() == []
    assert time.monotonic() - start >= 0.4


def test_malformed_json(api, box):
    box.faults.add("malformed")
    r = api.get("/vault")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_html_content_type(api, box):
    box.faults.add("content_type")
    r = api.get("/vault")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("size", [2, 3, 10_000])
def test_oversized_with_size(api, box, size):
    box.faults.add("oversized", size=size)
    r = api.get("/vault")
    assert r.status_code == 200 and len(r.content) == size
    assert isinstance(r.json(), list)


def test_oversized_default_is_20_mb(api, box):
    box.faults.add("oversized")
    r = api.get("/vault", stream=True)
    assert int(r.headers["Content-Length"]) == 20 * 1024 * 1024
    received = sum(len(chunk) for chunk in r.iter_content(1 << 20))
    assert received == 20 * 1024 * 1024


def test_drop_closes_the_connection_without_a_response(api, box):
    box.faults.add("drop", method="POST", path="/vault")
    with pytest.raises(requests.ConnectionError):
        api.post("/vault", json={"permissioned_user_id": "x", "domain": "https://a.com"})
    assert api.get("/vault").json() == []  # the request was never handled


def test_slow_read_triggers_a_client_read_timeout(api, box):
    box.faults.add("slow_read", delay=2.0)
    start = time.monotonic()
    with pytest.raises((requests.ConnectionError, requests.Timeout)):
        r = api.get("/vault", timeout=(2, 0.3))
        r.content  # noqa: B018 - the body is what times out
    assert time.monotonic() - start < 1.5


def test_slow_read_sends_headers_first_then_the_real_body(api, box):
    api.create(user_alias="slow")
    box.faults.add("slow_read", delay=1.0)
    start = time.monotonic()
    r = api.get("/vault", stream=True, timeout=5)
    headers_after = time.monotonic() - start
    assert r.status_code == 200 and headers_after < 0.7
    assert r.json()[0]["user_alias"] == "slow"
    assert time.monotonic() - start >= 1.0


# -- control endpoints -------------------------------------------------------------------
def test_http_control_endpoints(api, box):
    r = api.post(
        "/_sandbox/faults",
        json={"kind": "status", "status": 500, "method": "get", "path": "/vault", "times": 2},
    )
    assert r.status_code == 201
    fault = r.json()
    assert fault["kind"] == "status" and fault["method"] == "GET" and fault["times"] == 2
    assert api.get("/_sandbox/faults").json() == [fault]
    assert box.faults.list() == [fault]
    assert api.get("/vault").status_code == 500
    assert api.get("/_sandbox/faults").json()[0]["times"] == 1
    assert api.delete("/_sandbox/faults").json() == {"success": True, "cleared": 1}
    assert api.get("/vault").status_code == 200


def test_control_endpoints_are_never_faulted(api, box):
    box.faults.add("status", status=500, times=None)
    assert api.get("/_sandbox/faults").status_code == 200
    assert api.delete("/_sandbox/faults").status_code == 200
    assert api.get("/vault").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "latency"},
        {"kind": "status", "status": 99},
        {"kind": "status", "status": 500, "times": 0},
        {"kind": "latency", "delay": -1},
        {"kind": "status", "status": 500, "path": "vault"},
        {"kind": "status", "status": 500, "headers": {"Retry-After": 7}},
        {"kind": "status", "status": 500, "colour": "red"},
    ],
)
def test_bad_faults_are_400(api, body):
    r = api.post("/_sandbox/faults", json=body)
    assert r.status_code == 400
    assert r.json()["statusCode"] == 400


def test_control_endpoints_need_the_key(api):
    assert api.post("/_sandbox/faults", auth=False, json={"kind": "drop"}).status_code == 401
