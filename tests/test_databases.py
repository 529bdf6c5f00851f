"""The database-dependent parts on both backends: SQLite (one host) and a real PostgreSQL
server (several hosts): migrations, operators and server-side sessions, throttling, the
audit chain (append, verify, prune, append-only), the entries index and its sync lease.

Each test runs twice, once per backend (``backend_app``); PostgreSQL is a throwaway
cluster started by the ``pg_cluster`` fixture.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import AuditEvent, IndexedEntry, OperatorSession, utcnow
from app.services import audit, audit_prune, audit_verify, entry_index, jobs
from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, form_fields, hx, make_entry


def _migrated_app(tmp_path, sandbox, url: str | None, **overrides):
    """A console on ``url`` (None: its own SQLite file), migrated as a release would be."""
    if url is None:
        return make_app(tmp_path, sandbox, **overrides)
    release = make_app(tmp_path / "release", sandbox, DATABASE_URL=url, SCHEMA_CHECK=False)
    result = release.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    release.extensions["upstream"].close()
    return make_app(tmp_path, sandbox, DATABASE_URL=url, **overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request):
    return request.param


@pytest.fixture
def backend_url(request, backend):
    return request.getfixturevalue("pg_url") if backend == "postgresql" else None


@pytest.fixture
def backend_app(tmp_path, sandbox, other_vaults, backend_url):
    application = _migrated_app(tmp_path, sandbox, backend_url)
    yield application
    application.extensions["upstream"].close()


def test_one_engine_serves_the_whole_process(backend_app, backend):
    assert backend_app.extensions["audit"].engine is db.engine
    assert db.engine.dialect.name == backend
    if backend == "postgresql":
        assert db.engine.pool.size() == backend_app.config["DB_POOL_SIZE"]
        assert db.engine.pool._pre_ping


def test_concurrent_upgrades_both_end_well(tmp_path, sandbox, backend_url):
    """Two release steps at once (two processes, as two hosts would run them)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = backend_url or f"sqlite:///{tmp_path / 'shared.db'}"
    root = Path(__file__).resolve().parents[1]
    flask = str(Path(sys.executable).with_name("flask"))
    procs = []
    for host in ("a", "b"):
        env = {
            **os.environ,
            "VAULT_CONSOLE_DATABASE_URL": url,
            "VAULT_CONSOLE_INSTANCE_PATH": str(tmp_path / host),
            "VAULT_CONSOLE_SECRET_KEY": "s" * 40,
            "VAULT_CONSOLE_AUDIT_KEY": "a" * 40,
            "CLOUDCRUISE_API_KEY": sandbox.api_key,
            "CLOUDCRUISE_BASE_URL": sandbox.base_url,
            "CLOUDCRUISE_ENCRYPTION_KEY": sandbox.encryption_key,
            "VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX": "true",
        }
        procs.append(
            subprocess.Popen(
                [flask, "--app", "app", "db", "upgrade"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
        )
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("Database at head." in out for out in outputs), outputs
    checker = make_app(tmp_path / "check", sandbox, DATABASE_URL=url, SCHEMA_CHECK=False)
    current, head = checker.extensions["database"].revisions()
    assert current == head
    checker.extensions["upstream"].close()


def test_a_worker_refuses_a_shared_database_whose_schema_is_behind(
    tmp_path, sandbox, other_vaults, pg_url, capsys
):
    release = make_app(tmp_path / "release", sandbox, DATABASE_URL=pg_url, SCHEMA_CHECK=False)
    assert release.test_cli_runner().invoke(args=["db", "upgrade", "0006"]).exit_code == 0
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path / "worker", sandbox, DATABASE_URL=pg_url)
    assert stopped.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0  # one clear line
    assert "schema is at revision 0006" in message and "flask --app app db upgrade" in message
    release.extensions["upstream"].close()


def test_a_shared_database_needs_the_shared_keys_and_real_apis(tmp_path):
    from app.config import ConfigError, load_config

    url = "postgresql+psycopg://u:p@127.0.0.1:1/x"
    with pytest.raises(ConfigError, match="VAULT_CONSOLE_SECRET_KEY and VAULT_CONSOLE_AUDIT_KEY"):
        load_config(env={"VAULT_CONSOLE_DATABASE_URL": url}, instance=tmp_path)
    keys = {"VAULT_CONSOLE_SECRET_KEY": "s" * 40, "VAULT_CONSOLE_AUDIT_KEY": "a" * 40}
    with pytest.raises(ConfigError, match="embedded sandbox"):
        load_config(env={"VAULT_CONSOLE_DATABASE_URL": url, **keys}, instance=tmp_path)
    demo = load_config(
        env={
            "VAULT_CONSOLE_DATABASE_URL": url,
            "VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX": "1",
            **keys,
        },
        instance=tmp_path,
    )
    assert demo["DATABASE_URL"] == url
    # SQLite stays zero-configuration: keys are generated into the instance folder
    assert load_config(env={}, instance=tmp_path)["SECRET_KEY"]


def _session_rows(app) -> list[OperatorSession]:
    with app.app_context():
        return list(db.session.scalars(select(OperatorSession)))


def test_logout_ends_the_session_for_a_replayed_cookie(backend_app):
    client = backend_app.test_client()
    AuthActions(backend_app, client).login("rosa", "viewer")
    cookie = client.get_cookie("vault_console_session").value
    assert len(_session_rows(backend_app)) == 1
    AuthActions(backend_app, client).logout()
    assert _session_rows(backend_app) == []
    replay = backend_app.test_client()
    replay.set_cookie("vault_console_session", cookie)
    response = replay.get("/entries")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_disable_and_role_change_end_every_session_of_the_operator(backend_app):
    first, second = backend_app.test_client(), backend_app.test_client()
    AuthActions(backend_app, first).login("sven", "editor")
    AuthActions(backend_app, second).login("sven", "editor")
    AuthActions(backend_app, backend_app.test_client()).login("tess", "admin")
    assert len(_session_rows(backend_app)) == 3
    runner = backend_app.test_cli_runner()
    assert runner.invoke(args=["operator", "set-role", "sven", "viewer"]).exit_code == 0
    assert len(_session_rows(backend_app)) == 1  # only tess's is left
    assert first.get("/entries").status_code == 302
    assert second.get("/entries").status_code == 302
    AuthActions(backend_app, first).login("sven", "viewer")
    assert first.get("/entries").status_code == 200
    assert runner.invoke(args=["operator", "disable", "sven"]).exit_code == 0
    assert first.get("/entries").status_code == 302


def test_sessions_end_after_their_absolute_lifetime(backend_app):
    client = backend_app.test_client()
    AuthActions(backend_app, client).login("uma", "viewer")
    assert client.get("/entries").status_code == 200
    with backend_app.app_context():
        row = db.session.scalars(select(OperatorSession)).one()
        assert (row.expires_at - row.created_at) == timedelta(
            hours=backend_app.config["SESSION_HOURS"]
        )
        db.session.execute(update(OperatorSession).values(expires_at=utcnow()))
        db.session.commit()
    response = client.get("/entries")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session ended after 12 hours" in page
    assert _session_rows(backend_app) == []


def test_the_sudo_window_lives_with_the_session(backend_app, sandbox):
    entry = make_entry(sandbox)
    client = backend_app.test_client()
    auth = AuthActions(backend_app, client)
    auth.login("vic", "editor")
    token = csrf(client)
    client.get(f"/entries/{entry.id}")
    reveal = f"/entries/{entry.id}/secrets/password/reveal"
    assert "Corr3ct-Horse!" in hx(client, "POST", reveal, token,
                                  data={"password": auth.PASSWORD}).get_data(True)  # fmt: skip
    [row] = _session_rows(backend_app)
    assert row.sudo_until is not None and row.sudo_until > utcnow()
    # without a password now: the window is in the database
    assert "Corr3ct-Horse!" in hx(client, "POST", reveal, token).get_data(True)


def test_concurrent_wrong_passwords_never_evaluate_more_than_the_limit(backend_app):
    AuthActions(backend_app, backend_app.test_client()).create("wade", "viewer")
    limit = backend_app.config["LOGIN_MAX_FAILURES"]
    barrier = threading.Barrier(10)

    def guess(i: int) -> int:
        client = backend_app.test_client()
        token = AuthActions(backend_app, client).csrf_token()
        barrier.wait()
        return client.post(
            "/login",
            data={"username": "wade", "password": f"guess-{i}", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},  # one address: one (user, IP) pair
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(guess, range(10)))
    assert statuses.count(401) == limit and statuses.count(429) == 10 - limit
    with backend_app.app_context():
        outcomes = dict(
            db.session.execute(
                select(AuditEvent.outcome, func.count())
                .where(AuditEvent.action == "auth.login", AuditEvent.operator == "wade")
                .group_by(AuditEvent.outcome)
            ).all()
        )
    assert outcomes == {"failure": limit, "refused": 10 - limit}


def test_re_authentication_is_throttled_and_ends_the_session_at_the_limit(backend_app, sandbox):
    entry = make_entry(sandbox)
    client = backend_app.test_client()
    AuthActions(backend_app, client).login("xena", "editor")
    token = csrf(client)
    client.get(f"/entries/{entry.id}")
    reveal = f"/entries/{entry.id}/secrets/password/reveal"
    limit = backend_app.config["LOGIN_MAX_FAILURES"]
    answers = [hx(client, "POST", reveal, token, data={"password": "wrong"}) for _ in range(limit)]
    for left, answer in zip(range(limit - 1, 0, -1), answers, strict=False):
        assert answer.status_code == 422
        assert f"That password is not right. {left} more wrong" in answer.get_data(True)
    # the limit-th wrong password signs this session out, on every host
    assert answers[-1].headers["HX-Redirect"].startswith("/login")
    assert _session_rows(backend_app) == []
    assert client.get("/entries").status_code == 302
    with backend_app.app_context():
        outcomes = list(
            db.session.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "auth.sudo"))
        )
    assert outcomes == ["failure"] * limit
    # signing in again does not reset the re-entry counter: still locked for a while
    AuthActions(backend_app, client).login("xena", "editor")
    token = csrf(client)
    locked = hx(client, "POST", reveal, token, data={"password": AuthActions.PASSWORD})
    assert locked.headers["HX-Redirect"].startswith("/login")


