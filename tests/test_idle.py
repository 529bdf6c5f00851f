"""Idle sign-out never loses an edit (server side; the page: tests/browser/test_idle_ui.py).

* every answer to a signed-in request says how long the session has left
  (``X-Session-Seconds-Left``); background refreshes and ``/session/status`` do not count as
  activity, ``POST /session/keep-alive`` does;
* an htmx POST sent after the session ended is answered 401 + ``X-Sign-In-Required`` (the
  page signs in again in place), naming the typed secrets it must ask for again; plain
  requests keep the redirect to /login;
* ``POST /login/resume`` is the login form's logic (CSRF, throttling, audit) for the
  operator the page belongs to only; it answers the new CSRF token.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent, OperatorSession, utcnow
from tests.conftest import AuthActions
from tests.entries_support import csrf, fetch, hx, make_entry, section_form

PASSWORD = AuthActions.PASSWORD
#: what static/js/idle.js adds to every request of a signed-in page
DIALOG = {"X-Sign-In-Dialog": "1"}


def _age(app, seconds: float) -> None:
    """Make every server-side session look idle for ``seconds``."""
    with app.app_context():
        db.session.execute(
            update(OperatorSession).values(last_seen_at=utcnow() - timedelta(seconds=seconds))
        )
        db.session.commit()


def _expire(app) -> None:
    _age(app, app.config["IDLE_TIMEOUT_SECONDS"] + 5)


def _rows(app) -> list[OperatorSession]:
    with app.app_context():
        return list(db.session.scalars(select(OperatorSession)))


def _left(response) -> int:
    return int(response.headers["X-Session-Seconds-Left"])


def _resume(client, token: str, username: str, expect: str, password: str = PASSWORD):
    return client.post(
        "/login/resume",
        data={
            "signin-csrf_token": token,
            "signin-username": username,
            "signin-password": password,
            "signin-expect": expect,
        },
        headers={"X-Sign-In-Dialog": "1"},
    )


def save_section(client, entry_id: str, section: str, data, token: str):
    """The editor's Save as the page sends it (htmx, with the dialog header)."""
    path = f"/entries/{entry_id}/sections/{section}"
    return hx(client, "POST", path, token, data=data, headers=DIALOG)


def _editing(client, auth, sandbox, user: str = "ed"):
    """An editor with a credentials form open; returns (entry, the form's data, token)."""
    auth.login(user, "editor")
    entry = make_entry(sandbox)
    token = csrf(client, f"/entries/{entry.id}")
    data = section_form(client, entry.id, "credentials")
    return entry, data, token


# -- the time left, activity -------------------------------------------------------------
def test_every_signed_in_answer_says_the_time_left_and_the_page_carries_it(app, client, auth):
    auth.login("ann", "viewer")
    timeout = app.config["IDLE_TIMEOUT_SECONDS"]
    page = client.get("/entries")
    assert timeout - 2 <= _left(page) <= timeout
    html = page.get_data(as_text=True)
    assert re.search(rf'data-seconds-left="{timeout - 1}|{timeout}"', html)
    assert 'data-warn-seconds="120"' in html and 'data-keepalive-seconds="60"' in html
    assert 'role="alertdialog"' in html and "Stay signed in" in html
    # the sign-in dialog is prefilled with who is signed in, for whom it works
    assert re.search(r'<input[^>]*name="signin-username"[^>]*value="ann"', html)
    assert re.search(r'<input[^>]*name="signin-expect"[^>]*value="ann"', html)
    assert "X-Session-Seconds-Left" not in client.get("/static/js/idle.js").headers
    anonymous = client.application.test_client()
    login = anonymous.get("/login")
    assert "X-Session-Seconds-Left" not in login.headers
    assert "signin-dialog" not in login.get_data(as_text=True)


def test_background_refreshes_and_status_checks_do_not_count_as_activity(app, client, auth):
    auth.login("bea", "viewer")
    timeout = app.config["IDLE_TIMEOUT_SECONDS"]
    _age(app, timeout - 100)
    background = client.get("/entries", headers={"X-Background-Refresh": "1"})
    assert 95 <= _left(background) <= 100
    status = client.get("/session/status")  # the page's own check, header or not
    assert status.status_code == 204 and 95 <= _left(status) <= 100
    assert 95 <= _left(hx(client, "GET", "/entries", headers={"X-Background-Refresh": "1"})) <= 100
    assert _left(client.get("/entries")) >= timeout - 2  # a real request is activity


def test_keep_alive_resets_the_idle_clock_and_needs_csrf(app, client, auth):
    auth.login("cleo", "viewer")
    timeout = app.config["IDLE_TIMEOUT_SECONDS"]
    token = csrf(client)
    _age(app, timeout - 30)
    assert client.post("/session/keep-alive").status_code == 400  # no CSRF token
    assert client.get("/session/status").headers["X-Session-Seconds-Left"] in {"29", "30"}
    response = hx(client, "POST", "/session/keep-alive", token)
    assert response.status_code == 204
    assert _left(response) >= timeout - 1
    [row] = _rows(app)
    assert (utcnow() - row.last_seen_at).total_seconds() < 5
    # after the end it cannot revive the session: the page is told to sign in
    _expire(app)
    late = hx(client, "POST", "/session/keep-alive", token, headers=DIALOG)
    assert late.status_code == 401 and late.headers["X-Sign-In-Required"] == "idle"
    assert _rows(app) == []


