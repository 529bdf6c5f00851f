"""The Operators page (/operators): list, create (one-time password or invitation link),
role changes, disable/enable, reset links, ending sessions; every action audited; the last
admin protected; one-time links single use and expiring; admins only; CSRF everywhere."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Operator, OperatorLink, utcnow
from app.services import operator_links, operators, passwords
from tests.conftest import AuthActions
from tests.entries_support import csrf

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def admin(app, client, auth):
    auth.login("boss", "admin")
    return csrf(client, "/operators")


def _post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data})


def _op(app, name) -> Operator:
    with app.app_context():
        operator = operators.find(name)
        assert operator is not None
        db.session.expunge(operator)
        return operator


def _events(app, action):
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _link(html):
    match = re.search(r'id="copy-operator-link"[^>]*>([^<]+)<', html)
    assert match, html
    return match.group(1).replace("http://localhost", "")


def _signed_in_elsewhere(app, name, role="viewer"):
    other = app.test_client()
    AuthActions(app, other).login(name, role)
    assert other.get("/entries").status_code == 200
    return other


def test_list_shows_role_source_sign_in_two_factor_and_status(app, client, admin, auth):
    auth.create("carol", "editor")
    auth.create("sam", "viewer")
    with app.app_context():
        sam = operators.find("sam")
        sam.source, sam.totp_enabled_at, sam.disabled_at = "sso", utcnow(), utcnow()
        carol = operators.find("carol")
        carol.must_change_password = True
        db.session.commit()
    response = client.get("/operators")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = html[html.index('data-operator="sam"') :]
    row = row[: row.index("</tr>")]
    assert "SSO" in row and "disabled" in row and "✓ on" in row
    assert "Send reset link" not in row and "identity provider" in row
    carol_row = html[html.index('data-operator="carol"') :]
    carol_row = carol_row[: carol_row.index("</tr>")]
    assert "local" in carol_row and "must change password" in carol_row and "✕ off" in carol_row
    assert "active" in carol_row and "Send reset link" in carol_row
    assert 'href="/operators"' in html  # the navigation link


def test_create_with_a_one_time_password(app, client, admin):
    response = _post(client, "/operators", admin, username="Dora", role="editor", method="password")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    password = re.search(r'id="copy-one-time-password"[^>]*>([^<]+)<', html).group(1)
    dora = _op(app, "dora")
    assert dora.role == "editor" and dora.must_change_password
    assert passwords.verify_password(dora.password_hash, password)
    (event,) = _events(app, "operator.create")[-1:]
    assert (
        event.operator == "boss"
        and event.target_pid == "dora"
        and password not in str(event.changes)
    )
    assert "shown only this once" in html.lower()


def test_create_refusals_are_shown_beside_the_field(app, client, admin, auth):
    auth.create("taken", "viewer")
    response = _post(client, "/operators", admin, username="taken", role="viewer")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    response = _post(client, "/operators", admin, username="Bad Name!", role="viewer")
    assert response.status_code == 422 and "Usernames are" in response.get_data(as_text=True)
    response = _post(client, "/operators", admin, username="okname", role="root")
    assert response.status_code == 422 and operators.find is not None
    with app.app_context():
        assert operators.find("okname") is None


def test_invitation_link_sets_a_password_once(app, client, admin):
    response = _post(client, "/operators", admin, username="ivy", role="viewer", method="invite")
    assert response.status_code == 200
    url = _link(response.get_data(as_text=True))
    assert url.startswith("/operators/invite/")
    token = url.rsplit("/", 1)[1]
    with app.app_context():
        rows = list(db.session.scalars(select(OperatorLink)))
        assert [r.token_hash for r in rows] == [operator_links.digest(token)]
        assert token not in str([(r.token_hash, r.created_by) for r in rows])
        assert rows[0].created_by == "boss"
        assert rows[0].expires_at - rows[0].created_at == timedelta(hours=24)
    assert "invited" in client.get("/operators").get_data(as_text=True)
    assert _events(app, "operator.invite")[-1].target_pid == "ivy"

    invited = app.test_client()
    page = invited.get(url)
    assert page.status_code == 200 and "ivy" in page.get_data(as_text=True)
    token_field = AuthActions(app, invited).csrf_token(url)
    short = invited.post(
        url, data={"csrf_token": token_field, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 422 and "at least 12" in short.get_data(as_text=True)
    differ = invited.post(
        url,
        data={"csrf_token": token_field, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
    )
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    done = invited.post(
        url, data={"csrf_token": token_field, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    with app.app_context():
        assert operators.authenticate("ivy", NEW_PASSWORD) is not None
    used = _events(app, "operator.link_used")[-1]
    assert used.operator == "ivy" and used.target_pid == "ivy"

    again = invited.get(url)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    reuse = invited.post(
        url,
        data={
            "csrf_token": token_field,
            "password": "another passphrase!",
            "confirm": "another passphrase!",
        },
    )
    assert reuse.status_code == 410
    with app.app_context():
        assert operators.authenticate("ivy", NEW_PASSWORD) is not None


def test_expired_and_unknown_links_are_refused(app, client, admin):
    url = _link(
        _post(
            client, "/operators", admin, username="late", role="viewer", method="invite"
        ).get_data(as_text=True)
    )
    with app.app_context():
        link = db.session.scalar(select(OperatorLink))
        link.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    other = app.test_client()
    page = other.get(url)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    token = AuthActions(app, other).csrf_token("/login")
    post = other.post(
        url, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert post.status_code == 410
    unknown = other.get("/operators/invite/not-a-real-token")
    assert unknown.status_code == 410 and "not valid" in unknown.get_data(as_text=True)
    # an invitation is not a reset link
    assert other.get(url.replace("/invite/", "/reset/")).status_code == 410


def test_links_are_used_atomically_and_a_new_link_replaces_the_old(app, auth):
    auth.create("race", "viewer")
    with app.app_context():
        race = operators.find("race")
        first = operator_links.create(race, operator_links.RESET, "boss")[1]
        second = operator_links.create(race, operator_links.RESET, "boss")[1]
        with pytest.raises(operator_links.LinkError, match="already been used"):
            operator_links.check(first, operator_links.RESET)
        operator_links.consume(second, operator_links.RESET, NEW_PASSWORD)
        with pytest.raises(operator_links.LinkError):
            operator_links.consume(second, operator_links.RESET, NEW_PASSWORD)
        with pytest.raises(operator_links.LinkError, match="at least"):
            third = operator_links.create(race, operator_links.RESET, "boss")[1]
            operator_links.consume(third, operator_links.RESET, "short")
        operator_links.check(third, operator_links.RESET)  # a refused password keeps the link


def test_role_change_is_audited_and_ends_their_sessions(app, client, admin, auth):
    other = _signed_in_elsewhere(app, "rob", "viewer")
    rob = _op(app, "rob")
    response = _post(client, f"/operators/{rob.id}/role", admin, role="editor")
    assert response.status_code == 302
    assert _op(app, "rob").role == "editor"
    event = _events(app, "operator.role_change")[-1]
    assert event.outcome == "success" and event.target_pid == "rob"
    assert '"before": "viewer"' in event.changes and '"after": "editor"' in event.changes
    assert other.get("/entries").status_code == 302
    assert "changed to editor" in client.get("/operators").get_data(as_text=True)


def test_the_last_admin_cannot_be_demoted_or_disabled(app, client, admin):
    boss = _op(app, "boss")
    response = _post(client, f"/operators/{boss.id}/role", admin, role="viewer")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f'id="operator-{boss.id}-error"' in html and "last active admin" in html
    assert _op(app, "boss").role == "admin"
    assert _events(app, "operator.role_change")[-1].outcome == "refused"
    response = _post(client, f"/operators/{boss.id}/disable", admin)
    assert response.status_code == 409 and _op(app, "boss").disabled_at is None
    assert _events(app, "operator.disable")[-1].outcome == "refused"


def test_disable_and_enable(app, client, admin, auth):
    other = _signed_in_elsewhere(app, "dan", "editor")
    dan = _op(app, "dan")
    assert _post(client, f"/operators/{dan.id}/disable", admin).status_code == 302
    assert _op(app, "dan").disabled_at is not None
    assert other.get("/entries").status_code == 302
    assert _post(client, f"/operators/{dan.id}/disable", admin).status_code == 409
    assert _post(client, f"/operators/{dan.id}/enable", admin).status_code == 302
    assert _op(app, "dan").disabled_at is None
    assert [e.outcome for e in _events(app, "operator.disable")] == ["success", "refused"]
    assert [e.outcome for e in _events(app, "operator.enable")] == ["success"]
    assert _post(client, f"/operators/{dan.id}/enable", admin).status_code == 409


def test_reset_link_ends_sessions_when_used_and_is_refused_for_sso(app, client, admin, auth):
    other = _signed_in_elsewhere(app, "rita", "viewer")
    rita = _op(app, "rita")
    response = _post(client, f"/operators/{rita.id}/reset", admin)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    url = _link(response.get_data(as_text=True))
    assert url.startswith("/operators/reset/")
    assert _events(app, "operator.password_reset")[-1].outcome == "success"
    assert other.get("/entries").status_code == 200  # the old password works until it is used
    visitor = app.test_client()
    token = AuthActions(app, visitor).csrf_token(url)
    done = visitor.post(
        url, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert other.get("/entries").status_code == 302
    with app.app_context():
        assert operators.authenticate("rita", NEW_PASSWORD) is not None
        assert operators.authenticate("rita", AuthActions.PASSWORD) is None

    auth.create("sue", "viewer")
    with app.app_context():
        operators.find("sue").source = "sso"
        db.session.commit()
    sue = _op(app, "sue")
    refused = _post(client, f"/operators/{sue.id}/reset", admin)
    assert refused.status_code == 409 and "single sign-on" in refused.get_data(as_text=True)
    assert _events(app, "operator.password_reset")[-1].outcome == "refused"


def test_end_sessions(app, client, admin):
    other = _signed_in_elsewhere(app, "eve", "viewer")
    eve = _op(app, "eve")
    assert _post(client, f"/operators/{eve.id}/sessions/end", admin).status_code == 302
    assert other.get("/entries").status_code == 302
    event = _events(app, "operator.sessions_end")[-1]
    assert event.target_pid == "eve" and '"ended": 1' in event.changes
    boss = _op(app, "boss")
    assert _post(client, f"/operators/{boss.id}/sessions/end", admin).status_code == 409
    assert client.get("/operators").status_code == 200


def test_unknown_operator_is_404(client, admin):
    assert _post(client, "/operators/9999/disable", admin).status_code == 404


ADMIN_ROUTES = [
    ("GET", "/operators"),
    ("POST", "/operators"),
    ("POST", "/operators/1/role"),
    ("POST", "/operators/1/disable"),
    ("POST", "/operators/1/enable"),
    ("POST", "/operators/1/reset"),
    ("POST", "/operators/1/sessions/end"),
]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_403_everywhere(app, client, auth, role):
    auth.login(f"not-admin-{role}", role)
    token = csrf(client)
    for method, url in ADMIN_ROUTES:
        response = client.open(url, method=method, data={"csrf_token": token, "role": "admin"})
        assert response.status_code == 403, (method, url)
    assert 'href="/operators"' not in client.get("/entries").get_data(as_text=True)
    with app.app_context():
        assert operators.find(f"not-admin-{role}").role == role


def test_csrf_is_required_on_every_form(app, client, admin, auth):
    auth.create("target", "viewer")
    target = _op(app, "target")
    for method, url in ADMIN_ROUTES[1:]:
        url = url.replace("/1/", f"/{target.id}/")
        response = client.open(url, method=method, data={"role": "editor", "username": "x1"})
        assert response.status_code == 400, url
    assert _op(app, "target").role == "viewer" and _op(app, "target").disabled_at is None
    with app.app_context():
        link_token = operator_links.create(operators.find("target"), operator_links.RESET, "boss")[
            1
        ]
    response = app.test_client().post(
        f"/operators/reset/{link_token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 400
