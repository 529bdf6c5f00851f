"""Two-factor sign-in: TOTP set up from the QR code's link, the second step of a sign-in
(a code, or a recovery code once), throttling, audit, and the steps a sign-in may require."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from tests.conftest import AuthActions, make_app
from tests.two_factor_support import (
    code_step,
    logout,
    next_code,
    password_step,
    set_up_totp,
    token,
)

PASSWORD = AuthActions.PASSWORD


def _audit(app, action):
    from app.extensions import db
    from app.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [(row.outcome, row.message or "") for row in rows]


def test_setup_stores_the_secret_encrypted_and_codes_hashed(app, client, auth):
    auth.login("alice", "admin")
    secret, codes = set_up_totp(client)
    from app.extensions import db
    from app.models import Operator, RecoveryCode

    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.username == "alice"))
        assert op.totp_enabled_at is not None
        assert secret not in op.totp_secret
        stored = list(db.session.scalars(select(RecoveryCode.code_hash)))
        assert len(stored) == 10 and not set(stored) & {c for c in codes}
    assert ("success", "") in _audit(app, "account.totp_enable")
    assert _audit(app, "account.recovery_codes")


def test_setup_refuses_a_wrong_confirmation_code(app, client, auth):
    auth.login("alice", "admin")
    csrf = token(client, "/account")
    client.post("/account/two-factor/setup", data={"csrf_token": csrf})
    wrong = client.post(
        "/account/two-factor/confirm", data={"csrf_token": csrf, "setup-code": "000000"}
    )
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    assert 'badge-gray">off' in client.get("/account").get_data(as_text=True)


def test_sign_in_asks_for_the_code_before_the_session_starts(app, client, auth):
    auth.login("alice", "admin")
    secret, _codes = set_up_totp(client)
    logout(client)
    first = password_step(client, "alice", PASSWORD)
    assert first.status_code == 303 and first.headers["Location"].endswith("/login/two-factor")
    # no session yet: pages still send to the sign-in page
    assert client.get("/entries").status_code == 302
    wrong = code_step(client, "123456")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    ok = code_step(client, pyotp.TOTP(secret).now())
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/entries")
    assert client.get("/account").status_code == 200
    outcomes = [o for o, _m in _audit(app, "auth.two_factor")]
    assert outcomes.count("failure") == 1 and outcomes.count("success") == 1


def test_a_code_is_refused_when_reused(app, client, auth):
    auth.login("alice", "admin")
    secret, _codes = set_up_totp(client)
    logout(client)
    code = pyotp.TOTP(secret).now()
    password_step(client, "alice", PASSWORD)
    assert code_step(client, code).status_code == 303
    logout(client)
    password_step(client, "alice", PASSWORD)
    assert code_step(client, code).status_code == 401  # replayed
    assert code_step(client, next_code(secret)).status_code == 303


def test_a_recovery_code_works_once(app, client, auth):
    auth.login("alice", "admin")
    _secret, codes = set_up_totp(client)
    logout(client)
    password_step(client, "alice", PASSWORD)
    ok = code_step(client, codes[0].upper().replace("-", " "))  # typed loosely
    assert ok.status_code == 303
    assert "9 of 10 recovery codes left" in client.get("/account").get_data(as_text=True).replace(
        "<strong>", ""
    ).replace("</strong>", "")
    logout(client)
    password_step(client, "alice", PASSWORD)
    assert code_step(client, codes[0]).status_code == 401
    assert any("recovery code" in m for o, m in _audit(app, "auth.two_factor") if o == "success")


def test_wrong_codes_are_throttled(tmp_path, sandbox, other_vaults):
    app = make_app(tmp_path, sandbox, LOGIN_MAX_FAILURES=3)
    client = app.test_client()
    auth = AuthActions(app, client)
    auth.login("alice", "admin")
    secret, _codes = set_up_totp(client)
    logout(client)
    password_step(client, "alice", PASSWORD)
    for _ in range(3):
        assert code_step(client, "000000").status_code == 401
    locked = code_step(client, pyotp.TOTP(secret).now())  # even the right code
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert tuple(o for o, _m in _audit(app, "auth.two_factor")[-1:]) == ("refused",)
    app.extensions["upstream"].close()


def test_the_second_step_needs_the_first(client):
    response = client.get("/login/two-factor")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_the_sign_in_dialog_refuses_clearly_for_two_factor(app, client, auth):
    auth.login("alice", "admin")
    set_up_totp(client)
    csrf = token(client, "/account")
    response = client.post(
        "/login/resume",
        data={
            "signin-username": "alice",
            "signin-password": PASSWORD,
            "signin-expect": "alice",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 403
    assert "two-factor code" in response.get_data(as_text=True)


def test_require_2fa_takes_editors_to_the_setup(tmp_path, sandbox, other_vaults):
    app = make_app(tmp_path, sandbox, REQUIRE_2FA=True)
    client = app.test_client()
    auth = AuthActions(app, client)
    auth.login("ed", "editor")
    response = client.get("/entries")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    htmx = client.get("/entries", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect", "").endswith("/account")
    page = client.get("/account").get_data(as_text=True)
    assert "set up two-factor sign-in before you continue" in page
    secret, _codes = set_up_totp(client)
    assert client.get("/entries").status_code == 200
    # required: cannot be turned off
    refused = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": token(client, "/account"), "disable-code": next_code(secret)},
    )
    assert refused.status_code == 403
    # viewers are not required to
    viewer = app.test_client()
    AuthActions(app, viewer).login("vic", "viewer")
    assert viewer.get("/entries").status_code == 200
    app.extensions["upstream"].close()


def test_turning_it_off_needs_a_code(app, client, auth):
    auth.login("alice", "admin")
    secret, _codes = set_up_totp(client)
    csrf = token(client, "/account")
    wrong = client.post(
        "/account/two-factor/disable", data={"csrf_token": csrf, "disable-code": "111111"}
    )
    assert wrong.status_code == 422
    ok = client.post(
        "/account/two-factor/disable", data={"csrf_token": csrf, "disable-code": next_code(secret)}
    )
    assert ok.status_code == 303
    assert ("success", "") in _audit(app, "account.totp_disable")
    logout(client)
    assert password_step(client, "alice", PASSWORD).headers["Location"].endswith("/entries")


def test_new_recovery_codes_void_the_old_ones(app, client, auth):
    auth.login("alice", "admin")
    secret, old = set_up_totp(client)
    response = client.post(
        "/account/recovery-codes",
        data={"csrf_token": token(client, "/account"), "recovery-code": next_code(secret)},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    logout(client)
    password_step(client, "alice", PASSWORD)
    assert code_step(client, old[1]).status_code == 401
