"""Sign-in, sign-out, throttling, idle timeout and session handling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import OperatorSession, ThrottleCounter, utcnow


def test_login_page_has_the_contract_labels(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label class="field-label" for="username">Username</label>' in html
    assert '<label class="field-label" for="password">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_pages_require_login_and_remember_where_you_were_going(client):
    response = client.get("/entries?q=aetna")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "entries" in response.headers["Location"]


def test_htmx_request_without_session_gets_hx_redirect_not_a_swapped_login_page(client):
    response = client.get("/entries", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login")
    assert response.get_data() == b""


def test_successful_login_lands_on_the_entries_list(client, auth):
    response = auth.login("alice", "viewer")
    assert response.status_code == 303
    assert response.headers["Location"] == "/entries"
    page = client.get("/entries")
    assert page.status_code == 200
    assert "Vault entries" in page.get_data(as_text=True)


def test_login_follows_a_local_next_but_never_an_external_one(client, auth):
    auth.create("bob", "viewer")
    for target, expected in [
        ("/entries?q=x", "/entries?q=x"),
        ("https://evil.example/", "/entries"),
        ("//evil.example/x", "/entries"),
    ]:
        token = auth.csrf_token("/login")
        response = client.post(
            "/login",
            data={
                "username": "bob",
                "password": auth.PASSWORD,
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["Location"] == expected
        auth.logout()


def test_wrong_password_keeps_the_username_and_clears_the_password(client, auth):
    auth.create("carol", "viewer")
    token = auth.csrf_token()
    response = client.post(
        "/login", data={"username": "carol", "password": "wrong-password", "csrf_token": token}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Unknown username or wrong password." in html
    assert 'value="carol"' in html
    assert "wrong-password" not in html


def test_unknown_user_gets_the_same_message(client, auth):
    token = auth.csrf_token()
    response = client.post(
        "/login", data={"username": "nobody", "password": "whatever-it-is", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Unknown username or wrong password." in response.get_data(as_text=True)


def test_empty_fields_are_named(client, auth):
    token = auth.csrf_token()
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your username." in html and "Enter your password." in html


def test_login_without_csrf_token_is_refused(client, auth):
    auth.create("dave", "viewer")
    response = client.post("/login", data={"username": "dave", "password": auth.PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def _fail(client, auth, username, ip="127.0.0.1"):
    token = auth.csrf_token()
    return client.post(
        "/login",
        data={"username": username, "password": "not-the-password", "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_username_lockout_after_repeated_failures(app, client, auth):
    auth.create("erin", "viewer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _fail(client, auth, "erin").status_code == 401
    token = auth.csrf_token()
    locked = client.post(
        "/login", data={"username": "erin", "password": auth.PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts. Try again in" in locked.get_data(as_text=True)
    assert int(locked.headers["Retry-After"]) > 0
    # another user from another address is not affected
    assert auth.login("frank", "viewer").status_code == 303


def test_lockout_expires_with_the_window(app, client, auth):
    auth.create("gina", "viewer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _fail(client, auth, "gina")
    with app.app_context():
        counter = db.session.get(ThrottleCounter, "user:gina|127.0.0.1")
        counter.window_start -= timedelta(seconds=app.config["LOGIN_LOCKOUT_SECONDS"] + 1)
        db.session.commit()
    assert auth.login("gina", "viewer").status_code == 303


def test_success_resets_the_username_counter(app, client, auth):
    auth.create("hank", "viewer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        _fail(client, auth, "hank")
    assert auth.login("hank", "viewer").status_code == 303
    auth.logout()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert _fail(client, auth, "hank").status_code == 401


def test_ip_lockout_stops_password_spraying_across_usernames(app, client, auth):
    limit = app.config["LOGIN_MAX_FAILURES"] * 4
    for i in range(limit):
        _fail(client, auth, f"spray{i}", ip="198.51.100.9")
    assert _fail(client, auth, "another", ip="198.51.100.9").status_code == 429
    assert _fail(client, auth, "another", ip="198.51.100.10").status_code == 401


def _age_session(client, seconds, app=None):
    """Make this browser's server-side session look idle for ``seconds``."""
    app = app or client.application
    with app.app_context():
        db.session.execute(
            update(OperatorSession).values(last_seen_at=utcnow() - timedelta(seconds=seconds))
        )
        db.session.commit()


def test_idle_session_is_signed_out_with_a_message(app, client, auth):
    auth.login("ivan", "viewer")
    _age_session(client, app.config["IDLE_TIMEOUT_SECONDS"] + 5)
    response = client.get("/entries")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in login_page


def test_idle_htmx_request_is_redirected_with_hx_redirect(app, client, auth):
    auth.login("jane", "viewer")
    _age_session(client, app.config["IDLE_TIMEOUT_SECONDS"] + 5)
    response = client.get("/entries", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login")


def test_background_refreshes_do_not_keep_a_session_alive(app, client, auth):
    auth.login("kate", "viewer")
    _age_session(client, app.config["IDLE_TIMEOUT_SECONDS"] - 10)
    client.get("/healthz", headers={"X-Background-Refresh": "1"})
    client.get("/entries", headers={"X-Background-Refresh": "1"})

    def idle_seconds() -> float:
        with app.app_context():
            row = db.session.scalars(select(OperatorSession)).one()
            return (utcnow() - row.last_seen_at).total_seconds()

    assert idle_seconds() > app.config["IDLE_TIMEOUT_SECONDS"] - 20
    client.get("/entries")
    assert idle_seconds() < 5


def test_logout_is_post_only_and_ends_the_session(client, auth):
    auth.login("liam", "viewer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/entries").status_code == 200
    response = auth.logout()
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/entries").status_code == 302


def test_session_cookie_flags(tmp_path, sandbox):
    from tests.conftest import AuthActions, make_app

    for secure in (False, True):
        app = make_app(tmp_path / str(secure), sandbox, SESSION_COOKIE_SECURE=secure)
        client = app.test_client()
        response = AuthActions(app, client).login("mona", "viewer")
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_session_is_renewed_at_sign_in(client, auth):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    auth.login("nina", "viewer")
    with client.session_transaction() as sess:
        assert "planted" not in sess
