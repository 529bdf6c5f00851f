"""Security controls, each proven: login on every route, roles on the server, CSRF on every
state-changing request, headers, hostile values rendered inert, proxy awareness, no key leaks."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, hx, make_entry

PUBLIC = {"auth.login", "auth.resume", "health.healthz", "health.readyz", "static"}
PUBLIC |= {"oidc.login", "oidc.callback"}  # single sign-on (tests/test_oidc.py)
PUBLIC |= {"auth.two_factor"}  # the second step of a sign-in (tests/test_two_factor.py)
PUBLIC |= {"operators.invite", "operators.reset"}  # one-time links (tests/test_operators_page.py)

#: Minimum role of every endpoint. A new route must be added here, or the test below fails.
ROLES = {
    "index": "viewer",
    "auth.logout": "viewer",
    "auth.keep_alive": "viewer",
    "auth.status": "viewer",
    "entries.list": "viewer",
    "entries.sync_now": "viewer",
    "overview.index": "viewer",
    "entries.detail": "viewer",
    "entries.masked": "viewer",
    "entries.view_section": "viewer",
    "entries.interval_preview": "viewer",
    "entries.new": "editor",
    "entries.provider_items": "editor",
    "entries.reveal": "editor",
    "entries.tfa_code": "editor",
    "entries.clear_state": "editor",
    "entries.edit_section": "editor",
    "entries.save_section": "editor",
    "entries.tfa_preview": "editor",
    "entries.bulk_choose": "editor",
    "entries.bulk_preview": "editor",
    "entries.bulk_apply": "editor",
    "entries.bulk_results": "editor",
    "audit.index": "editor",
    "audit.detail": "editor",
    "audit.entry_history": "editor",
    "entries.delete": "admin",
    "audit.export": "admin",
    "audit.verify_full": "admin",
    "status.index": "admin",
    **dict.fromkeys(
        ["operators.index", "operators.create", "operators.set_role", "operators.disable"]
        + ["operators.enable", "operators.send_reset", "operators.end_sessions"],
        "admin",
    ),
    "qoder.index": "viewer",
    "qoder.vault": "viewer",
    "r4.index": "viewer",
    "r4.vault": "viewer",
    "r4.item": "viewer",
    "vaults.search": "viewer",
    "vaults.compare_vaults": "viewer",
    "vaults.export_comparison": "viewer",
    **{f"account.{name}": "viewer" for name in ("index", "change_password", "end_session")},
    **{f"account.{name}": "viewer" for name in ("totp_setup", "totp_confirm", "totp_disable")},
    "account.recovery_codes": "viewer",
    "qoder.archive": "editor",
    "qoder.rotate": "editor",
}
RANK = {"viewer": 0, "editor": 1, "admin": 2}


def _routes(app):
    """(endpoint, method, url) for every route, with placeholder arguments filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        args = {}
        for name in rule.arguments:
            converter = rule._converters[name].__class__.__name__
            args[name] = (
                1
                if "Integer" in converter
                else {"section": "proxy", "field": "password"}.get(name, "x")
            )
        url = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def test_every_endpoint_is_classified(app):
    endpoints = {endpoint for endpoint, _m, _u in _routes(app)}
    assert endpoints == set(ROLES), (
        "classify new routes in ROLES (and think about who may use them)"
    )


def test_every_route_but_login_and_health_requires_login(app, client):
    token = _anonymous_token(client)
    for endpoint, method, url in _routes(app):
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        assert response.status_code in (302, 303), (endpoint, method, response.status_code)
        assert "/login" in response.headers["Location"], endpoint
        htmx = client.open(url, method=method, headers={"X-CSRFToken": token, "HX-Request": "true"})
        assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/login")


def _anonymous_token(client):
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_role_matrix_is_enforced_on_the_server(tmp_path, sandbox, other_vaults, role):
    app = make_app(tmp_path, sandbox)
    client = app.test_client()
    AuthActions(app, client).login(f"matrix-{role}", role)
    token = csrf(client)
    checked = 0
    for endpoint, method, url in _routes(app):
        if endpoint == "auth.logout":
            continue
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        allowed = RANK[role] >= RANK[ROLES[endpoint]]
        assert (response.status_code == 403) is (not allowed), (
            endpoint,
            method,
            response.status_code,
        )
        assert response.status_code != 500, (endpoint, method)
        checked += 1
    assert checked >= 25