def test_concurrent_appends_keep_one_chain(backend_app):
    def append(i: int) -> None:
        with backend_app.app_context():
            audit.record("auth.login", "success", actor=audit.Actor(None, f"op{i % 4}", None),
                         message=f"event {i}")  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(80)))
    with backend_app.app_context():
        result = audit_verify.verify(audit.audit_log())
        ids = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
    assert result.ok and result.checked == 80
    assert ids == list(range(1, 81))


def test_audit_events_are_append_only_and_prune_keeps_the_chain(backend_app, backend, tmp_path):
    with backend_app.app_context():
        for i in range(5):
            audit.record("auth.login", "success", actor=audit.Actor(None, "cli", None),
                         message=f"old {i}")  # fmt: skip
        engine = audit.audit_log().engine
        statements = ["UPDATE audit_events SET message = 'x'", "DELETE FROM audit_events"]
        if backend == "postgresql":
            statements.append("TRUNCATE audit_events")
        for statement in statements:
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        later = utcnow() + timedelta(days=1)
        result = audit_prune.prune(
            audit.audit_log(), later.strftime("%Y-%m-%d"), tmp_path / "a.jsonl", force=True
        )
        assert result.archived == 5
        audit.record("auth.login", "success", actor=audit.Actor(None, "cli", None))
        verified = audit_verify.verify(audit.audit_log())
    assert verified.ok and verified.checked == 3  # the prune's two events and the new one
    assert (tmp_path / "a.jsonl").read_text().count("\n") == 5


