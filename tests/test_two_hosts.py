"""Two console hosts on one PostgreSQL database, over real sockets and real processes.

One module-scoped deployment: a throwaway PostgreSQL database (the ``pg_cluster`` fixture),
one standalone CloudCruise emulator, and two hosts, each the Procfile's gunicorn command with
two workers, its own instance folder and the same keys. The release step
(``flask --app app db upgrade``) runs from both hosts' environments at once before the hosts
start. The tests then check what must hold across hosts:

1. concurrent release steps both succeed (the advisory lock queues them);
2. a host refuses to start, with one clear line, when the schema is behind or when the
   shared keys are missing;
3. a session cookie from host A works on host B, and signing out on A ends it everywhere;
4. the sign-in throttle counts concurrent guesses on both hosts together;
5. a save on A is on B's list at once;
6. saves from 8 clients over both hosts keep one intact audit chain, one attempt and one
   result per confirmed save, nothing lost, nothing duplicated;
7. a database role with only SELECT and INSERT on ``audit_events`` serves and audits, and
   nobody (not even the owner) can rewrite or truncate the audit table.

Every process runs in its own process group and is stopped in fixture teardown or a
``finally``; failures carry the tails of the processes' logs.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.entries_support import form_fields, make_entry
from tests.processes import Processes, free_port, tail

ROOT = Path(__file__).resolve().parents[1]


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from app.database import alembic_config

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


#: the schema revision this code needs
HEAD = _head_revision()
BIN = ROOT / ".venv" / "bin"
PASSWORD = "two-hosts-password"
TIMEOUT = (5, 30)  # connect, read: every HTTP request of these tests
LOAD_SECONDS = 20  # test 6
LOAD_CLIENTS = 8
MIGRATION_LOCK = 0x7663_6D69_6772  # app.database.MIGRATION_LOCK ("vcmigr")
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
BEHIND = re.compile(
    r"^Vault Console cannot start: the database schema is at revision 0006 but this code "
    r"needs (\w+): run the release step `flask --app app db upgrade` first \(workers never "
    r"migrate a shared database themselves\)\.$",
    re.M,
)
NO_KEYS = re.compile(
    r"^Vault Console configuration error: VAULT_CONSOLE_SECRET_KEY and VAULT_CONSOLE_AUDIT_KEY "
    r"must be set when VAULT_CONSOLE_DATABASE_URL is not SQLite: .*$",
    re.M,
)


# --------------------------------------------------------------------------- helpers


def console_env(box, instance: Path, database_url: str, keys: tuple[str, str]) -> dict[str, str]:
    """One host's environment: its own instance folder; the shared database, keys, emulator."""
    drop = ("VAULT_CONSOLE_", "CLOUDCRUISE_", "GUNICORN_", "QODER_", "R4_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("WEB_CONCURRENCY", "PORT", "BIND", "FORWARDED_ALLOW_IPS", "FLASK_APP"):
        env.pop(name, None)
    env.update(
        VAULT_CONSOLE_DATABASE_URL=database_url,
        VAULT_CONSOLE_SECRET_KEY=keys[0],
        VAULT_CONSOLE_AUDIT_KEY=keys[1],
        VAULT_CONSOLE_INSTANCE_PATH=str(instance),
        CLOUDCRUISE_API_KEY=box.api_key,
        CLOUDCRUISE_BASE_URL=box.base_url,
        CLOUDCRUISE_ENCRYPTION_KEY=box.encryption_key,
        # Qoder and r4 are not used by these tests; without their keys a shared-database
        # host refuses to start unless embedded sandboxes are explicitly allowed
        VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX="true",
        VAULT_CONSOLE_ARGON2_MEMORY_KIB="8192",
        VAULT_CONSOLE_ARGON2_TIME_COST="1",
        VAULT_CONSOLE_SYNC_SECONDS="3600",  # no background syncs behind the tests' backs
        PYTHONUNBUFFERED="1",
    )
    return env


def flask_cmd(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", "app", *args]


def gunicorn_cmd(port: int, folder: Path, name: str) -> list[str]:
    """The Procfile's command; only the bind address, the control socket (kept in the test's
    folder) and an access log naming the worker's pid are added."""
    return [
        str(BIN / "gunicorn"), "--config", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--control-socket", str(folder / f"{name}.ctl"),
        "--access-logfile", str(folder / f"{name}-access.log"),
        "--access-logformat", "%(p)s %(r)s %(s)s",
        "app:create_app()",
    ]  # fmt: skip


@dataclass
class Host:
    name: str
    url: str
    proc: subprocess.Popen
    log: Path
    access: Path
    workers: set[int] = field(default_factory=set)

    def context(self) -> str:
        return (
            f"\n--- {self.name} gunicorn log (exit {self.proc.poll()}):\n{tail(self.log)}"
            f"\n--- {self.name} access log:\n{tail(self.access, 15)}"
        )


def launch_host(procs: Processes, name: str, env: dict[str, str], workers: int = 2) -> Host:
    port = free_port()
    proc = procs.start(
        name, gunicorn_cmd(port, procs.folder, name), {**env, "WEB_CONCURRENCY": str(workers)}
    )
    access = procs.folder / f"{name}-access.log"
    return Host(name, f"http://127.0.0.1:{port}", proc, procs.log(proc), access)


def wait_ready(host: Host, workers: int = 2, seconds: float = 60) -> Host:
    deadline = time.monotonic() + seconds
    last = "no answer yet"
    while time.monotonic() < deadline:
        assert host.proc.poll() is None, f"{host.name} exited {host.proc.returncode}" + (
            host.context()
        )
        text = host.log.read_text(errors="replace")
        # a worker that cannot load the app is respawned forever: fail at the first one
        assert not re.search(r"Worker \(pid:\d+\) exited with code", text), host.context()
        booted = set(re.findall(r"Booting worker with pid: (\d+)", text))
        try:
            response = requests.get(f"{host.url}/healthz", timeout=2)
            if response.status_code == 200 and len(booted) == workers:
                host.workers = {int(pid) for pid in booted}
                return host
            last = f"status {response.status_code}, {len(booted)} workers booted"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    pytest.fail(f"{host.name} did not get ready in {seconds:g} s ({last})" + host.context())


def login_form(url: str, session: requests.Session | None = None, **headers: str):
    session = session or requests.Session()
    page = session.get(f"{url}/login", headers=headers, timeout=TIMEOUT)
    token = CSRF_FIELD.search(page.text)
    assert page.status_code == 200 and token, (page.status_code, page.text[:500])
    return session, token[1]


def sign_in(url: str, username: str) -> requests.Session:
    session, token = login_form(url)
    response = session.post(
        f"{url}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 303, (response.status_code, response.text[:1000])
    session.last_request_id = response.headers.get("X-Request-Id")  # type: ignore[attr-defined]
    return session


def htmx_headers(session: requests.Session, url: str) -> dict[str, str]:
    """HX-Request plus the CSRF header from a page of ``url`` (any host: same keys)."""
    page = session.get(f"{url}/entries", params={"q": "none-such"}, timeout=TIMEOUT)
    token = CSRF_HEADER.search(page.text)
    assert page.status_code == 200 and token, (page.status_code, page.text[:500])
    return {"HX-Request": "true", "X-CSRFToken": token[1]}


def save_alias(
    session: requests.Session, form_url: str, save_url: str, entry_id: str, alias: str, hx: dict
) -> requests.Response:
    """Open the credentials section's form on ``form_url`` and save it, with ``alias``, on
    ``save_url`` (the same or the other host)."""
    form = session.get(
        f"{form_url}/entries/{entry_id}/sections/credentials/edit", headers=hx, timeout=TIMEOUT
    )
    assert form.status_code == 200 and 'id="form-credentials"' in form.text, (
        form.status_code, form.text[:500],
    )  # fmt: skip
    data = form_fields(form.text, "form-credentials")
    assert "user_alias" in data and data.get("updated_at"), dict(data)
    data.update(user_alias=alias, user_name="", password="")  # empty secrets: keep them
    return session.post(
        f"{save_url}/entries/{entry_id}/sections/credentials",
        data=list(data.items(multi=True)),
        headers=hx,
        timeout=TIMEOUT,
    )


def confirmed(response: requests.Response) -> bool:
    """The server confirmed the save: the section in view mode plus "entry-changed"."""
    return response.status_code == 200 and "entry-changed" in response.headers.get("HX-Trigger", "")


def vault_entry(box, entry_id: str) -> dict:
    response = requests.get(f"{box.base_url}/vault", headers={"cc-key": box.api_key}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return next(e for e in response.json() if str(e["id"]) == str(entry_id))


# --------------------------------------------------------------------------- deployment


@dataclass
class Deployment:
    tmp: Path
    box: object
    cluster: object
    database: str
    keys: tuple[str, str]
    env_a: dict[str, str]
    env_b: dict[str, str]
    procs: Processes
    upgrades: list[tuple[int, str]]
    upgrade_waiters: int
    a: Host | None = None
    b: Host | None = None
    entries: dict[str, object] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[Host, Host]:
        assert self.a is not None and self.b is not None, (
            "the hosts were not started: the release step failed (see the first test)\n"
            + self.procs.report()
        )
        return self.a, self.b

    def sql(self, statement: str, params: object = None) -> list[tuple]:
        return self.cluster.execute(statement, database=self.database, params=params) or []

    def context(self) -> str:
        return "".join(h.context() for h in (self.a, self.b) if h is not None)

    def env(self, host: str = "a", **changes: str) -> dict[str, str]:
        return {**(self.env_a if host == "a" else self.env_b), **changes}

    def flask(self, *args: str, env: dict[str, str] | None = None, seconds: float = 60) -> str:
        proc = self.procs.start(
            f"flask-{args[0]}-{secrets.token_hex(3)}", flask_cmd(*args), env or self.env_a
        )
        (code,) = self.procs.wait([proc], seconds)
        output = self.procs.output(proc)
        assert code == 0, f"`flask {' '.join(args)}` exited {code}:\n{output}"
        return output


def concurrent_upgrades(
    procs: Processes, cluster, database: str, envs: list[dict[str, str]]
) -> tuple[list[tuple[int, str]], int]:
    """Start ``flask db upgrade`` from every environment at once. The test holds the
    migration lock until all of them are queued on it, so they really run concurrently;
    returns [(exit code, output)] and how many were seen waiting on the lock."""
    holder = cluster.connect(database)
    children: list[subprocess.Popen] = []
    waiting = 0
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        children = [
            procs.start(f"upgrade-{n}", flask_cmd("db", "upgrade"), env)
            for n, env in enumerate(envs)
        ]
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            (waiting,) = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            if waiting >= len(envs) or any(c.poll() is not None for c in children):
                break
            time.sleep(0.05)
    finally:
        holder.execute("SELECT pg_advisory_unlock_all()")
        holder.close()
    procs.wait(children, 90)
    return [(c.returncode, procs.output(c)) for c in children], waiting


@pytest.fixture(scope="module")
def deployment(pg_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from app.sandbox import start_sandbox

    tmp = tmp_path_factory.mktemp("two-hosts")
    database = f"two_hosts_{os.getpid()}_{secrets.token_hex(3)}"
    box = start_sandbox(data=tmp / "s.db", host="127.0.0.1", port=0, seed=40, rate_limits=None)
    procs = Processes(tmp / "logs")
    created = False
    try:
        pg_cluster.create_database(database)
        created = True
        url = pg_cluster.url(database)
        keys = (secrets.token_hex(32), secrets.token_hex(32))
        env_a = console_env(box, tmp / "host-a", url, keys)
        env_b = console_env(box, tmp / "host-b", url, keys)
        # entries of the tests, made before the first sync so that the index has them
        entries = {
            "cross": make_entry(box, user_alias=f"cross-before-{secrets.token_hex(3)}"),
            "role": make_entry(box, user_alias=f"role-before-{secrets.token_hex(3)}"),
            **{
                f"load-{n}": make_entry(box, user_alias=f"load-{n}-start")
                for n in range(LOAD_CLIENTS)
            },
        }
        upgrades, waiters = concurrent_upgrades(procs, pg_cluster, database, [env_a, env_b])
        dep = Deployment(tmp, box, pg_cluster, database, keys, env_a, env_b, procs, upgrades,
                         waiters, entries=entries)  # fmt: skip
        if all(code == 0 for code, _ in upgrades):
            # operators (from either host) and the first index sync, all at once
            setup = [
                procs.start("operator-ivy", flask_cmd("operator", "create", "ivy", "--role",
                            "editor", "--password-stdin"), env_a, stdin=PASSWORD + "\n"),
                procs.start("operator-wendy", flask_cmd("operator", "create", "wendy", "--role",
                            "editor", "--password-stdin"), env_b, stdin=PASSWORD + "\n"),
                procs.start("entries-sync", flask_cmd("entries", "sync"), env_a),
            ]  # fmt: skip
            codes = procs.wait(setup, 90)
            assert codes == [0, 0, 0], procs.report(setup)
            dep.a = launch_host(procs, "host-a", env_a)
            dep.b = launch_host(procs, "host-b", env_b)
            wait_ready(dep.a)
            wait_ready(dep.b)
        yield dep
    finally:
        procs.stop_all()
        box.stop()
        if created:
            pg_cluster.drop_database(database)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path / "logs")
    try:
        yield running
    finally:
        running.stop_all()


# --------------------------------------------------------------------------- 1. release step


def test_concurrent_release_steps_both_succeed_then_both_hosts_start(deployment):
    dep = deployment
    report = "\n".join(
        f"--- upgrade {n} exit {c}:\n{out}" for n, (c, out) in enumerate(dep.upgrades)
    )
    assert dep.upgrade_waiters == 2, (
        f"only {dep.upgrade_waiters} of 2 upgrades queued on the migration lock\n{report}"
    )
    assert [code for code, _ in dep.upgrades] == [0, 0], report
    for _, output in dep.upgrades:
        assert "Database at head." in output and "Traceback" not in output, report

    from alembic.script import ScriptDirectory

    from app.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()
    heads = dep.sql("SELECT version_num FROM alembic_version")
    assert heads == [(head,)], (heads, head)
    tables = {
        row[0] for row in dep.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert {"audit_events", "operator_sessions", "throttle_counters", "entry_index"} <= tables

    a, b = dep.hosts
    assert a.workers and b.workers and not a.workers & b.workers, (a.workers, b.workers)
    for host in (a, b):
        ready = requests.get(f"{host.url}/readyz", timeout=TIMEOUT)
        assert ready.status_code == 200, (ready.status_code, ready.text[:500], host.context())
        assert ready.json()["checks"]["database"] == "ok", ready.text
        log = host.log.read_text(errors="replace")
        assert "cannot start" not in log and "Traceback" not in log, host.context()
    # separate instance folders, and the shared keys came from the environment: neither host
    # generated a key of its own into its folder
    folders = {Path(env["VAULT_CONSOLE_INSTANCE_PATH"]) for env in (dep.env_a, dep.env_b)}
    assert len(folders) == 2 and all(folder.is_dir() for folder in folders), folders
    for folder in folders:
        assert not [f.name for f in folder.iterdir() if f.name in ("secret_key", "audit_key")]


# --------------------------------------------------------------------------- 2. refusals


def test_host_refuses_schema_behind_and_missing_keys(deployment, procs, pg_cluster):
    dep = deployment
    behind_db = f"{dep.database}_behind"
    pg_cluster.create_database(behind_db)
    try:
        behind = dep.env(
            VAULT_CONSOLE_DATABASE_URL=pg_cluster.url(behind_db),
            VAULT_CONSOLE_INSTANCE_PATH=str(procs.folder.parent / "behind"),
        )
        out = dep.flask("db", "upgrade", "0006", env=behind)
        assert "Database at 0006." in out, out
        no_keys = dep.env(
            VAULT_CONSOLE_SECRET_KEY="",  # set but empty: a .env file cannot fill them in
            VAULT_CONSOLE_AUDIT_KEY="",
            VAULT_CONSOLE_INSTANCE_PATH=str(procs.folder.parent / "no-keys"),
        )
        started = time.monotonic()
        gunicorn_behind = launch_host(procs, "behind", behind)
        gunicorn_no_keys = launch_host(procs, "no-keys", no_keys)
        sync_behind = procs.start("sync-behind", flask_cmd("entries", "sync"), behind)
        sync_no_keys = procs.start("sync-no-keys", flask_cmd("entries", "sync"), no_keys)
        children = [gunicorn_behind.proc, gunicorn_no_keys.proc, sync_behind, sync_no_keys]
        codes = procs.wait(children, 60)
        report = procs.report(children)

        # gunicorn: every worker exits 3 ("failed to boot"), the arbiter stops (no respawn loop)
        for host, pattern in ((gunicorn_behind, BEHIND), (gunicorn_no_keys, NO_KEYS)):
            text = host.log.read_text(errors="replace")
            assert host.proc.returncode != 0, report
            assert pattern.search(text), f"no clear line in {host.name}'s log:\n{text}"
            assert re.search(r"Worker \(pid:\d+\) exited with code 3", text), text
            assert "Worker failed to boot" in text, text
            # no traceback from the console's code (gunicorn's arbiter may print its own when
            # both workers fail at once: a race inside gunicorn's halt, not ours)
            # (the console's own files: gunicorn has an app/ package of its own)
            console = re.escape(str(ROOT / "app"))
            assert not re.search(rf'File "{console}/[^"]*\.py"', text), text
            assert len(re.findall(r"Booting worker", text)) <= 2, "workers were respawned:\n" + text
        assert BEHIND.search(gunicorn_behind.log.read_text())[1] == HEAD

        # the CLI: exit 2 and exactly that one line
        for proc, pattern in ((sync_behind, BEHIND), (sync_no_keys, NO_KEYS)):
            text = procs.output(proc)
            assert proc.returncode == 2, report
            lines = [line for line in text.splitlines() if line.strip()]
            assert len(lines) == 1 and pattern.fullmatch(lines[0]), text
        assert codes[2:] == [2, 2]

        # nothing migrated the database behind; no key was generated into an instance folder
        assert dep.sql("SELECT version_num FROM alembic_version") == [(HEAD,)]
        assert pg_cluster.execute(
            "SELECT version_num FROM alembic_version", database=behind_db
        ) == [("0006",)]
        for name in ("secret_key", "audit_key"):
            assert not (procs.folder.parent / "no-keys" / name).exists(), name
        assert time.monotonic() - started < 60
    finally:
        procs.stop_all()
        pg_cluster.drop_database(behind_db)


# --------------------------------------------------------------------------- 3. sessions


def test_session_cookie_works_on_both_hosts_and_logout_ends_it_everywhere(deployment):
    dep = deployment
    a, b = dep.hosts
    ivy_sessions = (
        "SELECT count(*) FROM operator_sessions s JOIN operators o ON o.id = s.operator_id "
        "WHERE o.username = 'ivy'"
    )
    (before,) = dep.sql(ivy_sessions)[0]
    editor = sign_in(a.url, "ivy")
    assert dep.sql(ivy_sessions)[0][0] == before + 1
    # the first page stores a CSRF token in the session cookie (sign-in starts a fresh one)
    first = editor.get(f"{a.url}/entries", timeout=TIMEOUT)
    assert first.status_code == 200 and CSRF_HEADER.search(first.text), dep.context()
    token = CSRF_HEADER.search(first.text)[1]
    old = editor.cookies.get_dict()
    assert "vault_console_session" in old, old

    def get(url: str) -> requests.Response:
        return requests.get(
            f"{url}/entries", cookies=old, headers={"Connection": "close"},
            allow_redirects=False, timeout=TIMEOUT,
        )  # fmt: skip

    for host in (b, a, b):
        page = get(host.url)
        assert page.status_code == 200, (host.name, page.status_code, page.headers, dep.context())
        assert "ivy" in page.text and CSRF_HEADER.search(page.text), page.text[:500]

    out = editor.post(
        f"{a.url}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=TIMEOUT
    )
    assert out.status_code == 303 and out.headers["Location"].endswith("/login"), (
        out.status_code, out.headers, dep.context(),
    )  # fmt: skip
    assert dep.sql(ivy_sessions)[0][0] == before, "the session row is still there"

    for host in (b, a):
        replay = get(host.url)
        assert replay.status_code in (302, 303), (host.name, replay.status_code, replay.text[:300])
        assert re.search(r"/login(\?|$)", replay.headers["Location"]), replay.headers
        landed = requests.get(
            f"{host.url}/entries", cookies=old, headers={"Connection": "close"}, timeout=TIMEOUT
        )
        assert landed.url.split("?")[0].endswith("/login") and landed.status_code == 200
        assert CSRF_FIELD.search(landed.text) and 'name="password"' in landed.text


# --------------------------------------------------------------------------- 4. throttling


def test_concurrent_wrong_passwords_over_both_hosts_are_throttled_together(deployment):
    dep = deployment
    a, b = dep.hosts
    username = "wendy"
    attempts = 10
    barrier = threading.Barrier(attempts, timeout=30)

    def guess(n: int) -> tuple[str, int, str, str | None]:
        host = (a, b)[n % 2]  # 5 per host
        session, token = login_form(host.url, Connection="close")
        barrier.wait()
        response = session.post(
            f"{host.url}/login",
            data={"username": username, "password": f"wrong-{n}", "csrf_token": token},
            headers={"Connection": "close"},  # a fresh connection for every attempt
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        return (
            host.name,
            response.status_code,
            response.headers.get("X-Request-Id", ""),
            response.headers.get("Retry-After"),
        )

    with ThreadPoolExecutor(attempts) as pool:
        results = list(pool.map(guess, range(attempts)))
    statuses = Counter(status for _, status, _, _ in results)
    assert set(statuses) <= {401, 429}, (results, dep.context())
    assert Counter(name for name, *_ in results) == {"host-a": 5, "host-b": 5}
    assert all(retry and int(retry) > 0 for _, status, _, retry in results if status == 429)

    rows = dep.sql(
        "SELECT outcome, request_id FROM audit_events WHERE action = 'auth.login' "
        "AND operator = %s ORDER BY id",
        (username,),
    )
    outcomes = Counter(outcome for outcome, _ in rows)
    failures, refused = outcomes["failure"], outcomes["refused"]
    assert set(outcomes) <= {"failure", "refused"}, outcomes
    assert 1 <= failures <= 5, f"{failures} wrong passwords were evaluated (limit 5): {rows}"
    assert failures + refused == attempts, (outcomes, results)
    assert (statuses[401], statuses[429]) == (failures, refused), (statuses, outcomes)
    by_request = {request_id: outcome for outcome, request_id in rows}
    for _, status, request_id, _ in results:
        assert by_request.get(request_id) == {401: "failure", 429: "refused"}[status], (
            request_id, status, by_request,
        )  # fmt: skip


# --------------------------------------------------------------------------- 5. freshness


def test_edit_on_host_a_is_on_host_b_list_at_once(deployment):
    dep = deployment
    a, b = dep.hosts
    entry = dep.entries["cross"]
    before, after = entry.user_alias, f"cross-after-{secrets.token_hex(4)}"
    editor = sign_in(a.url, "ivy")
    hx = htmx_headers(editor, a.url)
    listed = editor.get(
        f"{b.url}/entries", params={"q": entry.permissioned_user_id}, timeout=TIMEOUT
    )
    assert listed.status_code == 200 and before in listed.text, (listed.status_code, dep.context())

    saved = save_alias(editor, a.url, a.url, entry.id, after, hx)
    assert confirmed(saved), (saved.status_code, saved.headers, saved.text[:1000], dep.context())

    stale = []
    for n in range(12):  # fresh connections, so both of B's workers answer
        page = requests.get(
            f"{b.url}/entries", params={"q": entry.permissioned_user_id}, cookies=editor.cookies,
            headers={"Connection": "close"}, allow_redirects=False, timeout=TIMEOUT,
        )  # fmt: skip
        if page.status_code != 200 or after not in page.text or before in page.text:
            stale.append((n, page.status_code, after in page.text, before in page.text))
    assert not stale, f"host B's list did not show the save: {stale}" + dep.context()


# --------------------------------------------------------------------------- 6. audit under load


@dataclass
class Action:
    client: int
    n: int
    form_host: str
    save_host: str
    alias: str
    status: int | None = None
    request_id: str | None = None
    ok: bool = False
    error: str | None = None


def test_saves_from_eight_clients_over_both_hosts_keep_one_intact_audit_chain(deployment):
    dep = deployment
    hosts = dep.hosts
    entries = [dep.entries[f"load-{n}"] for n in range(LOAD_CLIENTS)]
    actions: list[Action] = []
    crashed: list[str] = []
    lock, signing_in = threading.Lock(), threading.Lock()
    stop = threading.Event()
    ready = threading.Barrier(LOAD_CLIENTS + 1, timeout=60)

    def client(i: int) -> None:
        entry = entries[i]  # one entry per client: no conflicts between clients
        try:
            # one at a time: the throttle counts attempts before checking the password, so
            # more than LOGIN_MAX_FAILURES simultaneous (correct) sign-ins of one operator
            # from one address are refused as "too many failed attempts"
            with signing_in:
                session = sign_in(hosts[i % 2].url, "ivy")
            hx = htmx_headers(session, hosts[(i + 1) % 2].url)
            ready.wait()
        except threading.BrokenBarrierError:
            return  # another client could not sign in (reported by that client)
        except Exception as exc:  # noqa: BLE001 - reported below
            crashed.append(f"client {i} could not sign in: {exc!r}"[:2000])
            ready.abort()
            return
        n = 0
        while not stop.is_set():
            form_host, save_host = hosts[(i + n) % 2], hosts[(i + n + 1) % 2]
            action = Action(i, n, form_host.name, save_host.name, f"load-{i}-{n}")
            try:
                response = save_alias(session, form_host.url, save_host.url, entry.id,
                                      action.alias, hx)  # fmt: skip
                action.status = response.status_code
                action.request_id = response.headers.get("X-Request-Id")
                action.ok = confirmed(response)
                if not action.ok:
                    action.error = response.text[:300]
            except (requests.RequestException, AssertionError) as exc:
                action.error = repr(exc)[:300]
            with lock:
                actions.append(action)
            n += 1

    threads = [threading.Thread(target=client, args=(i,), name=f"client-{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        started = time.monotonic()
        time.sleep(LOAD_SECONDS)
    except threading.BrokenBarrierError:
        started = time.monotonic()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=sum(TIMEOUT) * 2 + 5)
    elapsed = time.monotonic() - started
    assert not crashed, "\n".join(crashed) + dep.context()
    assert not [t.name for t in threads if t.is_alive()], "client threads still running"

    done = [a for a in actions if a.ok]
    failed = [a for a in actions if not a.ok]
    summary = (
        f"{len(actions)} saves in {elapsed:.1f} s: {len(done)} confirmed, {len(failed)} failed; "
        f"by save host {Counter(a.save_host for a in done)}"
    )
    assert not failed, summary + "\n" + "\n".join(map(str, failed[:5])) + dep.context()
    assert len(done) >= LOAD_CLIENTS * 2, summary
    assert {a.save_host for a in done} == {"host-a", "host-b"}, summary
    assert len({a.request_id for a in done}) == len(done), "request ids repeat"

    # the stored entries carry every client's last confirmed alias
    for i, entry in enumerate(entries):
        last = max((a for a in done if a.client == i), key=lambda a: a.n)
        assert vault_entry(dep.box, entry.id)["user_alias"] == last.alias, (i, last)

    # one attempt and one result per confirmed save, nothing else, nothing twice
    rows = dep.sql(
        "SELECT id, request_id, phase, outcome, target_id, changes FROM audit_events "
        "WHERE action = 'entry.credentials.update' AND target_id = ANY(%s) ORDER BY id",
        ([str(e.id) for e in entries],),
    )
    events: dict[str | None, list[tuple]] = defaultdict(list)
    for row in rows:
        events[row[1]].append(row)
    expected = {a.request_id: a for a in done}
    assert len(rows) == 2 * len(done), f"{len(rows)} audit events for {len(done)} saves; {summary}"
    assert set(events) == set(expected), (
        f"audit request ids without a confirmed save: {sorted(set(events) - set(expected), key=str)[:5]}; "  # noqa: E501
        f"confirmed saves without audit events: {sorted(set(expected) - set(events), key=str)[:5]}"
    )
    for request_id, group in events.items():
        action = expected[request_id]
        assert [(phase, outcome) for _, _, phase, outcome, _, _ in group] == [
            ("attempt", "attempt"), ("result", "success"),
        ], (request_id, group)  # fmt: skip
        assert group[0][4] == str(entries[action.client].id), (action, group)
        assert action.alias in group[0][5], (action, group[0][5])

    out = dep.flask("audit", "verify", env=dep.env("b"))
    match = re.search(r"^Chain intact: (\d+) events verified\.$", out, re.M)
    assert match, out
    (total,) = dep.sql("SELECT count(*) FROM audit_events")[0]
    assert int(match[1]) == total, (out, total)
    (distinct,) = dep.sql("SELECT count(DISTINCT hash) FROM audit_events")[0]
    (first, last) = dep.sql("SELECT min(id), max(id) FROM audit_events")[0]
    assert distinct == total and (first, last) == (1, total), (distinct, first, last, total)
    print(summary)


# --------------------------------------------------------------------------- 7. least privilege


def test_role_with_select_insert_on_audit_serves_and_audits_but_cannot_rewrite(
    deployment, procs, pg_cluster
):
    dep = deployment
    role, password = f"vc_app_{os.getpid()}_{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    pg_cluster.create_role(role, password)
    try:
        others = [
            name
            for (name,) in dep.sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'audit_events' ORDER BY tablename"
            )
        ]
        grants = [
            f'GRANT SELECT, INSERT ON audit_events TO "{role}"',
            *(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{t}" TO "{role}"' for t in others),
            f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        ]
        for statement in grants:
            dep.sql(statement)
        env = dep.env(
            VAULT_CONSOLE_DATABASE_URL=pg_cluster.url(dep.database, user=role, password=password),
            VAULT_CONSOLE_INSTANCE_PATH=str(procs.folder.parent / "host-c"),
        )
        host = wait_ready(launch_host(procs, "host-c", env, workers=1), workers=1)
        entry = dep.entries["role"]
        after = f"role-after-{secrets.token_hex(4)}"
        (events_before,) = dep.sql("SELECT count(*) FROM audit_events")[0]

        editor = sign_in(host.url, "ivy")
        login_id = editor.last_request_id
        hx = htmx_headers(editor, host.url)
        saved = save_alias(editor, host.url, host.url, entry.id, after, hx)
        assert confirmed(saved), (saved.status_code, saved.text[:1000], host.context())
        save_id = saved.headers["X-Request-Id"]
        assert vault_entry(dep.box, entry.id)["user_alias"] == after

        rows = dep.sql(
            "SELECT request_id, action, phase, outcome, operator FROM audit_events "
            "WHERE request_id = ANY(%s) ORDER BY id",
            ([login_id, save_id],),
        )
        assert rows == [
            (login_id, "auth.login", "event", "success", "ivy"),
            (save_id, "entry.credentials.update", "attempt", "attempt", "ivy"),
            (save_id, "entry.credentials.update", "result", "success", "ivy"),
        ], rows
        (events_after,) = dep.sql("SELECT count(*) FROM audit_events")[0]
        assert events_after == events_before + 3, (events_before, events_after)
        out = dep.flask("audit", "verify", env=env)  # the restricted role can verify, too
        assert re.search(rf"^Chain intact: {events_after} events verified\.$", out, re.M), out

        # the role: no UPDATE, DELETE or TRUNCATE on the audit table
        with psycopg.connect(
            host=pg_cluster.host, port=pg_cluster.port, user=role, password=password,
            dbname=dep.database, autocommit=True, connect_timeout=10,
        ) as conn:  # fmt: skip
            for statement in (
                "UPDATE audit_events SET message = 'rewritten' WHERE id = 1",
                "DELETE FROM audit_events WHERE id = 1",
                "TRUNCATE audit_events",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                    conn.execute(statement)
                assert "permission denied" in str(refused.value), (statement, refused.value)
            assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == (events_after,)

        # the owner: the triggers refuse all three (inside a transaction rolled back anyway)
        ((owner,),) = dep.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'")
        assert owner == pg_cluster.superuser, owner
        with pg_cluster.connect(dep.database, autocommit=False) as conn:
            for statement in (
                "TRUNCATE audit_events",
                "UPDATE audit_events SET message = 'rewritten' WHERE id = 1",
                "DELETE FROM audit_events WHERE id = 1",
            ):
                try:
                    with pytest.raises(psycopg.errors.RaiseException) as refused:
                        conn.execute(statement)
                    assert "audit events are append-only" in str(refused.value), statement
                finally:
                    conn.rollback()
        assert dep.sql("SELECT count(*) FROM audit_events") == [(events_after,)]
        procs.stop(host.proc)
        log = host.log.read_text(errors="replace")
        assert "Traceback" not in log and "audit write failed" not in log, host.context()
    finally:
        procs.stop_all()
        dep.sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        dep.sql(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"')
        with contextlib.suppress(psycopg.Error):
            pg_cluster.execute(f'DROP ROLE "{role}"')
