"""Single sign-on with OpenID Connect against a real provider on loopback (oidc_support)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.config import ConfigError, load_config
from app.extensions import db
from app.models import AuditEvent, Operator
from app.services import operators
from tests.conftest import make_app, unique
from tests.entries_support import csrf, hx, make_entry
from tests.oidc_support import AUTH_TIME, authorize, local, running_provider


@pytest.fixture(scope="module")
def provider():
    with running_provider() as server:
        yield server


@pytest.fixture(autouse=True)
def _normal(provider):
    provider.mode = "normal"
    AUTH_TIME["offset"] = 0
    yield
    provider.mode = "normal"
    AUTH_TIME["offset"] = 0


@pytest.fixture
def sso_app(tmp_path, sandbox, other_vaults, provider):
    application = make_app(tmp_path, sandbox, ENV=provider.env())
    yield application
    application.extensions["upstream"].close()


@pytest.fixture
def client(sso_app):
    return sso_app.test_client()


def start(client, path: str = "/auth/oidc/login") -> str:
    response = client.get(path)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def sso_sign_in(client, provider, sub: str, path: str = "/auth/oidc/login"):
    """The whole round trip: console → provider's page (choose ``sub``) → callback."""
    return client.get(local(authorize(start(client, path), sub)))


def events(app, action: str = "auth.sso") -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def operator(app, subject: str) -> Operator | None:
    with app.app_context():
        row = db.session.scalar(select(Operator).where(Operator.sso_subject == subject))
        if row is not None:
            db.session.expunge(row)
        return row


def user(provider, *groups: str, name: str | None = None) -> str:
    sub = unique("sub")
    provider.set_user(
        sub, preferred_username=name or sub, email=f"{sub}@example.com", groups=list(groups)
    )
    return sub


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the round trip ------------------------------------------------------------------------


