"""Security round two (issue 12, fixed in 358ded4): one behaviour test per finding of the outside
probe, over real sockets (the sandbox, a recording HTTP hop, the Qoder emulator) and real SQLite
files. Helpers that exist only after the fix are imported inside the tests that use them."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from app.config import OtherVault, Upstream
from app.models import AuditEvent, ThrottleCounter
from tests.conftest import AuthActions, make_app, unique
from tests.entries_support import csrf, hx, index_sync, make_entry
from tests.other_vaults_support import add_qoder_credential, qoder_vault_id

#: a spreadsheet treats a cell starting with one of these as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOAD = "=cmd|' /C calc'!A0"


# ------------------------------------------------------------------------------------ helpers
def _audit_rows(app) -> list[AuditEvent]:
    from app.extensions import db

    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def _throttle_keys(app) -> set[str]:
    from app.extensions import db

    with app.app_context():
        keys = set(db.session.scalars(select(ThrottleCounter.key)))
        db.session.rollback()
        return keys


def _login_token(client, ip: str = "127.0.0.1") -> str:
    html = client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on /login"
    return match[1]


def _sign_in(client, username: str, password: str, ip: str, headers: dict | None = None):
    """One POST /login from ``ip`` (a fresh CSRF token from the same address first)."""
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _login_token(client, ip)},
        environ_base={"REMOTE_ADDR": ip},
        headers=headers or {},
    )


def _export(client, fmt: str, password: str = AuthActions.PASSWORD) -> str:
    """An admin's audit export (password re-entered, or the sudo window)."""
    token = csrf(client, "/audit")
    response = client.post(
        "/audit/export", data={"csrf_token": token, "format": fmt, "password": password}
    )
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.get_data(as_text=True)


def _cookie(response, name: str) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert cookies, f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}"
    return cookies[-1]


def _secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")[1:]]


# ------------------------------------------------ finding 1: /readyz spends no upstream quota
def test_readyz_hammered_makes_at_most_one_upstream_call_and_healthz_none(recorded_app, recorder):
    client = recorded_app.test_client()
    for _ in range(20):
        assert client.get("/healthz").json == {"status": "ok"}
    assert recorder.requests == []  # liveness never touches CloudCruise
    answers = [client.get("/readyz") for _ in range(50)]
    assert {a.status_code for a in answers} == {200}
    assert all(a.json["status"] == "ok" for a in answers)
    assert len(recorder.requests) <= 1, recorder.requests
    assert all(r["path"] == "/secret-providers" for r in recorder.requests)
    before = len(recorder.requests)
    for _ in range(20):
        client.get("/healthz")
    assert len(recorder.requests) == before


# --------------------------------------------------------- finding 5: CSV formula injection
def test_audit_csv_export_neutralises_formula_cells_and_jsonl_keeps_raw_values(
    app, client, auth, sandbox
):
    auth.create("sheet-victim", "viewer")
    anon = app.test_client()
    # (a header value's leading tab or CR never arrives: the entry keys below carry those)
    agents = [f"{start}{PAYLOAD}" for start in FORMULA_STARTS if not start.isspace()]
    for agent in agents:  # unauthenticated failed sign-ins with a hostile User-Agent
        failed = _sign_in(
            anon, "sheet-victim", "wrong password!", "127.0.0.1", {"User-Agent": agent}
        )
        assert failed.status_code == 401
    # an unknown username that is a formula (finding 12 keeps it out of the log altogether)
    assert _sign_in(anon, PAYLOAD, "wrong password!", "127.0.0.1").status_code == 401
    # hostile entry keys from upstream, audited as target_pid when a secret is revealed
    pids = [f"{start}{PAYLOAD}-{unique('csv')}" for start in FORMULA_STARTS]
    entries = [make_entry(sandbox, permissioned_user_id=pid) for pid in pids]
    auth.login("sheet-admin", "admin")
    token = csrf(client)
    index_sync(client, token)
    for entry in entries:
        revealed = hx(
            client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token,
            data={"password": auth.PASSWORD},
        )  # fmt: skip
        assert revealed.status_code == 200, revealed.get_data(as_text=True)[:500]
    stored = _audit_rows(app)
    assert set(agents) <= {r.user_agent for r in stored}
    assert set(pids) <= {r.target_pid for r in stored}

    body = _export(client, "csv")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    header, data = rows[0], rows[1:]
    assert "user_agent" in header and "target_pid" in header
    assert len(data) == len([r for r in stored if r.phase != "attempt"])  # no row split or lost
    hostile = [(r, c) for r, row in enumerate(rows) for c, cell in enumerate(row)
               if cell.startswith(FORMULA_STARTS)]  # fmt: skip
    assert hostile == [], [rows[r][c] for r, c in hostile]
    cells = {cell for row in data for cell in row}
    assert {"'" + agent for agent in agents} <= cells  # shown as text, nothing lost
    assert {"'" + pid for pid in pids} <= cells

    lines = [json.loads(line) for line in _export(client, "jsonl").splitlines()]
    assert set(agents) <= {line["user_agent"] for line in lines}  # JSONL keeps the raw value
    assert set(pids) <= {line["target_pid"] for line in lines}


