"""Authentication, routing errors and body parsing: always JSON, never HTML or a 500."""

from __future__ import annotations

import pytest

UNAUTHORIZED = {
    "statusCode": 401,
    "error": "Unauthorized",
    "message": "Unauthorized",
    "code": "UNAUTHENTICATED",
}
ENDPOINTS = [
    ("GET", "/vault"),
    ("POST", "/vault"),
    ("PUT", "/vault"),
    ("DELETE", "/vault"),
    ("PATCH", "/vault/clear-browser-state"),
    ("GET", "/vault/tfa-code?permissioned_user_id=a&domain=https://a.com"),
    ("GET", "/secret-providers"),
    ("GET", "/secret-providers/x/items"),
    ("GET", "/_sandbox/faults"),
    ("POST", "/_sandbox/email-codes"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_api_key(api, method, path):
    missing = api.request(method, path, auth=False)
    wrong = api.request(method, path, auth=False, headers={"cc-key": api.key + "x"})
    for r in (missing, wrong):
        assert r.status_code == 401
        assert r.json() == UNAUTHORIZED
        assert r.headers["Content-Type"] == "application/json"


def test_bearer_token_is_accepted_and_identity_headers_are_ignored(api):
    r = api.get(
        "/vault",
        auth=False,
        headers={
            "Authorization": f"Bearer {api.key}",
            "X-CloudCruise-Client": "sdk-python/1.4.1",
            "X-CloudCruise-Agent": "claude",
            "x-workspace-id": "whatever",
        },
    )
    assert r.status_code == 200
    assert r.json() == []
    assert (
        api.get("/vault", auth=False, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert api.get("/vault", auth=False, headers={"Authorization": api.key}).status_code == 401


def test_unknown_route_is_a_json_404_and_wrong_method_a_json_405(api):
    r = api.get("/vaults")
    assert r.status_code == 404
    assert r.json() == {"statusCode": 404, "error": "Not Found", "message": "Cannot GET /vaults"}
    r = api.patch("/vault")
    assert r.status_code == 405
    assert r.json()["statusCode"] == 405
    assert "PUT" in r.headers["Allow"]
    # routing errors do not depend on the key
    assert api.get("/nope", auth=False).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/vault"),
        ("PUT", "/vault"),
        ("DELETE", "/vault"),
        ("PATCH", "/vault/clear-browser-state"),
    ],
)
@pytest.mark.parametrize(
    "raw", [b"{not json", b"\xff\xfe", b'{"a": 1', b'{"max_concurrency": NaN}', b"[Infinity]"]
)
def test_a_body_that_is_not_json_is_a_400(api, method, path, raw):
    r = api.request(method, path, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": ["request body must be valid JSON"],
    }


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null"])
def test_a_json_body_that_is_not_an_object_is_a_400(api, body):
    r = api.post("/vault", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"] == ["request body must be a JSON object"]


def test_an_oversized_body_is_a_json_413(api):
    r = api.post("/vault", data=b"{" + b" " * (6 * 1024 * 1024) + b"}")
    assert r.status_code == 413
    assert r.json()["statusCode"] == 413


def test_head_and_options_do_not_break(api):
    assert api.request("HEAD", "/vault").status_code == 200
    assert api.request("OPTIONS", "/vault").status_code == 200


def test_health_needs_no_key(api):
    r = api.get("/_sandbox/health", auth=False)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