def test_every_state_changing_request_needs_the_csrf_token(app, client, auth):
    auth.login("csrf-admin", "admin")
    mutating = [(e, m, u) for e, m, u in _routes(app) if m not in ("GET",)]
    assert len(mutating) >= 12
    for endpoint, method, url in mutating:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.open(url, method=method, headers=headers)
            assert response.status_code == 400, (endpoint, method, headers)
            assert "expired" in response.get_data(as_text=True).lower() or response.headers.get(
                "HX-Trigger"
            )


def test_login_form_itself_needs_csrf(client, auth):
    auth.create("form-user", "viewer")
    assert (
        client.post("/login", data={"username": "form-user", "password": auth.PASSWORD}).status_code
        == 400
    )


HOSTILE = '<script>alert("pwn")</script><img src=x onerror=alert(1)>'


def _assert_inert(html: str) -> None:
    assert (
        "<script>alert" not in html and "<img src=x" not in html and "onerror=alert(1)>" not in html
    )


def test_hostile_values_render_escaped_everywhere(client, auth, sandbox):
    entry = make_entry(
        sandbox,
        permissioned_user_id=f'xss-"><b>{id(client)}',
        user_alias=HOSTILE,
        domain="https://xss.example.com/login?next=%3Cscript%3E",
        cookies=[{"name": HOSTILE, "value": "v", "domain": ".example.com", "path": "/<i>p</i>",
                  "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
                  "storeId": "0", "sameSite": "<u>lax</u>"}],
        local_storage={HOSTILE: "1"},
        session_storage={"<svg/onload=alert(2)>": "2"},
        user_agent=HOSTILE,
    )  # fmt: skip
    auth.login("xss-admin", "admin")
    token = csrf(client)
    pages = [
        client.get("/entries"),
        client.get(f"/entries?q={entry.permissioned_user_id}"),
        hx(client, "GET", f"/entries?q={entry.permissioned_user_id}"),
        client.get(f"/entries/{entry.id}"),
        hx(client, "GET", f"/entries/{entry.id}/sections/session/edit"),
        hx(client, "GET", f"/entries/{entry.id}/sections/credentials/edit"),
        hx(client, "POST", f"/entries/{entry.id}/clear-state", token),
        hx(client, "GET", f"/audit/entry/{entry.id}"),
        client.get("/audit"),
        client.post("/entries/bulk", data={"csrf_token": token, "kind": "proxy", "ids": entry.id}),
    ]
    for response in pages:
        assert response.status_code < 500
        html = response.get_data(as_text=True)
        _assert_inert(html)
        assert "<svg/onload" not in html
    detail = pages[3].get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;" in detail  # shown, as text


def test_hostile_provider_titles_and_upstream_messages_are_inert(client, auth, sandbox):
    auth.login("xss-editor", "editor")
    sandbox.faults.add(
        "status", status=200, method="GET", path="/secret-providers",
        body=[{"id": "p-1", "provider_type": "1password", "name": HOSTILE}],
    )  # fmt: skip
    sandbox.faults.add(
        "status", status=200, method="GET", path="/secret-providers/p-1/items",
        body=[{"id": "i", "title": HOSTILE, "ref": 'op://v/"><script>x</script>',
               "vaultName": HOSTILE}],
    )  # fmt: skip
    html = client.get("/entries/new").get_data(as_text=True)
    _assert_inert(html)
    items = hx(client, "GET", "/entries/provider-items?secret_provider_id=p-1").get_data(
        as_text=True
    )
    _assert_inert(items)
    assert "<script>x" not in items
    sandbox.faults.add(
        "status", status=400, method="POST", path="/vault",
        body={"statusCode": 400, "message": [f"domain {HOSTILE}", HOSTILE], "error": "Bad Request"},
    )  # fmt: skip
    response = client.post(
        "/entries/new",
        data={"csrf_token": csrf(client, "/entries/new"), "permissioned_user_id": "xss-upstream",
              "domain": "https://up.example.com", "source": "stored", "tfa_method": "none",
              "proxy_setting": "none"},
    )  # fmt: skip
    assert response.status_code == 422
    _assert_inert(response.get_data(as_text=True))
    assert "&lt;script&gt;" in response.get_data(as_text=True)