# --------------------------------------------------------------- finding 6: lockout abuse
def test_failures_from_one_address_do_not_lock_the_operator_out_from_another(app, auth):
    auth.create("victim", "editor")
    limit = app.config["LOGIN_MAX_FAILURES"]
    attacker, victim = app.test_client(), app.test_client()
    for _ in range(limit):
        assert _sign_in(attacker, "victim", "guess-guess-guess", "203.0.113.66").status_code == 401
    # the (victim, attacker address) pair is locked: even the right password is refused there
    assert _sign_in(attacker, "victim", auth.PASSWORD, "203.0.113.66").status_code == 429
    # the victim, from an address that has not failed, still signs in
    response = _sign_in(victim, "victim", auth.PASSWORD, "198.51.100.7")
    assert response.status_code == 303, response.status_code
    # (session protection is "strong": the signed-in browser keeps its address)
    assert victim.get("/entries", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_a_normalised_username_from_the_attacker_does_not_lock_the_victim_elsewhere(app, auth):
    auth.create("cvictim", "viewer")
    limit = app.config["LOGIN_MAX_FAILURES"]
    attacker, victim = app.test_client(), app.test_client()
    for _ in range(limit):
        assert (
            _sign_in(attacker, " CVICTIM ", "guess-guess-guess", "203.0.113.67").status_code == 401
        )
    # counted on the normalised name: the pair is locked under either spelling
    assert _sign_in(attacker, " CVICTIM ", "guess-guess-guess", "203.0.113.67").status_code == 429
    assert _sign_in(attacker, "cvictim", auth.PASSWORD, "203.0.113.67").status_code == 429
    assert _sign_in(victim, "cvictim", auth.PASSWORD, "198.51.100.8").status_code == 303


def test_unknown_usernames_count_only_against_the_address(app, auth):
    auth.create("spray-target", "viewer")
    per_ip = 4 * app.config["LOGIN_MAX_FAILURES"]
    sprayer, other = app.test_client(), app.test_client()
    for i in range(per_ip):
        assert (
            _sign_in(sprayer, f"nobody-{i}", "guess-guess-guess", "203.0.113.68").status_code == 401
        )
    keys = _throttle_keys(app)
    assert not [k for k in keys if k.startswith("user:")], keys  # no per-username rows
    assert [k for k in keys if "203.0.113.68" in k] == ["ip:203.0.113.68"]
    # the address is over its limit across usernames: even a right password is refused there
    assert _sign_in(sprayer, "spray-target", auth.PASSWORD, "203.0.113.68").status_code == 429
    assert _sign_in(sprayer, "nobody-else", "guess-guess-guess", "203.0.113.68").status_code == 429
    assert _sign_in(other, "spray-target", auth.PASSWORD, "198.51.100.9").status_code == 303


# ----------------------------------------------------- finding 7a: huge audit id is a 404
def test_an_audit_event_id_beyond_any_integer_is_404(client, auth):
    auth.login("big-id", "editor")
    assert client.get("/audit/99999999999999999999999").status_code == 404
    assert client.get(f"/audit/{2**63}").status_code == 404
    assert client.get(f"/audit/{2**63 - 1}").status_code == 404


# --------------------------------------------------- finding 8: only http(s) domains link
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://portal.example.com", "http://portal.example.com"),
        ("https://portal.example.com/login?x=1", "https://portal.example.com/login?x=1"),
        ("HTTPS://Portal.Example.com", "HTTPS://Portal.Example.com"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//evil.example/x", None),
        ("/relative/path", None),
        ("portal.example.com", None),
        ("http:///no-host", None),
        ("", None),
        (None, None),
    ],
)
def test_http_url_accepts_only_http_and_https_urls_with_a_host(value, expected):
    from app.web import http_url

    assert http_url(value) == expected