def test_full_verification_runs_once_and_everyone_sees_the_result(backend_app):
    with backend_app.app_context():
        audit.record("auth.login", "success", actor=audit.Actor(None, "cli", None))
        assert audit_verify.start_full_verification(backend_app)
        # a second start anywhere while it runs is refused (the lease is in the database)
        started_again = audit_verify.start_full_verification(backend_app)
        deadline = utcnow() + timedelta(seconds=20)
        while audit_verify.full_verification_running() is not None and utcnow() < deadline:
            threading.Event().wait(0.05)
        result = audit_verify.last_full_verification()
        state = jobs.state(db.engine, audit_verify.VERIFY_JOB)
    assert result is not None and result.ok and result.checked >= 1
    # stored in the database, where every host and worker reads it
    assert state is not None and state.result["ok"] is True and not state.running()
    if started_again:  # only possible when the first run had already finished
        assert state.finished_at is not None


def test_entries_index_sync_list_and_lease(backend_app, sandbox, backend):
    made = make_entry(sandbox, user_alias="Zz backend entry")
    client = backend_app.test_client()
    auth = AuthActions(backend_app, client)
    auth.login("yara", "editor")
    token = csrf(client)
    html = client.get("/entries?q=zz+backend").get_data(as_text=True)
    assert "Zz backend entry" in html
    for sort in ("alias", "pid", "domain", "tfa", "proxy", "session", "updated"):
        for direction in ("asc", "desc"):
            page = client.get(f"/entries?sort={sort}&dir={direction}&per_page=25")
            assert page.status_code == 200 and "<tbody>" in page.get_data(True)
    # unnamed entries sort after named ones, in byte order on both backends
    with backend_app.app_context():
        keys = list(
            db.session.scalars(
                select(IndexedEntry.name_key).order_by(IndexedEntry.name_key, IndexedEntry.id)
            )
        )
    assert keys == sorted(keys)
    edit = hx(client, "GET", f"/entries/{made.id}/sections/credentials/edit").get_data(True)
    data = form_fields(edit, "form-credentials")
    data.update(user_alias="Zz backend renamed")
    assert hx(client, "POST", f"/entries/{made.id}/sections/credentials", token,
              data=data).status_code == 200  # fmt: skip
    assert "Zz backend renamed" in client.get("/entries?q=zz+backend").get_data(True)
    with backend_app.app_context():
        owner = jobs.owner_id() + ":other"
        assert jobs.try_lease(db.engine, entry_index.JOB, owner, 60)
        with pytest.raises(entry_index.SyncBusy):
            entry_index.sync(wait=0.3)
        jobs.release(db.engine, entry_index.JOB, owner, error="given back")
        result = entry_index.sync()
    assert result.outside == 0 and result.entries >= 40


@pytest.mark.postgresql
def test_throttle_windows_restart_in_utc_whatever_the_servers_time_zone(
    tmp_path, sandbox, other_vaults, pg_url, pg_cluster, monkeypatch
):
    from sqlalchemy.engine import make_url

    from app.services import throttle

    database = make_url(pg_url).database
    pg_cluster.execute(f"ALTER DATABASE {database} SET TimeZone = 'America/New_York'")
    app = _migrated_app(tmp_path, sandbox, pg_url)
    clock = [utcnow()]
    monkeypatch.setattr(throttle, "utcnow", lambda: clock[0])
    with app.app_context():
        assert throttle._count("user:tz|203.0.113.1", 900)[0] == 1
        clock[0] += timedelta(seconds=1000)  # the window has passed: it restarts now
        count, start = throttle._count("user:tz|203.0.113.1", 900)
        assert count == 1 and start == clock[0]
        assert throttle._count("user:tz|203.0.113.1", 900) == (2, clock[0])
    app.extensions["upstream"].close()