# -- an expired session answers in place -----------------------------------------------
def test_an_expired_htmx_save_is_answered_401_in_place_and_nothing_is_saved(
    app, client, auth, sandbox
):
    entry, data, token = _editing(client, auth, sandbox)
    data["user_alias"] = "Typed while away"
    _expire(app)
    response = save_section(client, entry.id, "credentials", data, token)
    assert response.status_code == 401
    assert response.headers["X-Sign-In-Required"] == "idle"
    assert "HX-Redirect" not in response.headers
    assert response.get_data(as_text=True) == (
        "You were signed out after 30 minutes without activity."
    )
    assert "X-Sign-In-Retype" not in response.headers  # no secret was typed
    assert "X-Session-Seconds-Left" not in response.headers
    assert _rows(app) == []
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).user_alias == entry.user_alias
    # no message left behind for the next page load: the dialog says it
    assert "without activity" not in client.get("/login").get_data(as_text=True)


def test_requests_not_from_such_a_page_keep_the_redirect_to_login(app, client, auth, sandbox):
    entry, data, token = _editing(client, auth, sandbox)
    _expire(app)
    path = f"/entries/{entry.id}/sections/credentials"
    response = client.post(path, data=data)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    htmx_only = hx(client, "POST", path, token, data=data)  # a page without the dialog
    assert htmx_only.status_code == 204 and htmx_only.headers["HX-Redirect"].startswith("/login")
    assert hx(client, "GET", "/entries").headers["HX-Redirect"].startswith("/login")
    # the page's script asks for the answer in place, GET or not
    asked = hx(client, "GET", "/entries", headers=DIALOG)
    assert asked.status_code == 401 and asked.headers["X-Sign-In-Required"] == "signed-out"


def test_typed_secrets_are_named_so_the_page_asks_for_them_again(app, client, auth, sandbox):
    entry, data, token = _editing(client, auth, sandbox)
    data.update(user_alias="Alias kept", password="N3w pass-phrase!", user_name="")
    _expire(app)
    response = save_section(client, entry.id, "credentials", data, token)
    assert response.status_code == 401
    retype = json.loads(response.headers["X-Sign-In-Retype"])
    assert retype == {"names": ["password"], "labels": ["New password"]}
    assert "N3w pass-phrase!" not in str(response.headers) + response.get_data(as_text=True)


def test_sign_in_in_place_then_the_resent_save_is_stored(app, client, auth, sandbox):
    entry, data, token = _editing(client, auth, sandbox)
    data["user_alias"] = "Saved after signing in"
    _expire(app)
    # a timed refresh found the session ended first: the page's token must stay usable
    hx(client, "POST", f"/entries/{entry.id}/tfa-code", token,
       headers={"X-Background-Refresh": "1", **DIALOG})  # fmt: skip
    assert save_section(client, entry.id, "credentials", data, token).status_code == 401
    signed_in = _resume(client, token, "ed", "ed")
    assert signed_in.status_code == 204
    assert signed_in.headers["Cache-Control"] == "no-store"
    new_token = signed_in.headers["X-CSRF-Token"]
    assert _left(signed_in) >= app.config["IDLE_TIMEOUT_SECONDS"] - 2
    # a fresh session: the old token is gone with it, the page switches to the new one
    assert save_section(client, entry.id, "credentials", data, token).status_code == 400
    data["csrf_token"] = new_token
    saved = save_section(client, entry.id, "credentials", data, new_token)
    assert saved.status_code == 200
    assert "Saved credentials: Alias." in saved.headers["HX-Trigger"]
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.user_alias == "Saved after signing in"
    with app.app_context():
        outcomes = list(
            db.session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.action == "auth.login", AuditEvent.operator == "ed"
                )
            )
        )
    assert outcomes == ["success", "success"]


def test_a_different_user_in_the_dialog_is_refused(app, client, auth, sandbox):
    entry, data, token = _editing(client, auth, sandbox, user="alice")
    auth.create("bob", "admin")
    _expire(app)
    assert save_section(client, entry.id, "credentials", data, token).status_code == 401
    refused = _resume(client, token, "bob", "alice")
    assert refused.status_code == 403
    assert refused.headers["X-Sign-In-Form"] == "1"
    html = refused.get_data(as_text=True)
    assert "This page holds unsaved work of alice: sign in as alice to save it." in html
    assert re.search(r'name="signin-expect"[^>]*value="alice"', html)
    assert PASSWORD not in html
    assert _rows(app) == []  # nobody signed in
    assert client.get("/entries").status_code == 302
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
        assert (event.outcome, event.operator) == ("refused", "bob")
    # alice herself may continue
    assert _resume(client, token, "Alice", "alice").status_code == 204


def test_the_dialog_is_checked_and_throttled_like_the_login_form(app, client, auth, sandbox):
    entry, data, token = _editing(client, auth, sandbox, user="dora")
    _expire(app)
    save_section(client, entry.id, "credentials", data, token)
    no_csrf = client.post(
        "/login/resume",
        data={"signin-username": "dora", "signin-password": PASSWORD, "signin-expect": "dora"},
    )
    assert no_csrf.status_code == 400
    empty = _resume(client, token, "dora", "dora", password="")
    assert empty.status_code == 422 and "Enter your password." in empty.get_data(as_text=True)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        wrong = _resume(client, token, "dora", "dora", password="not it")
        assert wrong.status_code == 401
        assert wrong.headers["X-Sign-In-Form"] == "1"
        assert "Unknown username or wrong password." in wrong.get_data(as_text=True)
    locked = _resume(client, token, "dora", "dora")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # one counter with the login form
    login = client.post(
        "/login", data={"username": "dora", "password": PASSWORD, "csrf_token": token}
    )
    assert login.status_code == 429
