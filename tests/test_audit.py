"""The audit log: what each action records, secrecy, fail-closed, tamper evidence, views."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select

from app.models import AuditEvent
from app.services import audit
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
    monkeypatch.setattr(audit, "now_iso", lambda: "2020-01-01T00:00:00.000000Z")
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
