"""The account page: own password (rules, common passwords refused, other sessions end),
a required password change, SSO operators, and ending one's own other sessions."""

from __future__ import annotations

from sqlalchemy import select

from app.services import passwords
from tests.conftest import AuthActions
from tests.two_factor_support import password_step, token

PASSWORD = AuthActions.PASSWORD
NEW = "a brand new long passphrase"


def _operator(app, username="alice"):
    from app.extensions import db
    from app.models import Operator

    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.username == username))
        db.session.expunge(op)
        return op


def _change(client, current=PASSWORD, new=NEW, again=None):
    return client.post(
        "/account/password",
        data={
            "csrf_token": token(client, "/account"),
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
    )


def test_password_rules():
    assert passwords.password_problem("short") == "Use at least 12 characters."
    assert "common" in passwords.password_problem("qwerty123456")
    assert "common" in passwords.password_problem("1Q2W3E4R5T6Y")  # case does not matter
    assert "username" in passwords.password_problem("alice-is-the-best", "alice")
    assert passwords.password_problem(NEW) is None


def test_every_operator_sees_the_account_page(client, auth):
    auth.login("vic", "viewer")
    page = client.get("/account")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Change password" in text and "Your sessions" in text
    assert 'href="/account"' in text  # the name in the top bar


def test_wrong_current_password_and_bad_new_ones_are_refused(app, client, auth):
    auth.login("alice", "admin")
    assert "not your password" in _change(client, current="nope nope nope").get_data(as_text=True)
    response = _change(client, new="qwerty123456")
    assert response.status_code == 422 and "common passwords" in response.get_data(as_text=True)
    assert "differ" in _change(client, again="something else entirely").get_data(as_text=True)
    assert "current password" in _change(client, new=PASSWORD).get_data(as_text=True)
    assert _operator(app).password_changed_at is None


def test_changing_the_password_ends_the_other_sessions(app, client, auth):
    auth.login("alice", "admin")
    other = app.test_client()
    AuthActions(app, other).login("alice", "admin")
    assert other.get("/account").status_code == 200
    response = _change(client)
    assert response.status_code == 303
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other.get("/account").status_code == 302  # the other one is signed out
    op = _operator(app)
    assert op.password_changed_at is not None and passwords.verify_password(op.password_hash, NEW)
    fresh = app.test_client()
    assert password_step(fresh, "alice", NEW).status_code == 303
    from app.extensions import db
    from app.models import AuditEvent

    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "account.password_change" in actions


def test_must_change_password_comes_first(app, client, auth):
    auth.create("bob", "editor")
    from app.extensions import db
    from app.models import Operator

    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.username == "bob"))
        op.must_change_password = True
        db.session.commit()
    response = password_step(client, "bob", PASSWORD)
    assert response.status_code == 303
    taken = client.get(response.headers["Location"])
    assert taken.status_code == 303 and taken.headers["Location"].endswith("/account")
    assert "Choose a new password" in client.get("/account").get_data(as_text=True)
    assert _change(client).status_code == 303
    assert client.get("/entries").status_code == 200
    assert _operator(app, "bob").must_change_password is False


def test_sso_operators_have_no_password_here(app, client, auth):
    auth.create("sam", "viewer")
    from app.extensions import db
    from app.models import Operator

    auth.login("sam", "viewer")
    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.username == "sam"))
        op.source = "sso"
        db.session.commit()
    text = client.get("/account").get_data(as_text=True)
    assert "single sign-on" in text and "Change password" not in text
    assert _change(client).status_code == 403


def test_ending_another_session(app, client, auth):
    auth.login("alice", "admin")
    other = app.test_client()
    AuthActions(app, other).login("alice", "admin")
    from app.extensions import db
    from app.models import OperatorSession

    text = client.get("/account").get_data(as_text=True)
    assert text.count('data-session="other"') == 1 and 'data-session="current"' in text
    with app.app_context():
        ids = list(db.session.scalars(select(OperatorSession.id)))
    assert len(ids) == 2
    csrf = token(client, "/account")
    for sid in ids:  # the current one is refused, the other ends
        client.post(f"/account/sessions/{sid}/end", data={"csrf_token": csrf})
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    # someone else's session cannot be ended from here
    mallory = app.test_client()
    AuthActions(app, mallory).login("mallory", "viewer")
    with app.app_context():
        alice_sid = db.session.scalar(
            select(OperatorSession.id).where(OperatorSession.operator_id == 1)
        )
    mallory.post(
        f"/account/sessions/{alice_sid}/end", data={"csrf_token": token(mallory, "/account")}
    )
    assert client.get("/account").status_code == 200
