"""Throttling of password checks (app/services/throttle.py), on a controlled clock.

The boundaries (which attempt is refused, when the window ends, the exact Retry-After and
the minutes in the message) are checked by calling the module directly; a few tests go
through the real sign-in form to show the same numbers reach the operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.services import throttle
from app.services.throttle import Lockout

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
WINDOW = 900
IP = "203.0.113.5"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        """Move to ``seconds`` after T0."""
        self.now = T0 + timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr(throttle, "utcnow", clock)
    return clock


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def counters() -> dict[str, tuple[int, datetime]]:
    """Every counter row: key -> (count, window start)."""
    t = throttle._T
    rows = db.session.execute(select(t.c.key, t.c.count, t.c.window_start)).all()
    db.session.commit()
    return {key: (count, start) for key, count, start in rows}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# ---------------------------------------------------------------- the lockout message


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        (0, "1 minute"),
        (1, "1 minute"),
        (59, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (120, "2 minutes"),
        (121, "3 minutes"),
        (900, "15 minutes"),
        (901, "16 minutes"),
    ],
)
def test_lockout_message_states_whole_minutes_rounded_up(retry_after, wait):
    assert Lockout(retry_after).message == (
        f"Too many failed sign-in attempts. Try again in {wait}."
    )


# ---------------------------------------------------------------- counting and windows


def test_the_window_starts_at_the_first_counted_attempt(ctx, clock):
    assert throttle.attempt("ann", IP, known=True, max_failures=5, window=WINDOW) is None
    assert counters() == {f"user:ann|{IP}": (1, T0), f"ip:{IP}": (1, T0)}
    clock.at(100)
    assert throttle.attempt("ann", IP, known=True, max_failures=5, window=WINDOW) is None
    clock.at(250.5)
    assert throttle.attempt("ann", IP, known=True, max_failures=5, window=WINDOW) is None
    assert counters() == {f"user:ann|{IP}": (3, T0), f"ip:{IP}": (3, T0)}


def test_the_attempt_after_the_limit_is_refused_with_the_exact_retry_after(ctx, clock):
    for second in (0, 10, 20):
        clock.at(second)
        assert throttle.attempt("ann", IP, known=True, max_failures=3, window=WINDOW) is None
    clock.at(300)
    lockout = throttle.attempt("ann", IP, known=True, max_failures=3, window=WINDOW)
    # the window started at the first attempt: T0 + 900 s - (T0 + 300 s), plus one
    assert lockout == Lockout(retry_after=601)
    assert lockout.message == "Too many failed sign-in attempts. Try again in 11 minutes."
    # a refused attempt still counts against the pair, not against the address
    assert counters() == {f"user:ann|{IP}": (4, T0), f"ip:{IP}": (3, T0)}
    clock.at(300.75)  # fractions of a second are dropped before the extra second
    assert throttle.attempt("ann", IP, known=True, max_failures=3, window=WINDOW) == Lockout(600)


def test_retry_after_at_the_very_end_of_the_window_is_one_second(ctx, clock):
    for _ in range(2):
        throttle.attempt("ann", IP, known=True, max_failures=1, window=WINDOW)
    clock.at(WINDOW - 0.5)
    assert throttle.attempt("ann", IP, known=True, max_failures=1, window=WINDOW) == Lockout(1)
    clock.at(WINDOW)  # the last instant of the window still belongs to it
    lockout = throttle.attempt("ann", IP, known=True, max_failures=1, window=WINDOW)
    assert lockout == Lockout(1)
    assert counters()[f"user:ann|{IP}"] == (4, T0)


def test_a_window_that_has_passed_starts_afresh(ctx, clock):
    for _ in range(3):
        throttle.attempt("ann", IP, known=True, max_failures=2, window=WINDOW)
    later = WINDOW + 0.000001
    clock.at(later)
    assert throttle.attempt("ann", IP, known=True, max_failures=2, window=WINDOW) is None
    assert counters() == {f"user:ann|{IP}": (1, at(later)), f"ip:{IP}": (1, at(later))}
    clock.at(later + 5)
    assert throttle.attempt("ann", IP, known=True, max_failures=2, window=WINDOW) is None
    assert counters()[f"user:ann|{IP}"] == (2, at(later))


def test_the_window_length_is_the_one_given(ctx, clock):
    for _ in range(2):
        throttle.attempt("ann", IP, known=True, max_failures=1, window=60)
    clock.at(30)
    assert throttle.attempt("ann", IP, known=True, max_failures=1, window=60) == Lockout(31)
    clock.at(60.5)
    assert throttle.attempt("ann", IP, known=True, max_failures=1, window=60) is None


# ---------------------------------------------------------------- keys


def test_keys_are_the_pair_and_the_address_both_cut_to_64_characters(ctx, clock):
    name, address = "n" * 70, "a" * 70
    throttle.attempt(name, address, known=True, max_failures=5, window=WINDOW)
    assert counters() == {
        f"user:{'n' * 64}|{'a' * 64}": (1, T0),
        f"ip:{'a' * 64}": (1, T0),
    }


def test_unknown_usernames_count_only_against_their_address(ctx, clock):
    for i in range(3):
        assert throttle.attempt(f"x{i}", IP, known=False, max_failures=1, window=WINDOW) is None
    assert counters() == {f"ip:{IP}": (3, T0)}


def test_failures_from_one_address_do_not_lock_the_account_at_another(ctx, clock):
    for _ in range(3):
        throttle.attempt("ann", IP, known=True, max_failures=2, window=WINDOW)
    assert throttle.attempt("ann", IP, known=True, max_failures=2, window=WINDOW) is not None
    assert throttle.attempt("ann", "203.0.113.6", known=True, max_failures=2, window=WINDOW) is None
    assert throttle.attempt("bob", IP, known=True, max_failures=2, window=WINDOW) is None


def test_the_address_allows_four_times_the_limit_across_usernames(ctx, clock):
    for i in range(8):
        clock.at(i)
        assert (
            throttle.attempt(f"u{i}", IP, known=i % 2 == 0, max_failures=2, window=WINDOW) is None
        )
    clock.at(200)
    lockout = throttle.attempt("u9", IP, known=False, max_failures=2, window=WINDOW)
    assert lockout == Lockout(WINDOW - 200 + 1)
    # a known username with a fresh pair is refused by the address's counter, timed by it
    clock.at(400)
    assert throttle.attempt("u10", IP, known=True, max_failures=2, window=WINDOW) == Lockout(501)
    assert counters()[f"ip:{IP}"] == (10, T0)
    assert (
        throttle.attempt("u9", "198.51.100.1", known=False, max_failures=2, window=WINDOW) is None
    )


def test_a_pair_lockout_is_timed_by_the_pairs_window_not_the_addresses(ctx, clock):
    throttle.attempt("first", IP, known=False, max_failures=1, window=WINDOW)  # address: T0
    clock.at(100)
    throttle.attempt("ann", IP, known=True, max_failures=1, window=WINDOW)  # pair: T0 + 100
    clock.at(200)
    assert throttle.attempt("ann", IP, known=True, max_failures=1, window=WINDOW) == Lockout(801)


# ---------------------------------------------------------------- cleanup of old counters


def test_expired_counters_are_deleted_when_a_new_one_is_made(ctx, clock):
    throttle.attempt("old", "192.0.2.1", known=False, max_failures=5, window=WINDOW)
    clock.at(0.000001)
    throttle.attempt("edge", "192.0.2.2", known=False, max_failures=5, window=WINDOW)
    clock.at(500)
    throttle.attempt("fresh", "192.0.2.3", known=False, max_failures=5, window=WINDOW)
    clock.at(WINDOW + 0.000001)
    # bumping an existing counter deletes nothing
    throttle.attempt("fresh", "192.0.2.3", known=False, max_failures=5, window=WINDOW)
    assert set(counters()) == {"ip:192.0.2.1", "ip:192.0.2.2", "ip:192.0.2.3"}
    # a new counter removes those whose window ended before now - window (not the edge one)
    throttle.attempt("new", "192.0.2.4", known=False, max_failures=5, window=WINDOW)
    assert counters() == {
        "ip:192.0.2.2": (1, at(0.000001)),
        "ip:192.0.2.3": (2, at(500)),
        "ip:192.0.2.4": (1, at(WINDOW + 0.000001)),
    }


def test_counting_gives_up_after_three_refused_inserts(ctx, clock, monkeypatch):
    db.session.execute(
        text(
            "CREATE TRIGGER refuse BEFORE INSERT ON throttle_counters WHEN NEW.key = 'ip:stuck' "
            "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: throttle_counters.key'); END"
        )
    )
    db.session.commit()
    inserts = []
    real_insert = throttle.insert

    def counting_insert(table):
        inserts.append(table)
        return real_insert(table)

    monkeypatch.setattr(throttle, "insert", counting_insert)
    with pytest.raises(RuntimeError) as caught:
        throttle.attempt("x", "stuck", known=False, max_failures=5, window=WINDOW)
    assert str(caught.value) == "could not count an attempt for 'ip:stuck'"
    assert len(inserts) == 3
    assert counters() == {}
    # other keys are counted as usual
    assert throttle.attempt("x", IP, known=False, max_failures=5, window=WINDOW) is None
    assert counters() == {f"ip:{IP}": (1, T0)}


# ---------------------------------------------------------------- success


def test_success_clears_the_pair_and_gives_the_address_its_slot_back(ctx, clock):
    for _ in range(3):
        throttle.attempt("ann", IP, known=True, max_failures=5, window=WINDOW)
    throttle.attempt("bob", IP, known=True, max_failures=5, window=WINDOW)
    throttle.attempt("ann", "198.51.100.7", known=True, max_failures=5, window=WINDOW)
    throttle.succeeded("ann", IP)
    assert counters() == {
        f"user:bob|{IP}": (1, T0),
        f"ip:{IP}": (3, T0),
        "user:ann|198.51.100.7": (1, T0),
        "ip:198.51.100.7": (1, T0),
    }


def test_success_never_takes_the_address_below_zero(ctx, clock):
    throttle.attempt("ann", IP, known=True, max_failures=5, window=WINDOW)
    throttle.succeeded("ann", IP)
    throttle.succeeded("ann", IP)
    assert counters() == {f"ip:{IP}": (0, T0)}


def test_success_uses_the_same_cut_keys(ctx, clock):
    name, address = "n" * 70, "a" * 70
    throttle.attempt(name, address, known=True, max_failures=5, window=WINDOW)
    throttle.attempt(name, address, known=True, max_failures=5, window=WINDOW)
    throttle.succeeded(name, address)
    assert counters() == {f"ip:{'a' * 64}": (1, T0)}


# ---------------------------------------------------------------- password re-entry


def test_re_entry_counts_per_operator_and_says_how_many_are_left(ctx, clock):
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (None, 2)
    clock.at(10)
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (None, 1)
    assert throttle.reauth_attempt(8, max_failures=3, window=WINDOW) == (None, 2)
    clock.at(20)
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (None, 0)
    clock.at(120)
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (Lockout(781), 0)
    clock.at(180)
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (Lockout(721), 0)
    assert counters() == {"sudo:7": (5, T0), "sudo:8": (1, at(10))}


def test_re_entry_success_clears_only_that_operator(ctx, clock):
    for operator_id in (7, 8, 70):
        throttle.reauth_attempt(operator_id, max_failures=3, window=WINDOW)
    throttle.attempt("7", IP, known=True, max_failures=3, window=WINDOW)
    throttle.reauth_succeeded(7)
    assert set(counters()) == {"sudo:8", "sudo:70", f"user:7|{IP}", f"ip:{IP}"}
    assert throttle.reauth_attempt(7, max_failures=3, window=WINDOW) == (None, 2)


def test_re_entry_window_passes(ctx, clock):
    for _ in range(2):
        throttle.reauth_attempt(7, max_failures=1, window=WINDOW)
    clock.at(WINDOW + 1)
    assert throttle.reauth_attempt(7, max_failures=1, window=WINDOW) == (None, 0)


# ---------------------------------------------------------------- through the sign-in form


def _sign_in(client, auth, username, password, ip):
    token = auth.csrf_token()
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_sign_in_lockout_sends_the_exact_retry_after_and_minutes(app, client, auth, clock):
    auth.create("erin", "viewer")
    limit = app.config["LOGIN_MAX_FAILURES"]
    window = app.config["LOGIN_LOCKOUT_SECONDS"]
    for i in range(limit):
        clock.at(i)
        assert _sign_in(client, auth, "erin", "wrong-password", IP).status_code == 401
    clock.at(130)
    locked = _sign_in(client, auth, "erin", auth.PASSWORD, IP)  # the right password, too late
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(window - 130 + 1)
    minutes = -(-(window - 129) // 60)
    assert f"Too many failed sign-in attempts. Try again in {minutes} minutes." in (
        locked.get_data(as_text=True)
    )
    # the same account from another address still signs in
    assert _sign_in(client, auth, "erin", auth.PASSWORD, "198.51.100.20").status_code == 303
    with app.app_context():
        assert counters()[f"user:erin|{IP}"] == (limit + 1, T0)


def test_sign_in_success_resets_the_pair_and_returns_the_address_slot(app, client, auth, clock):
    auth.create("hank", "viewer")
    for _ in range(2):
        _sign_in(client, auth, "hank", "wrong-password", IP)
    _sign_in(client, auth, "ghost", "wrong-password", IP)
    assert _sign_in(client, auth, "hank", auth.PASSWORD, IP).status_code == 303
    with app.app_context():
        assert counters() == {f"ip:{IP}": (3, T0)}