def test_authorization_request_uses_pkce_state_and_nonce(client, provider):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["vault-console"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"] == ["http://localhost/auth/oidc/callback"]


@pytest.mark.parametrize(
    ("groups", "role"),
    [(["vault-admins"], "admin"), (["vault-editors"], "editor"), (["someone-else"], "viewer"),
     (["vault-editors", "vault-admins"], "admin")],
)  # fmt: skip
def test_sign_in_maps_groups_to_roles(sso_app, client, provider, groups, role):
    sub = user(provider, *groups)
    response = sso_sign_in(client, provider, sub)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/entries")
    assert client.get("/entries").status_code == 200
    row = operator(sso_app, f"{provider.issuer}|{sub}")
    assert row is not None
    assert (row.source, row.role, row.username) == ("sso", role, sub)
    assert row.password_hash == "!sso"
    ok = events(sso_app)[-1]
    assert (ok.outcome, ok.operator) == ("success", sub)
    assert role in ok.message
    assert events(sso_app, "auth.login")[-1].outcome == "success"


def test_role_is_re_evaluated_at_every_sign_in(sso_app, client, provider):
    sub = user(provider, "vault-admins")
    assert sso_sign_in(client, provider, sub).status_code == 303
    client.post("/logout", data={"csrf_token": csrf(client)})
    provider.set_user(sub, preferred_username=sub, groups=["vault-editors"])
    assert sso_sign_in(client, provider, sub).status_code == 303
    row = operator(sso_app, f"{provider.issuer}|{sub}")
    assert row is not None and row.role == "editor"
    with sso_app.app_context():
        assert db.session.scalar(select(Operator).where(Operator.username == sub)) is not None


def test_username_from_email_and_never_a_local_operators_name(sso_app, client, provider):
    with sso_app.app_context():
        operators.create("taken", "admin", "correct horse battery staple")
    sub = unique("sub")
    provider.set_user(sub, preferred_username="taken", groups=["vault-editors"])
    assert sso_sign_in(client, provider, sub).status_code == 303
    row = operator(sso_app, f"{provider.issuer}|{sub}")
    assert row is not None and row.username == "taken-2" and row.role == "editor"
    other = unique("sub")
    provider.set_user(other, email="Jo.Doe@Example.com", groups=[])
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert sso_sign_in(client, provider, other).status_code == 303
    second = operator(sso_app, f"{provider.issuer}|{other}")
    assert second is not None and second.username == "jo.doe-example.com"


def test_next_is_kept_across_the_round_trip(client, provider):
    sub = user(provider, "vault-editors")
    response = sso_sign_in(client, provider, sub, "/auth/oidc/login?next=/overview")
    assert response.headers["Location"].endswith("/overview")
    evil = sso_sign_in(client, provider, sub, "/auth/oidc/login?next=https://evil.example/")
    assert evil.headers["Location"].endswith("/entries")


# --- refusals --------------------------------------------------------------------------------


def assert_refused(app, response, outcome: str, reason: str, title: str) -> None:
    assert response.status_code == 403
    body = text(response)
    assert title in body and reason in body
    assert "eyJ" not in body
    last = events(app)[-1]
    assert last.outcome == outcome and reason in (last.message or "")
    assert "eyJ" not in (last.message or "")


def test_no_matching_group_is_refused(tmp_path, sandbox, other_vaults, provider):
    app = make_app(
        tmp_path, sandbox, ENV=provider.env(VAULT_CONSOLE_OIDC_ROLE_MAP="vault-admins=admin")
    )
    client = app.test_client()
    sub = user(provider, "marketing")
    response = sso_sign_in(client, provider, sub)
    assert_refused(app, response, "refused", "no matching group", "Sign-in refused")
    assert "marketing" in (events(app)[-1].message or "")
    assert operator(app, f"{provider.issuer}|{sub}") is None
    assert client.get("/entries").status_code == 302  # not signed in
    app.extensions["upstream"].close()


def test_disabled_sso_operator_is_refused(sso_app, client, provider):
    sub = user(provider, "vault-editors")
    assert sso_sign_in(client, provider, sub).status_code == 303
    client.post("/logout", data={"csrf_token": csrf(client)})
    with sso_app.app_context():
        operators.disable(sub)
    response = sso_sign_in(client, provider, sub)
    assert_refused(sso_app, response, "refused", "disabled", "Sign-in refused")
    assert client.get("/entries").status_code == 302


def test_state_mismatch_is_refused(sso_app, client, provider):
    sub = user(provider, "vault-admins")
    callback = authorize(start(client), sub)
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    response = client.get(local(forged))
    assert_refused(sso_app, response, "failure", "state", "Single sign-on failed")
    assert client.get("/entries").status_code == 302
    # a callback in a browser that never started a sign-in (login CSRF) is refused too
    other = sso_app.test_client()
    response = other.get(local(authorize(start(client), sub)))
    assert_refused(sso_app, response, "failure", "state mismatch", "Single sign-on failed")


def test_issuer_mismatch_is_refused(sso_app, client, provider):
    sub = user(provider, "vault-admins")
    provider.mode = "wrong-issuer"
    response = sso_sign_in(client, provider, sub)
    assert_refused(sso_app, response, "failure", "iss", "Single sign-on failed")
    assert operator(sso_app, f"{provider.issuer}|{sub}") is None


def test_token_signed_by_another_key_is_refused(sso_app, client, provider):
    sub = user(provider, "vault-admins")
    provider.mode = "other-key"
    response = sso_sign_in(client, provider, sub)
    assert response.status_code == 403
    assert_refused(sso_app, response, "failure", "BadSignature", "Single sign-on failed")
    assert operator(sso_app, f"{provider.issuer}|{sub}") is None


def test_expired_token_is_refused(sso_app, client, provider):
    sub = user(provider, "vault-admins")
    provider.mode = "expired"
    response = sso_sign_in(client, provider, sub)
    assert_refused(sso_app, response, "failure", "exp", "Single sign-on failed")
    assert operator(sso_app, f"{provider.issuer}|{sub}") is None


def test_provider_denial_is_refused(sso_app, client, provider):
    location = start(client)
    import requests

    denied = requests.post(location, data={"action": "deny"}, allow_redirects=False, timeout=10)
    response = client.get(local(denied.headers["Location"]))
    assert_refused(sso_app, response, "failure", "access_denied", "Single sign-on failed")


# --- the sign-in page and password sign-in ---------------------------------------------------


def test_login_page_offers_sso_beside_the_password_form(client):
    body = text(client.get("/login"))
    assert "Sign in with SSO" in body and 'name="password"' in body


def test_password_login_off_hides_the_form_and_refuses_posts(
    tmp_path, sandbox, other_vaults, provider
):
    app = make_app(tmp_path, sandbox, ENV=provider.env(VAULT_CONSOLE_PASSWORD_LOGIN="false"))
    client = app.test_client()
    body = text(client.get("/login"))
    assert "Sign in with SSO" in body
    assert 'name="password"' not in body and "Username" not in body
    with app.app_context():
        operators.create("local-admin", "admin", "correct horse battery staple")  # the CLI's way
    token = csrf(client, "/login")
    response = client.post(
        "/login",
        data={"username": "local-admin", "password": "correct horse battery staple",
              "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 403
    assert "Password sign-in is turned off" in text(response)
    assert client.get("/entries").status_code == 302
    refused = events(app, "auth.login")[-1]
    assert refused.outcome == "refused" and "PASSWORD_LOGIN" in (refused.message or "")
    result = app.test_cli_runner().invoke(args=["operator", "list"])
    assert result.exit_code == 0 and "local-admin" in result.output
    app.extensions["upstream"].close()


def test_no_sso_routes_without_configuration(app):
    client = app.test_client()
    assert client.get("/auth/oidc/login").status_code == 404
    assert client.get("/auth/oidc/callback?state=x&code=y").status_code == 404
    assert "Sign in with SSO" not in text(client.get("/login"))


# --- re-authentication (sudo) ----------------------------------------------------------------


def test_reveal_needs_a_fresh_sso_round_trip(sso_app, client, provider, sandbox):
    entry = make_entry(sandbox, password="Corr3ct-Horse!")
    sub = user(provider, "vault-editors")
    assert sso_sign_in(client, provider, sub).status_code == 303
    token = csrf(client)
    reveal = f"/entries/{entry.id}/secrets/password/reveal"
    fragment = text(hx(client, "POST", reveal, token))
    assert "Confirm with SSO" in fragment and 'name="password"' not in fragment
    link = re.search(r'href="(/auth/oidc/login\?[^"]+)"', fragment)
    assert link is not None
    path = link.group(1).replace("&amp;", "&")
    # a password typed anyway is no way in for an SSO operator
    refused = hx(client, "POST", reveal, token, data={"password": "anything"})
    assert refused.status_code == 422 and "identity provider" in text(refused)

    location = start(client, path)
    query = parse_qs(urlsplit(location).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    response = client.get(local(authorize(location, sub)))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/entries/{entry.id}")
    revealed = hx(client, "POST", reveal, token)
    assert "Corr3ct-Horse!" in text(revealed)
    assert events(sso_app, "auth.sudo")[-1].outcome == "success"


def test_re_authentication_must_be_fresh_and_the_same_person(sso_app, client, provider, sandbox):
    entry = make_entry(sandbox)
    sub = user(provider, "vault-editors")
    assert sso_sign_in(client, provider, sub).status_code == 303
    path = f"/auth/oidc/login?reauth=1&next=/entries/{entry.id}"
    AUTH_TIME["offset"] = -3600  # the provider did not ask again: an old sign-in
    response = client.get(local(authorize(start(client, path), sub)))
    assert_refused(sso_app, response, "failure", "not fresh", "Single sign-on failed")
    AUTH_TIME["offset"] = 0
    someone = user(provider, "vault-admins")
    response = client.get(local(authorize(start(client, path), someone)))
    assert_refused(sso_app, response, "failure", "another identity", "Single sign-on failed")
    token = csrf(client)
    fragment = text(hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token))
    assert "Confirm with SSO" in fragment  # still no sudo window


def test_local_operators_cannot_start_an_sso_re_authentication(client, provider):
    from tests.conftest import AuthActions

    AuthActions(client.application, client).login("localadmin", "admin")
    assert client.get("/auth/oidc/login?reauth=1").status_code == 403


# --- configuration ---------------------------------------------------------------------------


def _config(tmp_path, **env: str):
    return load_config(env=env, instance=tmp_path)


def test_config_parses_the_sso_settings(tmp_path):
    cfg = _config(
        tmp_path,
        VAULT_CONSOLE_OIDC_ISSUER="https://id.example.com/realms/ops/",
        VAULT_CONSOLE_OIDC_CLIENT_ID="console",
        VAULT_CONSOLE_OIDC_CLIENT_SECRET="x",
        VAULT_CONSOLE_OIDC_ROLE_MAP="vault-admins=admin, vault-editors=Editor,*=viewer",
    )
    oidc = cfg["OIDC"]
    assert oidc.issuer == "https://id.example.com/realms/ops"
    assert oidc.roles_claim == "groups"
    assert oidc.role_map == (("vault-admins", "admin"), ("vault-editors", "editor"))
    assert oidc.default_role == "viewer"
    assert cfg["PASSWORD_LOGIN"] is True
    assert _config(tmp_path)["OIDC"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAULT_CONSOLE_OIDC_ISSUER": "http://id.example.com"}, "https://"),
        ({"VAULT_CONSOLE_OIDC_ROLE_MAP": "vault-admins=root"}, "role must be one of"),
        ({"VAULT_CONSOLE_OIDC_ROLE_MAP": "vault-admins"}, "group=role"),
        ({"VAULT_CONSOLE_OIDC_ROLE_MAP": ""}, "at least one group"),
        ({"VAULT_CONSOLE_OIDC_CLIENT_SECRET": ""}, "VAULT_CONSOLE_OIDC_CLIENT_SECRET"),
    ],
)
def test_config_errors_are_clear(tmp_path, env, message):
    base = {
        "VAULT_CONSOLE_OIDC_ISSUER": "https://id.example.com",
        "VAULT_CONSOLE_OIDC_CLIENT_ID": "console",
        "VAULT_CONSOLE_OIDC_CLIENT_SECRET": "x",
        "VAULT_CONSOLE_OIDC_ROLE_MAP": "*=viewer",
    }
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(tmp_path, **{**base, **env})


def test_loopback_issuer_over_http_is_accepted_and_password_login_needs_sso(tmp_path):
    env = {
        "VAULT_CONSOLE_OIDC_ISSUER": "http://127.0.0.1:9000",
        "VAULT_CONSOLE_OIDC_CLIENT_ID": "c",
        "VAULT_CONSOLE_OIDC_CLIENT_SECRET": "s",
        "VAULT_CONSOLE_OIDC_ROLE_MAP": "ops=admin",
        "VAULT_CONSOLE_PASSWORD_LOGIN": "false",
    }
    cfg = _config(tmp_path, **env)
    assert cfg["OIDC"].issuer == "http://127.0.0.1:9000" and cfg["PASSWORD_LOGIN"] is False
    with pytest.raises(ConfigError, match="nobody could sign in"):
        _config(tmp_path, VAULT_CONSOLE_PASSWORD_LOGIN="false")


def test_an_sso_admin_exports_the_audit_log_after_a_fresh_provider_sign_in(
    sso_app, client, provider
):
    sub = user(provider, "vault-admins")
    assert sso_sign_in(client, provider, sub).status_code == 303
    page = text(client.get("/audit"))
    link = re.search(r'href="([^"]+)">Confirm with SSO to export<', page)
    assert (
        link and "reauth=1" in link[1] and 'name="password"' not in page.split("export")[1][:2000]
    )
    # without the round trip the export is refused (no password to give)
    token = csrf(client)
    refused = client.post("/audit/export", data={"csrf_token": token, "format": "csv"})
    assert refused.status_code in (302, 303) and "text/csv" not in refused.content_type
    # a fresh sign-in at the provider opens the window; the export then streams
    back = client.get(local(authorize(start(client, html.unescape(link[1])), sub)))
    assert back.status_code in (302, 303) and "/audit" in back.headers["Location"]
    exported = client.post("/audit/export", data={"csrf_token": csrf(client), "format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "auth.sso" in exported.get_data(as_text=True)