def test_behind_a_trusted_proxy_the_client_ip_and_https_are_honoured(tmp_path, sandbox):
    from app.models import AuditEvent

    app = make_app(tmp_path, sandbox, TRUST_PROXY_HEADERS=1)
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    page = client.get("/login", headers=forwarded)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get("/login").headers.get("Strict-Transport-Security") is None
    AuthActions(app, client).create("proxied", "viewer")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))[1]
    # over HTTPS Flask-WTF also checks that the Referer is this site (browsers send it)
    response = client.post(
        "/login",
        data={"username": "proxied", "password": AuthActions.PASSWORD, "csrf_token": token},
        headers={**forwarded, "Referer": "https://localhost/login"},
    )
    assert response.status_code == 303
    cross_site = client.post(
        "/login",
        data={"username": "proxied", "password": AuthActions.PASSWORD, "csrf_token": token},
        headers={**forwarded, "Referer": "https://evil.example/"},
    )
    assert cross_site.status_code == 400
    with app.app_context():
        from app.extensions import db

        event = db.session.query(AuditEvent).filter_by(action="auth.login").one()
        assert event.ip == "203.0.113.9" and event.outcome == "success"


def test_untrusted_forwarded_headers_are_ignored(app, client, auth):
    from app.models import AuditEvent

    auth.create("direct", "viewer")
    token = auth.csrf_token()
    client.post(
        "/login",
        data={"username": "direct", "password": auth.PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    with app.app_context():
        from app.extensions import db

        assert db.session.query(AuditEvent).filter_by(action="auth.login").one().ip == "127.0.0.1"


def test_status_page_shows_only_the_last_four_characters_of_the_api_key(app, client, auth, sandbox):
    auth.login("stat-admin", "admin")
    html = client.get("/status").get_data(as_text=True)
    assert "…" + sandbox.api_key[-4:] in html and sandbox.api_key not in html
    assert sandbox.encryption_key not in html and app.config["SECRET_KEY"] not in html
    assert "Clock skew" in html and "reachable" in html and "writable" in html


def test_no_key_appears_in_any_page_of_a_scenario(app, client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("scan-admin", "admin")
    token = csrf(client)
    responses = [
        client.get("/entries"), client.get(f"/entries/{entry.id}"), client.get("/entries/new"),
        client.get("/audit"), client.get("/status"), client.get("/nope"),
        hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token,
           data={"password": auth.PASSWORD}),
    ]  # fmt: skip
    secrets = (sandbox.api_key, sandbox.encryption_key, app.config["SECRET_KEY"],
               app.config["AUDIT_HMAC_KEY"])  # fmt: skip
    for response in responses:
        body = response.get_data(as_text=True) + str(response.headers)
        for secret in secrets:
            assert secret not in body


def test_readyz_reports_each_dependency(app, client, sandbox, monkeypatch):
    from app import health

    ok = client.get("/readyz")
    assert ok.status_code == 200 and ok.json == {
        "status": "ok",
        "checks": {"database": "ok", "database_write": "ok", "upstream": "ok"},
    }
    sandbox.faults.add("status", status=503, method="GET", path="/secret-providers", times=None)
    monkeypatch.setattr(health, "PROBE_SECONDS", 0.0)  # the deep probe runs again at once
    deadline = time.monotonic() + 10
    down = client.get("/readyz")
    while down.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # refreshed in the background; stale answers meanwhile
        down = client.get("/readyz")
    assert down.status_code == 503 and down.json["checks"]["upstream"] == "error: upstream 503"
    sandbox.faults.clear()
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_fails_when_the_database_cannot_be_written(app, client):
    from sqlalchemy import create_engine, event

    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    event.listen(read_only, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    event.listen(read_only, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    app.extensions["database"].engine = read_only
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database_write"].startswith("error:")
    assert response.json["checks"]["database"] == "ok"  # readable, not writable
