"""The audit log: what each action records, secrecy, fail-closed, tamper evidence, views."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select

from app.models import AuditEvent
from app.services import audit, audit_recording, audit_store
from tests.conftest import unique
from tests.entries_support import csrf, fetch, hx, make_entry

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def events(app, **where) -> list[AuditEvent]:
    from app.extensions import db

    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def db_path(app) -> Path:
    return Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))


def test_login_logout_and_failures_are_recorded(app, client, auth):
    auth.create("amy", "editor")
    token = auth.csrf_token()
    client.post(
        "/login",
        data={"username": "amy", "password": "nope-nope-nope", "csrf_token": token},
        headers={"User-Agent": "pytest-agent/1.0"},
    )
    auth.login("amy", "editor")
    auth.logout()
    rows = events(app, action="auth.login")
    assert [r.outcome for r in rows] == ["failure", "success"]
    failed, ok = rows
    assert failed.operator == "amy" and failed.operator_id is None and failed.ip == "127.0.0.1"
    assert failed.user_agent == "pytest-agent/1.0"
    assert ok.operator == "amy" and ok.role == "editor" and ok.operator_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", ok.ts)
    assert re.fullmatch(r"[0-9a-f]{32}", ok.request_id)
    assert [r.outcome for r in events(app, action="auth.logout")] == ["success"]


def test_lockout_is_recorded_as_refused(app, client, auth):
    auth.create("ben", "viewer")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        token = auth.csrf_token()
        client.post("/login", data={"username": "ben", "password": "x" * 12, "csrf_token": token})
    outcomes = [r.outcome for r in events(app, action="auth.login")]
    assert outcomes.count("failure") == app.config["LOGIN_MAX_FAILURES"]
    assert outcomes[-1] == "refused"


def test_reveal_sudo_and_code_views_are_recorded(app, client, auth, sandbox):
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret=SECRET)
    auth.login("cat", "editor")
    token = csrf(client)
    path = f"/entries/{entry.id}/secrets/password/reveal"
    hx(client, "POST", path, token, data={"password": "wrong password!"})
    hx(client, "POST", path, token, data={"password": auth.PASSWORD})
    hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    assert [r.outcome for r in events(app, action="auth.sudo")] == ["failure", "success"]
    reveal = events(app, action="entry.password.reveal")
    assert [(r.phase, r.outcome) for r in reveal] == [("attempt", "attempt"), ("result", "success")]
    assert reveal[0].request_id == reveal[1].request_id
    assert reveal[1].target_id == entry.id and reveal[1].target_pid == entry.permissioned_user_id
    assert reveal[1].duration_ms is not None
    view = events(app, action="entry.tfa_code.view")
    assert view[-1].outcome == "success" and "authenticator" in view[-1].message


def _create(client, **fields):
    token = csrf(client, "/entries/new")
    data = {
        "csrf_token": token,
        "permissioned_user_id": unique("audited"),
        "domain": "https://audit.example.com",
        "source": "stored",
        "user_name": "audit-user@example.com",
        "password": "Audited-Pa55!",
        "tfa_method": "AUTHENTICATOR",
        "tfa_secret": SECRET,
        "proxy_setting": "custom",
        "proxy_value": "socks5://u:pr0xyp4ss@proxy.example.net:1080",
        "local_storage": '{"token": "storage-secret-value"}',
        "user_alias": "Audited entry",
    }
    data.update(fields)
    return data, client.post("/entries/new", data=data)


def test_create_records_fields_before_after_and_fingerprints_only(app, client, auth, sandbox):
    auth.login("dan", "editor")
    data, response = _create(client)
    assert response.status_code == 303
    attempt, result = events(app, action="entry.create")[-2:]
    assert (attempt.phase, result.phase, result.outcome) == ("attempt", "result", "success")
    assert result.target_id and result.target_pid == data["permissioned_user_id"]
    fields = json.loads(result.fields)
    assert {"user_name", "password", "tfa_secret", "proxy_value", "user_alias"} <= set(fields)
    changes = json.loads(result.changes)
    assert changes["user_alias"] == {"after": "Audited entry"}
    for secret_field in ("user_name", "password", "tfa_secret", "proxy_value"):
        assert set(changes[secret_field]) == {"changed", "fingerprint"}
    assert changes["local_storage"]["items"] == 1
    # equal secrets give equal fingerprints, without the value being stored
    log = app.extensions["audit"]
    assert changes["password"]["fingerprint"] == log.fingerprint("password", "Audited-Pa55!")


def test_refused_and_failed_creates_are_recorded(app, client, auth, sandbox):
    auth.login("eli", "editor")
    _, response = _create(client, domain="http://localhost:1")
    assert response.status_code == 422
    refused = events(app, action="entry.create")[-1]
    assert refused.outcome == "refused" and "domain" in json.loads(refused.fields)
    sandbox.faults.add("status", status=503, method="POST", path="/vault")
    _, response = _create(client)
    failed = events(app, action="entry.create")[-1]
    assert (failed.outcome, failed.status) == ("failure", 503)
    assert "503" in failed.message


def test_delete_and_clear_state_are_recorded_with_before_values(app, client, auth, sandbox):
    entry = make_entry(sandbox, local_storage={"k": "v"}, user_alias="To be deleted")
    auth.login("fay", "admin")
    token = csrf(client)
    hx(client, "POST", f"/entries/{entry.id}/clear-state", token)
    hx(client, "POST", f"/entries/{entry.id}/delete", token, data={"confirm": "wrong"})
    hx(client, "POST", f"/entries/{entry.id}/delete", token,
       data={"confirm": entry.permissioned_user_id})  # fmt: skip
    assert events(app, action="entry.clear_state")[-1].outcome == "success"
    deletes = events(app, action="entry.delete")
    assert [r.outcome for r in deletes] == ["refused", "attempt", "success"]
    before = json.loads(deletes[-1].changes)
    assert before["user_alias"] == {"before": "To be deleted"}
    assert before["password"] == {"before": "set"}


def test_operator_cli_changes_are_recorded(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["operator", "create", "gil", "--role", "viewer"])
    runner.invoke(args=["operator", "create", "hal", "--role", "admin"])
    runner.invoke(args=["operator", "set-role", "gil", "editor"])
    runner.invoke(args=["operator", "disable", "gil"])
    rows = [r for r in events(app) if r.action.startswith("operator.")]
    assert [r.action for r in rows] == [
        "operator.create", "operator.create", "operator.role_change", "operator.disable",
    ]  # fmt: skip
    assert all(r.operator == "cli" for r in rows)
    assert json.loads(rows[2].changes) == {"role": {"before": "viewer", "after": "editor"}}


def test_no_secret_reaches_the_database_file_or_the_logs(app, client, auth, sandbox, log_stream):
    auth.login("ivy", "admin")
    data, _ = _create(client)
    entry = fetch(sandbox, data["permissioned_user_id"], data["domain"], decrypt=False)
    token = csrf(client)
    for field in ("password", "user_name", "tfa_secret", "proxy_value"):
        hx(client, "POST", f"/entries/{entry.id}/secrets/{field}/reveal", token,
           data={"password": auth.PASSWORD})  # fmt: skip
    hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    with app.app_context():
        from sqlalchemy import text

        from app.extensions import db

        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    forbidden = {
        "audit-user@example.com", "Audited-Pa55!", SECRET, "pr0xyp4ss",
        "storage-secret-value", auth.PASSWORD,
        entry.user_name, entry.password, entry.tfa_secret, entry.proxy_value,
    }  # fmt: skip
    path = db_path(app)
    blobs = [path.read_bytes()] + [
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    ]
    for secret in forbidden:
        for blob in blobs:
            assert secret.encode() not in blob, secret[:12]
        assert secret not in log_stream.getvalue(), secret[:12]
    assert len(events(app)) > 10


def test_audit_events_also_go_to_the_log_sink(app, client, auth, log_stream):
    auth.login("jan", "viewer")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    sink = [
        line["audit"] for line in lines if line.get("logger") == "app.audit" and "audit" in line
    ]
    stored = events(app)
    assert [(e["id"], e["hash"]) for e in sink] == [(e.id, e.hash) for e in stored]


# --------------------------------------------------------------- fail closed


def test_read_only_database_blocks_the_change_upstream(app, client, auth, sandbox):
    auth.login("kim", "editor")
    log = app.extensions["audit"]
    read_only = create_engine(f"sqlite:///file:{db_path(app)}?mode=ro&uri=true")
    event.listen(read_only, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    event.listen(read_only, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    log.engine = read_only
    data, response = _create(client)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "audit log could not be written" in html and "not carried out" in html
    from cloudcruise.vault.types import GetVaultEntriesFilters

    from tests.entries_support import sdk_for

    with pytest.raises(RuntimeError):  # nothing was created upstream
        sdk_for(sandbox).vault.get(
            GetVaultEntriesFilters(
                permissioned_user_id=data["permissioned_user_id"], domain=data["domain"]
            )
        )
    entry = make_entry(sandbox)
    token = csrf(client)
    reveal = hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token,
                data={"password": auth.PASSWORD})  # fmt: skip
    assert reveal.status_code == 503 and "Corr3ct-Horse!" not in reveal.get_data(as_text=True)


# --------------------------------------------------------------- tamper evidence


def _seed_events(app, n=6):
    with app.app_context():
        for i in range(n):
            audit.record("test.event", "success", message=f"event {i}",
                         actor=audit.Actor(None, "cli", None))  # fmt: skip


def _tamper(app, *statements):
    conn = sqlite3.connect(db_path(app))
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DROP TRIGGER audit_events_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_verify_passes_on_an_intact_chain(app):
    _seed_events(app)
    result = _verify(app)
    assert result.exit_code == 0 and "Chain intact: 6 events verified." in result.output


def test_triggers_refuse_updates_and_deletes(app):
    _seed_events(app, 2)
    conn = sqlite3.connect(db_path(app))
    for statement in ("UPDATE audit_events SET message='x'", "DELETE FROM audit_events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("statements", "bad_id", "fragment"),
    [
        (["UPDATE audit_events SET message='rewritten' WHERE id=3"], 3, "was edited"),
        (["DELETE FROM audit_events WHERE id=3"], 3, "deleted or inserted"),
        (
            [
                "UPDATE audit_events SET id=100 WHERE id=4",
                "UPDATE audit_events SET id=4 WHERE id=3",
                "UPDATE audit_events SET id=3 WHERE id=100",
            ],
            3,
            "link to the previous event",
        ),
        (
            [
                "UPDATE audit_events SET id=id+100 WHERE id>=3",
                "INSERT INTO audit_events (id, ts, phase, action, outcome, prev_hash, hash)"
                " SELECT 3, ts, phase, action, outcome, prev_hash, 'forged' FROM audit_events"
                " WHERE id=2",
                "UPDATE audit_events SET id=id-99 WHERE id>=103",
            ],
            3,
            "link to the previous event",
        ),
    ],
    ids=["edited", "deleted", "reordered", "inserted"],
)
def test_verify_names_the_first_broken_link(app, statements, bad_id, fragment):
    _seed_events(app)
    _tamper(app, *statements)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"Chain broken at event #{bad_id}" in result.output and fragment in result.output


def _verified_page(client):
    """POST a full verification (it runs in the background) and wait for its result."""
    import time

    client.post("/audit/verify", data={"csrf_token": csrf(client, "/audit")})
    for _ in range(200):
        html = client.get("/audit").get_data(as_text=True)
        if "Verifying the whole chain" not in html:
            return html
        time.sleep(0.05)
    raise AssertionError("verification did not finish")


def test_admin_page_shows_chain_status(app, client, auth):
    auth.login("lia", "admin")
    first = client.get("/audit").get_data(as_text=True)
    assert "Not verified yet" in first  # a full walk never runs inside a page view
    assert "Chain intact" in _verified_page(client)
    auth.logout()
    auth.login("lia", "admin")  # new events since the checkpoint are checked on each view
    assert "Chain intact" in client.get("/audit").get_data(as_text=True)
    _tamper(app, "UPDATE audit_events SET message='rewritten' WHERE id=1")
    page = _verified_page(client)
    assert "Chain broken at event #1" in page and "was edited" in page


def _seed_old_events(app, monkeypatch, n=5):
    """Events appended as they would have been in 2020 (the clock the chain reads)."""
    monkeypatch.setattr(audit_store, "now_iso", lambda: "2020-01-01T00:00:00.000000Z")
    _seed_events(app, n)
    monkeypatch.undo()


def test_prune_keeps_checkpoints_meaningful_so_no_false_alarm(app, client, auth, tmp_path,
                                                             monkeypatch):  # fmt: skip
    _seed_old_events(app, monkeypatch, 4)
    auth.login("mo", "admin")
    assert "Chain intact" in _verified_page(client)
    result = app.test_cli_runner().invoke(
        args=["audit", "prune", "--before", "2021-01-01", "--archive", str(tmp_path / "a.jsonl")]
    )
    assert result.exit_code == 0, result.output
    page = client.get("/audit").get_data(as_text=True)
    assert "Chain broken" not in page and "Chain intact" in page
    assert "Pruned events" in page and "Events <strong>#1–#4</strong>" in page


def test_prune_archives_and_keeps_the_rest_verifiable(app, tmp_path, monkeypatch):
    _seed_old_events(app, monkeypatch, 5)
    with app.app_context():
        last = audit.record("test.event", "success", message="kept",
                            actor=audit.Actor(None, "cli", None))  # fmt: skip
    archive = tmp_path / "archive.jsonl"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["audit", "prune", "--before", "2021-01-01", "--archive", str(archive)]
    )
    assert result.exit_code == 0, result.output
    # the kept event, and the prune's own attempt and result events
    assert "Archived 5 events" in result.output
    assert "Chain intact: 3 events verified." in result.output
    lines = [json.loads(line) for line in archive.read_text().splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3, 4, 5]
    kept = events(app)
    assert kept[0].id == last["id"] == 6
    assert [e.action for e in kept[1:]] == ["audit.pruned", "audit.pruned"]
    assert "archive sha256" in kept[-1].message and kept[-1].operator == "cli"
    with app.app_context():
        audit.record("test.event", "success", actor=audit.Actor(None, "cli", None))
    assert "Chain intact: 4 events verified." in _verify(app).output
    again = runner.invoke(
        args=["audit", "prune", "--before", "2021-01-01", "--archive", str(archive)]
    )
    assert "nothing pruned" in again.output or "already exists" in again.output


# --------------------------------------------------------------- views


def test_viewers_cannot_see_the_audit_log(client, auth):
    auth.login("max", "viewer")
    assert client.get("/audit").status_code == 403
    assert "Audit log" not in client.get("/entries").get_data(as_text=True)


def test_audit_page_filters_and_keyset_pages(app, client, auth):
    with app.app_context():
        for i in range(130):
            audit.record(
                "entry.delete" if i % 2 else "entry.create",
                "failure" if i % 10 == 0 else "success",
                target={"id": f"entry-{i % 3}", "permissioned_user_id": f"user-{i % 3}"},
                actor=audit.Actor(None, "cli" if i % 5 else "robot", None),
                message=f"needle-{i}" if i == 77 else None,
            )
    auth.login("nia", "editor")
    first = client.get("/audit").get_data(as_text=True)
    ids = [int(x) for x in re.findall(r'aria-label="Details of event (\d+)"', first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'href="(/audit\?before=\d+)"', first)[1]
    second = client.get(older).get_data(as_text=True)
    ids2 = [int(x) for x in re.findall(r'aria-label="Details of event (\d+)"', second)]
    assert max(ids2) == min(ids) - 1 and len(ids2) == 50
    newer = re.search(r'href="(/audit\?after=\d+)"', second)[1]
    assert re.findall(r'event (\d+)"', client.get(newer).get_data(as_text=True))[:1] == [
        str(ids[0])
    ]

    def found(query):
        html = client.get(f"/audit?{query}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in html
        return html

    assert "needle-77" not in found("q=needle-77")  # message is not shown in the list…
    assert len(re.findall(r"Details of event", found("q=needle-77"))) == 1  # …but is searched
    robot = found("operator=robot")
    assert len(re.findall(r"Details of event", robot)) == 26
    failures = found("outcome=failure&action=entry.create")
    assert len(re.findall(r"Details of event", failures)) == 13
    assert "Nothing has been recorded" not in found("entry=entry-1")
    assert "No events match" in found("since=2001-01-01&until=2001-01-02")


def test_event_detail_shows_the_field_diff(app, client, auth, sandbox):
    auth.login("ola", "editor")
    _create(client)
    result = events(app, action="entry.create")[-1]
    html = client.get(f"/audit/{result.id}").get_data(as_text=True)
    assert "secret changed" in html and "<code>&#34;Audited entry&#34;</code>" not in html
    assert '<code>"Audited entry"</code>' in html and "1 item<" in html
    assert "Audited-Pa55!" not in html
    assert "Same request" in html  # the attempt is linked through the request id


def test_entry_history_fragment(app, client, auth, sandbox):
    entry = make_entry(sandbox, local_storage={"k": "v"})
    auth.login("pam", "editor")
    token = csrf(client)
    hx(client, "POST", f"/entries/{entry.id}/clear-state", token)
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert f'hx-get="/audit/entry/{entry.id}"' in page
    fragment = hx(client, "GET", f"/audit/entry/{entry.id}").get_data(as_text=True)
    # opened as a page of its own: the audit log filtered to the entry (never a bare fragment)
    direct = client.get(f"/audit/entry/{entry.id}")
    assert direct.status_code == 303 and direct.headers["Location"].endswith(
        f"/audit?entry={entry.id}"
    )
    assert "Browser state cleared" in fragment and "pam" in fragment
    assert f"/audit?entry={entry.id}" in fragment


def test_export_needs_admin_and_password_and_is_audited(app, client, auth):
    _seed_events(app, 3)
    auth.login("quin", "editor")
    assert (
        client.post("/audit/export", data={"csrf_token": csrf(client, "/audit")}).status_code == 403
    )
    auth.logout()
    auth.login("rae", "admin")
    token = csrf(client, "/audit")
    refused = client.post("/audit/export", data={"csrf_token": token, "format": "csv",
                                                 "password": "wrong"})  # fmt: skip
    assert refused.status_code == 303
    form = {"csrf_token": token, "format": "csv", "password": auth.PASSWORD, "action": "auth."}
    response = client.post("/audit/export", data=form)
    body = response.get_data(as_text=True)
    assert response.headers["Content-Disposition"].startswith("attachment;")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and {r["action"] for r in rows} <= {"auth.login", "auth.sudo", "auth.logout"}
    everything = client.post("/audit/export", data={"csrf_token": token, "format": "jsonl"})
    lines = [json.loads(x) for x in everything.get_data(as_text=True).splitlines()]
    assert {"test.event", "auth.login"} <= {x["action"] for x in lines}
    assert all(set(x) >= {"hash", "prev_hash", "ts", "operator"} for x in lines)
    exports = [r for r in events(app, action="audit.export") if r.phase == "result"]
    assert len(exports) == 2 and "jsonl export of" in exports[-1].message


# --------------------------------------------------------------- exact building blocks


def _offline_log(key: str = "k1") -> audit_store.AuditLog:
    from sqlalchemy import create_engine

    return audit_store.AuditLog(create_engine("sqlite://"), key, "/tmp/audit.lock")


def _digest(key: bytes, message: str) -> str:
    import hashlib
    import hmac

    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def test_canonical_text_keyed_and_legacy():
    row = {"id": 7, "action": "x.y", "message": "café", "chain": 2, "hash": "not hashed"}
    keyed = {name: row.get(name) for name in sorted(audit_store.COLUMNS)}
    assert audit_store.canonical(row) == json.dumps(keyed, separators=(",", ":"))
    assert '"chain":2,' in audit_store.canonical(row) and "caf\\u00e9" in audit_store.canonical(row)
    assert '"hash"' not in audit_store.canonical(row) and ", " not in audit_store.canonical(row)
    legacy = {**row, "chain": None}
    expected = {name: legacy.get(name) for name in sorted(audit_store.COLUMNS) if name != "chain"}
    assert audit_store.canonical(legacy) == json.dumps(expected, separators=(",", ":"))
    assert '"chain"' not in audit_store.canonical(legacy)


def test_chain_key_and_links_are_exact():
    import hashlib
    import hmac

    key = hmac.new(b"secret", b"vault-console audit chain v2", hashlib.sha256).digest()
    assert audit_store.chain_key("secret") == key == audit_store.chain_key(b"secret")
    assert _offline_log("secret").chain_key == key
    legacy = {"id": 1, "chain": None}
    plain = hashlib.sha256(("p" + audit_store.canonical(legacy)).encode()).hexdigest()
    assert audit_store.chain_hash("p", legacy) == plain == audit_store.chain_hash("p", legacy, key)
    keyed = {"id": 1, "chain": 2}
    assert (
        audit_store.chain_hash("p", keyed, key)
        == hmac.new(key, ("p" + audit_store.canonical(keyed)).encode(), hashlib.sha256).hexdigest()
    )
    with pytest.raises(ValueError, match=r"^a keyed event needs the chain key$"):
        audit_store.chain_hash("p", keyed)


def test_clip_collapses_whitespace_and_cuts_at_the_limit():
    assert audit_store._clip(None) is None
    assert audit_store._clip("  a \n\t b  ") == "a b"
    assert audit_store._clip(5) == "5"
    assert audit_store._clip("x" * 500) == "x" * 500
    assert audit_store._clip("x" * 501) == "x" * 499 + "…"
    assert audit_store._clip("abcd", 3) == "ab…" and audit_store._clip("abc", 3) == "abc"


def test_is_secret_change():
    assert all(audit.is_secret_change(n, {}) for n in ("user_name", "password", "tfa_secret"))
    assert audit.is_secret_change("proxy_value", {"proxy_setting": "custom"})
    assert not audit.is_secret_change("proxy_value", {"proxy_setting": "none"})
    assert not audit.is_secret_change("proxy_value", {})
    assert not audit.is_secret_change("user_alias", {"proxy_setting": "custom"})


def test_fingerprint_is_stable_and_keyed_per_field():
    from datetime import date

    log = _offline_log("k1")
    assert log.fingerprint("password", "s3cret") == _digest(b"k1", 'password\x00"s3cret"')[:32]
    assert (
        log.fingerprint("cookies", {"b": 1, "a": [2]})
        == (_digest(b"k1", 'cookies\x00{"a": [2], "b": 1}')[:32])
    )
    assert log.fingerprint("x", date(2020, 1, 2)) == _digest(b"k1", 'x\x00"2020-01-02"')[:32]
    assert log.fingerprint("password", "s3cret") == _offline_log("k1").fingerprint(
        "password", "s3cret"
    )
    assert log.fingerprint("password", "s3cret") != _offline_log("k2").fingerprint(
        "password", "s3cret"
    )
    assert log.fingerprint("password", "s3cret") != log.fingerprint("user_name", "s3cret")


def test_describe_changes_exact_records():
    log = _offline_log()
    fp = log.fingerprint
    after = {
        "id": "e1", "permissioned_user_id": "p1", "domain": "https://new.example",
        "password": "pw", "tfa_secret": None, "proxy_setting": "custom", "proxy_value": "socks",
        "local_storage": {"a": 1, "b": 2}, "cookies": [], "session_storage": "raw",
        "user_alias": "Same",
    }  # fmt: skip
    before = {"id": "e1", "permissioned_user_id": "p1", "domain": "https://old.example",
              "user_alias": "Same"}  # fmt: skip
    assert log.describe_changes(after, before) == {
        "domain": {"after": "https://new.example", "before": "https://old.example"},
        "password": {"changed": True, "fingerprint": fp("password", "pw")},
        "tfa_secret": {"changed": True, "cleared": True},
        "proxy_setting": {"after": "custom", "before": None},
        "proxy_value": {"changed": True, "fingerprint": fp("proxy_value", "socks")},
        "local_storage": {"changed": True, "items": 2,
                          "fingerprint": fp("local_storage", {"a": 1, "b": 2})},
        "cookies": {"changed": True, "items": 0},
        "session_storage": {"changed": True, "items": 0,
                            "fingerprint": fp("session_storage", "raw")},
        "user_alias": {"after": "Same", "before": "Same"},
    }  # fmt: skip
    # without a before, ids are recorded as plain "after" values
    assert log.describe_changes({"id": "e1", "proxy_value": "direct"}) == {
        "id": {"after": "e1"},
        "proxy_value": {"after": "direct"},
    }
    # an explicit secret set decides alone (a custom proxy URL changed without its mode)
    assert log.describe_changes(
        {"proxy_value": "socks", "password": "pw"}, secret={"proxy_value"}
    ) == {
        "proxy_value": {"changed": True, "fingerprint": fp("proxy_value", "socks")},
        "password": {"after": "pw"},
    }
    assert log.describe_changes({"cookies": None}) == {"cookies": {"changed": True, "items": 0}}
    # an unchanged target identity is left out, whatever else changed
    same = {"id": "e1", "permissioned_user_id": "p1", "domain": "d", "user_alias": "x"}
    assert log.describe_changes(
        same, {"id": "e1", "permissioned_user_id": "p1", "domain": "d"}
    ) == {"user_alias": {"after": "x", "before": None}}


class _Entry:
    def __init__(self, data, secrets):
        self.data, self.secrets = data, secrets

    def to_mapping(self):
        return self.data

    def has_secret(self, name):
        return name in self.secrets


def test_snapshot_keeps_plain_values_and_hides_secrets():
    log = _offline_log()
    entry = _Entry(
        {"user_alias": "A", "password": "pw", "user_name": "", "tfa_secret": "x",
         "proxy_value": "socks", "local_storage": {"a": 1}, "cookies": [], "count": 3,
         "ratio": 0.5, "flag": False, "none": None, "nested": {"x": 1}},
        secrets={"password", "tfa_secret", "proxy_value"},
    )  # fmt: skip
    assert log.snapshot(entry) == {
        "count": {"before": 3}, "cookies": {"before": None}, "flag": {"before": False},
        "local_storage": {"before": "1 items"}, "none": {"before": None},
        "password": {"before": "set"}, "proxy_value": {"before": "set"},
        "ratio": {"before": 0.5}, "tfa_secret": {"before": "set"},
        "user_alias": {"before": "A"}, "user_name": {"before": None},
    }  # fmt: skip
    plain = _Entry({"proxy_value": "direct"}, secrets=set())
    assert log.snapshot(plain) == {"proxy_value": {"before": "direct"}}
    assert log.snapshot({"b": 1, "a": "x"}) == {"a": {"before": "x"}, "b": {"before": 1}}
    assert list(log.snapshot({"b": 1, "a": "x"})) == ["a", "b"]


def test_lock_path_only_for_sqlite(tmp_path):
    from types import SimpleNamespace

    assert _offline_log().lock_path == "/tmp/audit.lock"
    other = SimpleNamespace(dialect=SimpleNamespace(name="postgresql"))
    assert audit_store.AuditLog(other, "k", "/tmp/audit.lock").lock_path is None
    lock = tmp_path / "sub" / "audit.lock"
    with audit_store._host_lock(str(lock)):
        assert lock.exists()
    with audit_store._host_lock(None):
        pass


def test_appends_are_serialised_per_dialect():
    from types import SimpleNamespace

    calls = []
    sqlite_conn = SimpleNamespace(
        dialect=SimpleNamespace(name="sqlite"),
        exec_driver_sql=lambda sql: calls.append(sql),
        execute=lambda *a: calls.append(a),
    )
    audit_store._serialise_appends(sqlite_conn)
    assert calls == ["BEGIN IMMEDIATE"]
    calls.clear()
    pg_conn = SimpleNamespace(
        dialect=SimpleNamespace(name="postgresql"),
        exec_driver_sql=lambda sql: calls.append(sql),
        execute=lambda stmt, params: calls.append((str(stmt), params)),
    )
    audit_store._serialise_appends(pg_conn)
    assert calls == [("SELECT pg_advisory_xact_lock(:key)", {"key": 0x76_6361_7564_6974})]


def test_target_and_batch_ids():
    assert audit_recording._target(None) == {}
    assert audit_recording._target({"id": 7, "permissioned_user_id": "p", "domain": "d"}) == {
        "target_id": "7", "target_pid": "p", "target_domain": "d",
    }  # fmt: skip
    from types import SimpleNamespace

    assert audit_recording._target(SimpleNamespace(id="", domain="d")) == {
        "target_id": None, "target_pid": None, "target_domain": "d",
    }  # fmt: skip
    batch = audit.new_batch_id()
    assert re.fullmatch(r"[0-9a-f]{32}", batch) and batch != audit.new_batch_id()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", audit_store.now_iso())


def _sink(log_stream, key: str) -> list[dict]:
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    return [line for line in lines if key in line]


def test_append_stores_exact_rows_and_links_them(app, log_stream):
    log = app.extensions["audit"]
    assert log.lock_path == f"{app.config['INSTANCE_PATH']}/audit.lock"
    with app.app_context():
        first = log.append(
            action="test.event", outcome="success", phase="event",
            message="  two \n words ", user_agent="x" * 600,
            fields=["b", "a"], changes={"b": "é", "a": datetime_value()},
        )  # fmt: skip
        second = log.append(action="test.event", outcome="success", phase="event",
                            fields='["raw"]', changes=None)  # fmt: skip
    assert (first["id"], first["prev_hash"], first["chain"]) == (1, audit_store.GENESIS, 2)
    assert first["message"] == "two words" and first["user_agent"] == "x" * 499 + "…"
    assert first["fields"] == '["b", "a"]'
    assert first["changes"] == '{"a": "2020-01-02", "b": "\\u00e9"}'
    assert first["hash"] == audit_store.chain_hash(audit_store.GENESIS, first, log.chain_key)
    assert (second["id"], second["prev_hash"]) == (2, first["hash"])
    assert Path(log.lock_path).exists()  # appenders on this host queue on the file lock
    assert second["fields"] == '["raw"]' and second["changes"] is None
    stored = events(app)
    assert [(e.id, e.hash, e.chain) for e in stored] == [(1, first["hash"], 2),
                                                         (2, second["hash"], 2)]  # fmt: skip
    assert stored[0].message == "two words" and stored[0].ts == first["ts"]
    sink = _sink(log_stream, "audit")
    assert [line["msg"] for line in sink] == ["audit test.event success"] * 2
    assert sink[0]["audit"]["hash"] == first["hash"]


def datetime_value():
    from datetime import date

    return date(2020, 1, 2)


def test_append_continues_from_the_newest_anchor_when_the_table_is_empty(app):
    conn = sqlite3.connect(db_path(app))
    for first_kept, anchor_hash in ((4, "a" * 64), (9, "b" * 64)):
        conn.execute(
            "INSERT INTO audit_anchors (created_at, pruned_before, first_kept_id, anchor_hash,"
            " archived_count, archive_path, archive_sha256) VALUES ('2026-01-01 00:00:00',"
            f" '2026-01-01', {first_kept}, '{anchor_hash}', 3, '/dev/null', 'x')"
        )
    conn.commit()
    conn.close()
    with app.app_context():
        row = app.extensions["audit"].append(action="test.event", outcome="success", phase="event")
    assert (row["id"], row["prev_hash"]) == (9, "b" * 64)


def test_append_writes_checkpoints_exactly_at_multiples(app, monkeypatch, log_stream):
    from app.services import audit_checkpoints

    monkeypatch.setattr(audit_store, "CHECKPOINT_EVERY", 2)
    _seed_events(app, 5)
    stored = events(app)
    with sqlite3.connect(db_path(app)) as conn:
        rows = conn.execute(
            "SELECT through_id, through_hash, event_count, full FROM audit_checkpoints"
        ).fetchall()
    assert rows == [(2, stored[1].hash, 2, 0), (4, stored[3].hash, 4, 0)]
    logged = [line["audit_checkpoint"] for line in _sink(log_stream, "audit_checkpoint")]
    assert [(p["through_id"], p["through_hash"], p["event_count"]) for p in logged] == [
        (2, stored[1].hash, 2), (4, stored[3].hash, 4),
    ]  # fmt: skip
    key = app.extensions["audit"].chain_key
    assert all(audit_checkpoints.Checkpoint(**p).valid(key) for p in logged)
    assert [line["msg"] for line in _sink(log_stream, "audit_checkpoint")] == [
        "audit checkpoint #2", "audit checkpoint #4",
    ]  # fmt: skip


def _broken_engine(app, monkeypatch):
    read_only = create_engine(f"sqlite:///file:{db_path(app)}?mode=ro&uri=true")
    event.listen(read_only, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    monkeypatch.setattr(app.extensions["audit"], "engine", read_only)


def test_a_failed_append_raises_and_logs(app, monkeypatch, log_stream):
    _seed_events(app, 1)
    _broken_engine(app, monkeypatch)
    with app.app_context(), pytest.raises(audit.AuditUnavailable) as caught:
        audit.record("test.event", "success", actor=audit.Actor(None, "cli", None))
    assert str(caught.value) == (
        "The audit log could not be written, so the action was not carried out. "
        "Ask an admin to check the console database."
    )
    assert caught.value.__cause__ is None
    failed = _sink(log_stream, "audit_action")
    assert [(f["msg"], f["audit_action"], f["error"]) for f in failed] == [
        ("audit write failed", "test.event", "OperationalError")
    ]


def test_record_passes_every_field(app):
    actor = audit.Actor(3, "amy", "admin", "10.0.0.1", "agent/1", "req-1")
    with app.app_context():
        audit.record(
            "entry.update", "failure", target={"id": 5, "permissioned_user_id": "p",
                                                "domain": "d"},
            fields={"b", "a"}, changes={"a": {"after": 1}}, status=502, message="m",
            batch_id="batch", actor=actor, duration_ms=1.5,
            operator_override={"operator": "bob", "operator_id": None},
        )  # fmt: skip
        audit.record("auth.logout", "success", changes={}, actor=actor)
    full, bare = events(app)
    assert (full.action, full.outcome, full.phase, full.batch_id, full.status) == (
        "entry.update", "failure", "event", "batch", 502,
    )  # fmt: skip
    assert (full.message, full.duration_ms, full.fields) == ("m", 1.5, '["a", "b"]')
    assert json.loads(full.changes) == {"a": {"after": 1}}
    assert (full.target_id, full.target_pid, full.target_domain) == ("5", "p", "d")
    assert (full.operator, full.operator_id, full.role) == ("bob", None, "admin")
    assert (full.ip, full.user_agent, full.request_id) == ("10.0.0.1", "agent/1", "req-1")
    assert (bare.phase, bare.changes, bare.fields, bare.operator_id) == ("event", None, None, 3)
    assert (bare.target_id, bare.status, bare.message) == (None, None, None)


def test_current_actor_outside_and_inside_a_request(app):
    with app.app_context():
        assert audit.current_actor() == audit.Actor(None, "cli", None)
    with app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": "10.1.2.3"}, headers={"User-Agent": "ua/2"}
    ):
        from flask import g

        g.request_id = "rid"
        assert audit.current_actor() == audit.Actor(None, None, None, "10.1.2.3", "ua/2", "rid")
    with app.test_request_context("/", headers={"User-Agent": ""}):
        assert audit.current_actor().user_agent is None
        assert audit.current_actor().request_id is None


def test_attempt_records_once_with_duration_and_outcome(app, monkeypatch, log_stream):
    from types import SimpleNamespace

    clock = iter([100.0, 101.234567])
    monkeypatch.setattr(audit_recording, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    cli = audit.Actor(None, "cli", None)
    with app.app_context():
        ok = audit.attempt("entry.create", actor=cli, message="going")
        ok.success(target={"id": "e9", "permissioned_user_id": "p9", "domain": "d9"})
        monkeypatch.undo()
        ok.success()
        ok.failure(RuntimeError("late"))
        plain = audit_recording.Attempt("entry.delete", actor=cli)
        assert plain.done is False
        plain.success()
        assert plain.done is True

        class Upstream(Exception):
            status = 503
            message = "upstream down"

        bad = audit.attempt("entry.update", actor=cli)
        bad.failure(Upstream())
        other = audit.attempt("entry.update", actor=cli)
        other.failure(ValueError("plain text"))
    rows = events(app)
    assert [(r.action, r.phase, r.outcome) for r in rows] == [
        ("entry.create", "attempt", "attempt"), ("entry.create", "result", "success"),
        ("entry.delete", "attempt", "attempt"), ("entry.delete", "result", "success"),
        ("entry.update", "attempt", "attempt"), ("entry.update", "result", "failure"),
        ("entry.update", "attempt", "attempt"), ("entry.update", "result", "failure"),
    ]  # fmt: skip
    assert rows[0].duration_ms is None and rows[0].message == "going"
    assert rows[1].duration_ms == 1234.57
    assert (rows[1].message, rows[1].target_id, rows[1].target_pid) == ("going", "e9", "p9")
    assert rows[3].target_id is None and rows[3].duration_ms < 1000
    assert (rows[5].status, rows[5].message) == (503, "upstream down")
    assert (rows[7].status, rows[7].message) == (None, "plain text")
    # the upstream call happened: a failed result write is logged, never raised
    with app.app_context():
        late = audit.attempt("entry.delete", actor=cli)
        monkeypatch.setattr(audit_recording, "time", SimpleNamespace(perf_counter=lambda: 0.0))
        _broken_engine(app, monkeypatch)
        late.success()
        assert late.done
    lost = [line for line in _sink(log_stream, "audit_action")
            if line["msg"] == "audit result write failed after upstream call"]  # fmt: skip
    assert [line["audit_action"] for line in lost] == ["entry.delete"]


def test_timestamps_are_utc_whatever_the_host_zone(app, monkeypatch):
    """Hosts in another zone still stamp events (and checkpoints) in UTC, as the Z says."""
    import time
    from datetime import UTC, datetime

    from app.services import audit_verify

    monkeypatch.setenv("TZ", "XYZ-5:30")  # UTC+5:30, no tz database needed
    time.tzset()
    try:
        before = datetime.now(UTC)
        stamp = datetime.fromisoformat(audit_store.now_iso().replace("Z", "+00:00"))
        _seed_events(app, 1)
        with app.app_context():
            audit_verify.verify_and_checkpoint(app.extensions["audit"])
        with sqlite3.connect(db_path(app)) as conn:
            (verified_at,) = conn.execute("SELECT verified_at FROM audit_checkpoints").fetchone()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert abs((stamp - before).total_seconds()) < 60
    checkpointed = datetime.fromisoformat(verified_at).replace(tzinfo=UTC)
    assert abs((checkpointed - before).total_seconds()) < 60


def test_search_matches_what_the_rows_show(app, client, auth, sandbox):
    """Action labels (what the Action column says) and entry aliases are searchable."""
    from tests.entries_support import index_sync, make_entry

    entry = make_entry(sandbox, user_alias="Quokka payroll login")
    with app.app_context():
        audit.record("entry.password.reveal", "success", actor=audit.Actor(None, "cli", None),
                     target={"id": entry.id, "permissioned_user_id": entry.permissioned_user_id,
                             "domain": entry.domain})  # fmt: skip
        audit.record("entry.delete", "success", actor=audit.Actor(None, "cli", None),
                     target={"id": "other", "permissioned_user_id": "someone"})  # fmt: skip
    auth.login("sia", "editor")
    index_sync(client, csrf(client))

    def found(q):
        html = client.get("/audit", query_string={"q": q}, headers={"HX-Request": "true"})
        return re.findall(r"<td><span title=\"([\w.]+)\">", html.get_data(as_text=True))

    assert found("password revealed") == ["entry.password.reveal"]
    assert found("quokka") == ["entry.password.reveal"]
    assert "entry.delete" in found("deleted")
