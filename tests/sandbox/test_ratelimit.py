"""Sliding-window rate limits: 429 body and headers, scopes, recovery, exemptions."""

from __future__ import annotations

import time

import pytest
from sandbox_helpers import bound

from app.sandbox import start_sandbox
from app.sandbox.ratelimit import DEFAULT_RATE_LIMITS, RateLimiter


@pytest.fixture
def limited(tmp_path):
    # a long window, so a slow CI machine cannot spread the burst over two windows
    running = start_sandbox(tmp_path / "s.db", seed=0, rate_limits=[(5, 30)])
    yield running
    running.stop()


def test_sixth_request_in_the_window_is_429_with_the_documented_body(limited):
    api = bound(limited)
    answers = [api.get("/vault") for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "5" for r in answers)
    limited_answer = answers[-1]
    assert limited_answer.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Too Many Requests",
        "limit": 5,
        "remaining": 0,
        "retryAfterSeconds": limited_answer.json()["retryAfterSeconds"],
    }
    assert 29 <= limited_answer.json()["retryAfterSeconds"] <= 30
    assert limited_answer.headers["Retry-After"] == str(limited_answer.json()["retryAfterSeconds"])
    assert limited_answer.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited_answer.headers["X-RateLimit-Reset"]) >= 1


def test_the_limit_recovers_after_the_window(tmp_path):
    with start_sandbox(tmp_path / "s.db", seed=0, rate_limits=[(3, 1)]) as box:
        api = bound(box)
        for _ in range(3):
            api.get("/vault")
        blocked = api.get("/vault")
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "1"
        time.sleep(1.05)
        assert api.get("/vault").status_code == 200


def test_unauthenticated_requests_are_counted_per_ip_not_against_the_key(limited):
    api = bound(limited)
    for _ in range(5):
        assert api.get("/vault", auth=False).status_code == 401
    assert api.get("/vault", auth=False).status_code == 429
    assert api.get("/vault").status_code == 200  # the key has its own budget


def test_control_endpoints_are_not_limited(limited):
    api = bound(limited)
    for _ in range(5):
        api.get("/vault")
    for _ in range(10):
        assert api.get("/_sandbox/faults").status_code == 200
    assert api.delete("/_sandbox/rate-limits").status_code == 200  # resets counters
    assert api.get("/vault").status_code == 200


def test_rate_limits_can_be_disabled(api):
    answers = [api.get("/vault") for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    assert "X-RateLimit-Limit" not in answers[0].headers


def test_default_limits_are_the_documented_ones():
    assert DEFAULT_RATE_LIMITS == ((500, 1.0), (1000, 15.0), (2000, 60.0))


def test_the_most_restrictive_window_decides():
    limiter = RateLimiter([(3, 1), (5, 10)])
    t = 100.0
    decisions = []
    for second in range(4):  # 3 per second would pass the 1 s window every second
        for _ in range(3):
            decisions.append(limiter.hit("k", now=t + second + 0.01))
    allowed = [d.allowed for d in decisions]
    assert allowed.count(True) == 5  # the 10 s window caps the total
    blocked = decisions[allowed.index(False)]
    assert blocked.limit == 5 and blocked.remaining == 0
    assert blocked.retry_after_seconds == 9  # the first (t=100.01) leaves the 10 s window at 110.01
    first = RateLimiter([(3, 1), (5, 10)]).hit("k", now=0)
    assert (first.limit, first.remaining) == (3, 2)  # the window with least room is reported


def test_rejected_requests_are_not_counted():
    limiter = RateLimiter([(2, 1)])
    assert limiter.hit("k", now=0).allowed and limiter.hit("k", now=0.1).allowed
    for _ in range(50):
        assert not limiter.hit("k", now=0.5).allowed
    assert limiter.hit("k", now=1.01).allowed
    assert limiter.hit("other", now=0.5).allowed  # separate budgets


def test_bad_limits_are_refused():
    for limits in ([], [(0, 1)], [(5, 0)]):
        with pytest.raises(ValueError):
            RateLimiter(limits)