def test_a_javascript_domain_from_upstream_is_shown_but_never_a_link(client, auth, sandbox):
    entry = make_entry(sandbox, user_alias="Hostile domain")
    auth.login("link-editor", "editor")
    index_sync(client)
    raw = requests.get(
        f"{sandbox.base_url}/vault",
        params={"permissioned_user_id": entry.permissioned_user_id, "domain": entry.domain},
        headers={"cc-key": sandbox.api_key},
        timeout=10,
    )
    raw.raise_for_status()
    body = raw.json()
    assert body["id"] == entry.id
    body["domain"] = "javascript:alert(1)"
    # the entry's single read (GET /vault?permissioned_user_id=…&domain=…) answers this once
    sandbox.faults.add("status", method="GET", path="/vault", status=200, body=body, times=1)
    response = client.get(f"/entries/{entry.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert sandbox.faults.list() == []  # the hostile answer was served
    assert "Hostile domain" in page
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", page, re.IGNORECASE)
    assert "javascript:alert(1)" in page  # shown as text


# --------------------------------- finding 9: Qoder archive redirects only to local paths
def test_qoder_archive_never_redirects_to_the_referer_of_another_site(client, auth, other_vaults):
    box = other_vaults["qoder"]
    vault = qoder_vault_id(box, "Support Desk")
    hostile, _ = add_qoder_credential(box, vault)
    local, _ = add_qoder_credential(box, vault)
    auth.login("qoder-redirect", "editor")
    token = csrf(client)

    def archive(credential: str, referer: str):
        return client.post(
            f"/qoder/vaults/{vault}/credentials/{credential}/archive",
            data={"csrf_token": token},
            headers={"Referer": referer},
        )

    response = archive(hostile, "https://evil.example/phish")
    assert response.status_code == 303
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert "evil.example" not in location
    assert parts.netloc in ("", "localhost") and parts.path.startswith("/")
    assert not parts.path.startswith("//")
    assert parts.path == f"/qoder/vaults/{vault}"
    # a page of this site is still where the editor is sent back to
    same_site = archive(local, f"http://localhost/qoder/vaults/{vault}?limit=50")
    assert same_site.status_code == 303
    assert same_site.headers["Location"].endswith(f"/qoder/vaults/{vault}?limit=50")
    assert urlsplit(same_site.headers["Location"]).netloc in ("", "localhost")


# ------------------------------------------------------- finding 11: world-readable data
def test_instance_folder_is_private_and_every_file_in_it_owner_only(tmp_path, sandbox):
    old_umask = os.umask(0o022)  # a usual deployment's umask: the console must not rely on it
    app = None
    try:
        app = make_app(
            tmp_path,
            sandbox,
            UPSTREAM=Upstream(sandbox=True, base_url=None, api_key=None, encryption_key=None),
            OTHER_VAULTS={
                "qoder": OtherVault(sandbox=True, base_url=None, key=None),
                "r4": OtherVault(sandbox=True, base_url=None, key=None),
            },
        )
        client = app.test_client()
        auth = AuthActions(app, client)
        _sign_in(app.test_client(), "perm-admin", "not the password", "203.0.113.70")
        assert auth.login("perm-admin", "admin").status_code == 303
        assert client.get("/entries").status_code == 200  # starts the embedded sandbox
        assert client.get("/qoder").status_code == 200  # and the Qoder one
        assert client.get("/r4").status_code == 200  # and the r4 one
        assert client.get("/readyz").status_code == 200
        instance = Path(app.config["INSTANCE_PATH"])
        names = {p.name for p in instance.rglob("*")}
        expected = {"vault_console.db", "secret_key", "audit_key", "sandbox.db"}
        assert expected <= names, names
        assert {"qoder-sandbox.db", "r4-sandbox.db"} <= names, names
        assert any(n.endswith("-wal") for n in names), names  # SQLite's companions too
        assert {"audit.lock", "vault_console.db.migrate.lock"} <= names, names  # lock files
        wrong = {}
        for path in [instance, *instance.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            want = 0o700 if path.is_dir() else 0o600
            if mode != want:
                wrong[str(path.relative_to(instance.parent))] = oct(mode)
        assert wrong == {}
    finally:
        os.umask(old_umask)
        if app is not None:
            app.extensions["upstream"].close()
            for connection in app.extensions.get("other_vaults", {}).values():
                connection.close()


# ---------------------------------------------- finding 12: passwords in the username field
def test_a_password_typed_as_username_is_audited_only_as_a_fingerprint(app, client, auth):
    typed = "Tr0ub4dor&3-Hunter2!"
    anon = app.test_client()
    assert _sign_in(anon, typed, "anything at all", "203.0.113.71").status_code == 401
    assert _sign_in(anon, f"  {typed}  ", "anything at all", "203.0.113.71").status_code == 401
    rows = _audit_rows(app)
    failures = [r for r in rows if r.action == "auth.login" and r.outcome == "failure"]
    assert len(failures) == 2
    for row in failures:
        assert re.fullmatch(r"unknown:[0-9a-f]{16}", row.operator or ""), row.operator
        assert row.message == f"unknown username ({len(typed)} characters)"
    assert failures[0].operator == failures[1].operator  # the same name, the same fingerprint

    def leaks(text: str) -> bool:
        return typed.lower() in text.lower()

    columns = [c.name for c in AuditEvent.__table__.columns]
    for row in rows:
        assert not [c for c in columns if leaks(str(getattr(row, c)))], row.id
    auth.login("fp-admin", "admin")
    exported = _export(client, "csv")
    assert "unknown username (" in exported and not leaks(exported)
    exported = _export(client, "jsonl")
    assert "unknown username (" in exported and not leaks(exported)


# ------------------------------------------- the session cookie over HTTPS through a proxy
def test_session_cookie_is_secure_over_https_through_a_trusted_proxy(tmp_path, sandbox):
    app = make_app(tmp_path, sandbox, TRUST_PROXY_HEADERS=1, SESSION_COOKIE_SECURE=False)
    try:
        name = app.config["SESSION_COOKIE_NAME"]
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.72"}
        secure_client, plain_client = app.test_client(), app.test_client()
        AuthActions(app, secure_client).create("cookie-op", "viewer")

        page = secure_client.get("/login", headers=https)
        assert _secure(_cookie(page, name))
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
        signed_in = secure_client.post(
            "/login",
            data={
                "username": "cookie-op",
                "password": AuthActions.PASSWORD,
                "csrf_token": token[1],
            },
            headers={**https, "Referer": "https://localhost/login"},
        )
        assert signed_in.status_code == 303
        assert _secure(_cookie(signed_in, name))
        assert signed_in.headers["Strict-Transport-Security"].startswith("max-age=")

        plain = plain_client.get("/login")
        assert not _secure(_cookie(plain, name))
        assert "Strict-Transport-Security" not in plain.headers
        signed_in = AuthActions(app, plain_client).login("cookie-op", "viewer")
        assert signed_in.status_code == 303
        assert not _secure(_cookie(signed_in, name))
    finally:
        app.extensions["upstream"].close()
