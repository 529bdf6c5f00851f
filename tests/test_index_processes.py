"""The entries index across real OS processes, over real sockets.

* Two gunicorn workers (the Procfile's command and ``gunicorn.conf.py``) read one shared
  index: right after a save through one worker, every request to either worker shows it.
* Several ``flask entries sync`` processes at once: their fetches of ``GET /vault`` never
  overlap (the lease), a reader never sees a half-applied index (one transaction), and
  ``--wait 0`` refuses while another process holds the lease.

Every process a test starts runs in its own process group and is stopped in a ``finally``
(fixtures), so a failing assertion leaves nothing running. Failures carry the tails of the
processes' output.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.entries_support import form_fields, make_entry
from tests.processes import Processes, free_port, tail

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PASSWORD = "index-processes-password"
TIMEOUT = (5, 30)  # connect, read: every HTTP request of these tests
SYNCED = re.compile(r"^Synced (\d[\d,]*) entries in .*?: (\d[\d,]*) added, (\d[\d,]*) changed, "
                    r"(\d[\d,]*) removed", re.M)  # fmt: skip
BUSY = "Another process is syncing the entries index right now."


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    folder = tmp_path / "logs"
    folder.mkdir()
    running = Processes(folder)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def box(tmp_path: Path):
    """One in-process CloudCruise emulator (40 seeded entries, no rate limits)."""
    from app.sandbox import start_sandbox

    running = start_sandbox(
        data=tmp_path / "s.db", host="127.0.0.1", port=0, seed=40, rate_limits=None
    )
    try:
        yield running
    finally:
        running.faults.clear()
        running.stop()


def console_env(tmp_path: Path, box, base_url: str | None = None) -> dict[str, str]:
    """The environment of every console process of a test: one instance folder, one set of
    keys, the emulator (or a proxy in front of it) as CloudCruise."""
    drop = ("VAULT_CONSOLE_", "CLOUDCRUISE_", "GUNICORN_", "QODER_", "R4_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("WEB_CONCURRENCY", "PORT", "BIND", "FORWARDED_ALLOW_IPS", "FLASK_APP"):
        env.pop(name, None)
    env.update(
        VAULT_CONSOLE_INSTANCE_PATH=str(tmp_path / "instance"),
        CLOUDCRUISE_API_KEY=box.api_key,
        CLOUDCRUISE_BASE_URL=base_url or box.base_url,
        CLOUDCRUISE_ENCRYPTION_KEY=box.encryption_key,
        VAULT_CONSOLE_SECRET_KEY=secrets.token_hex(32),
        VAULT_CONSOLE_AUDIT_KEY=secrets.token_hex(32),
        VAULT_CONSOLE_ARGON2_MEMORY_KIB="8192",
        VAULT_CONSOLE_ARGON2_TIME_COST="1",
        # no background syncs behind the tests' backs: what a worker shows after a save
        # can only come from the shared index
        VAULT_CONSOLE_SYNC_SECONDS="3600",
        PYTHONUNBUFFERED="1",
    )
    return env


def flask_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    cmd = [str(BIN / "flask"), "--app", "app", *args]
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`flask {' '.join(args)}` did not finish in 60 s: {exc.stdout} {exc.stderr}")
    assert done.returncode == 0, (
        f"`flask {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def db_path(env: dict[str, str]) -> Path:
    return Path(env["VAULT_CONSOLE_INSTANCE_PATH"]) / "vault_console.db"


def vault_list(box) -> list[dict]:
    """``GET /vault`` straight from the emulator (not through any recorder)."""
    response = requests.get(f"{box.base_url}/vault", headers={"cc-key": box.api_key}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response.json()


# --------------------------------------------------------------------------- gunicorn


def start_gunicorn(procs: Processes, env: dict[str, str], folder: Path, workers: int = 2):
    """The Procfile's command with ``WEB_CONCURRENCY=workers``. Only the bind address, the
    control socket (kept in the test's folder) and an access log naming the worker's pid
    (``%(p)s``, to tell which worker answered) are added."""
    port = free_port()
    access = folder / "access.log"
    cmd = [
        str(BIN / "gunicorn"), "--config", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--control-socket", str(folder / "gunicorn.ctl"),
        "--access-logfile", str(access), "--access-logformat", "%(p)s %(r)s %(s)s",
        "app:create_app()",
    ]  # fmt: skip
    proc = procs.start("gunicorn", cmd, {**env, "WEB_CONCURRENCY": str(workers)})
    log = procs.log(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    last = "no answer yet"
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gunicorn exited {proc.returncode}:\n{tail(log)}"
        text = log.read_text(errors="replace")
        # a worker that cannot load the app is respawned forever: fail at the first one
        assert not re.search(r"Worker \(pid:\d+\) exited with code", text), tail(log)
        booted = set(re.findall(r"Booting worker with pid: (\d+)", text))
        try:
            response = requests.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200 and len(booted) == workers:
                return url, log, access, {int(pid) for pid in booted}
            last = f"status {response.status_code}, {len(booted)} workers booted"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not get ready in 45 s ({last}):\n{tail(log)}")


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


def sign_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=TIMEOUT)
    token = CSRF_FIELD.search(page.text)
    assert page.status_code == 200 and token, (page.status_code, page.text[:500])
    response = session.post(
        f"{url}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 303, (response.status_code, response.text[:1000])
    return session


def test_two_gunicorn_workers_agree_right_after_a_save(tmp_path, procs, box):
    started = time.monotonic()
    entry = make_entry(
        box, user_alias=f"alias-before-{secrets.token_hex(4)}", domain="https://idx.example.com"
    )
    pid, before = entry.permissioned_user_id, entry.user_alias
    after = f"alias-after-{secrets.token_hex(4)}"
    env = console_env(tmp_path, box)
    flask_cli(env, "bootstrap")
    flask_cli(env, "operator", "create", "ivy", "--role", "editor", "--password-stdin",
              stdin=PASSWORD + "\n")  # fmt: skip
    url, log, access, workers = start_gunicorn(procs, env, tmp_path)

    def context() -> str:
        return f"\n--- gunicorn log:\n{tail(log)}\n--- access log:\n{tail(access)}"

    editor = sign_in(url, "ivy")
    listing = editor.get(f"{url}/entries", timeout=TIMEOUT)  # the first sync, inline
    assert listing.status_code == 200, listing.text[:500] + context()
    assert before in listing.text, "the first sync did not list the entry" + context()
    token = CSRF_HEADER.search(listing.text)
    assert token, "no X-CSRFToken on /entries" + context()
    hx = {"HX-Request": "true", "X-CSRFToken": token[1]}

    form = editor.get(
        f"{url}/entries/{entry.id}/sections/credentials/edit", headers=hx, timeout=TIMEOUT
    )
    assert form.status_code == 200 and 'id="form-credentials"' in form.text, (
        form.status_code, form.text[:500], context(),
    )  # fmt: skip
    data = form_fields(form.text, "form-credentials")
    assert data.get("user_alias") == before, dict(data)
    data.update(user_alias=after, user_name="", password="")  # empty secrets: keep them
    saved = editor.post(
        f"{url}/entries/{entry.id}/sections/credentials",
        data=list(data.items(multi=True)),
        headers=hx,
        timeout=TIMEOUT,
    )
    assert saved.status_code == 200, (saved.status_code, saved.text[:1000], context())
    assert "Saved credentials: Alias." in saved.headers.get("HX-Trigger", ""), saved.headers

    def read(n: int) -> tuple[int, str]:
        """One list request on a fresh connection, closed after it (a kept-alive connection
        stays with the worker that accepted it)."""
        response = requests.get(
            f"{url}/entries",
            params={"q": pid},
            cookies=editor.cookies,
            headers={"Connection": "close", "X-Test-Read": str(n)},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        return response.status_code, response.text

    bad: list[str] = []

    def check(n: int, status: int, html: str) -> None:
        if status != 200 or after not in html or before in html:
            bad.append(
                f"read {n}: status {status}, new alias shown: {after in html}, "
                f"old alias shown: {before in html}"
            )

    reads = 0
    for n in range(50):  # consecutive reads, each on its own connection
        check(n, *read(n))
        reads += 1

    def served_by() -> dict[int, int]:
        counts: dict[int, int] = {}
        for line in access.read_text(errors="replace").splitlines():
            match = re.match(r"<(\d+)> GET /entries\?q=\S+ HTTP/1\.\d 200", line)
            if match:
                counts[int(match[1])] = counts.get(int(match[1]), 0) + 1
        return counts

    def logged(expected: int) -> dict[int, int]:
        deadline = time.monotonic() + 5  # gunicorn logs after the response is sent
        while sum(served_by().values()) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return served_by()

    counts = logged(reads)
    # Fresh connections are accepted by whichever worker wins the accept; if one worker won
    # all 50, overlap requests until the other one has answered too (each read checked).
    with ThreadPoolExecutor(6) as pool:
        for _ in range(10):
            if len(counts) >= 2:
                break
            for n, (status, html) in enumerate(pool.map(read, range(reads, reads + 12)), reads):
                check(n, status, html)
            reads += 12
            counts = logged(reads)

    assert not bad, (
        f"{len(bad)} of {reads} reads did not show the save:\n"
        + "\n".join(bad[:10])
        + f"\nserved by {counts} (workers {sorted(workers)})"
        + context()
    )
    assert sum(counts.values()) == reads, (counts, reads, context())
    assert set(counts) == workers, (
        f"the reads were answered by {counts}, the workers are {sorted(workers)}" + context()
    )
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------- concurrent syncs


class VaultRecorder:
    """A real HTTP hop in front of the emulator that forwards everything and records, for
    every whole-list fetch (``GET /vault`` without a query), when it arrived and when its
    response had been sent to the client completely."""

    def __init__(self, box) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.fetches: list[dict] = []
        self.lock = threading.Lock()
        excluded = {"content-encoding", "transfer-encoding", "connection", "content-length"}

        @Request.application
        def forward(request: Request) -> Response:
            whole_list = (request.method, request.path, request.query_string) == (
                "GET", "/vault", b"",
            )  # fmt: skip
            record = {"start": time.monotonic(), "end": None, "status": None}
            if whole_list:
                with self.lock:
                    self.fetches.append(record)
            upstream = requests.request(
                request.method,
                box.base_url + request.full_path.rstrip("?"),
                data=request.get_data(),
                headers={k: v for k, v in request.headers if k.lower() != "host"},
                timeout=60,
            )
            record["status"] = upstream.status_code
            headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in excluded]
            response = Response(upstream.content, upstream.status_code, headers)
            if whole_list:
                response.call_on_close(lambda: record.update(end=time.monotonic()))
            return response

        self.server = make_server("127.0.0.1", 0, forward, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def recorder(box) -> Iterator[VaultRecorder]:
    running = VaultRecorder(box)
    try:
        yield running
    finally:
        running.stop()


class CountReader(threading.Thread):
    """Counts the rows of ``entry_index`` over and over on a read-only connection."""

    def __init__(self, database: Path) -> None:
        super().__init__(name="count-reader", daemon=True)
        self.database = database
        self.counts: list[int] = []
        self.errors: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    conn = sqlite3.connect(
                        f"file:{self.database}?mode=ro", uri=True, timeout=5,
                        isolation_level=None, check_same_thread=False,
                    )  # fmt: skip
                (count,) = conn.execute("SELECT count(*) FROM entry_index").fetchone()
                self.counts.append(count)
            except sqlite3.Error as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(0.005)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)


def run_syncs(procs: Processes, env: dict[str, str], count: int, wait: str, label: str):
    """Start ``count`` ``flask entries sync --wait`` processes at once; wait for all."""
    cmd = [str(BIN / "flask"), "--app", "app", "entries", "sync", "--wait", wait]
    children = [procs.start(f"{label}-{n}", cmd, env) for n in range(count)]
    deadline = time.monotonic() + 60
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"`flask entries sync` still running after 60 s:\n{procs.report(children)}")
    return [(child.returncode, procs.log(child).read_text(errors="replace")) for child in children]


def test_concurrent_syncs_never_overlap_and_never_half_apply(tmp_path, procs, box, recorder):
    started = time.monotonic()
    env = console_env(tmp_path, box, base_url=recorder.base_url)
    flask_cli(env, "bootstrap")
    upstream = vault_list(box)
    total = len(upstream)
    assert total >= 40
    database = db_path(env)
    assert database.exists(), database

    # 1. four syncs that may wait for each other; every fetch takes at least 0.5 s
    box.faults.add("latency", method="GET", path="/vault", times=None, delay=0.5)
    reader = CountReader(database)
    reader.start()
    try:
        results = run_syncs(procs, env, 4, "60", "sync")
    finally:
        reader.stop()
    report = procs.report()

    lines = []
    for code, output in results:
        assert code == 0, f"a sync exited {code}:\n{report}"
        match = SYNCED.search(output)
        assert match, f"no 'Synced' line:\n{output}\n{report}"
        lines.append(tuple(int(g.replace(",", "")) for g in match.groups()))
    assert [n for n, *_ in lines] == [total] * 4, (lines, report)
    # exactly one of them filled the empty index; the others found it complete
    assert sorted(lines) == sorted([(total, total, 0, 0)] + [(total, 0, 0, 0)] * 3), (
        lines,
        report,
    )

    fetches = sorted(recorder.fetches, key=lambda f: f["start"])
    assert len(fetches) == 4, (f"{len(fetches)} whole-list fetches for 4 syncs", fetches, report)
    assert all(f["status"] == 200 and f["end"] is not None for f in fetches), fetches
    overlaps = [
        (round(a["end"] - b["start"], 3), n)
        for n, (a, b) in enumerate(zip(fetches, fetches[1:], strict=False))
        if b["start"] < a["end"]
    ]
    assert not overlaps, (
        f"GET /vault fetches overlapped (seconds, pair): {overlaps}; intervals "
        f"{[(round(f['start'] - started, 3), round(f['end'] - started, 3)) for f in fetches]}"
    )

    counts = reader.counts
    assert len(counts) >= 20, (f"the reader counted only {len(counts)} times", reader.errors[:5])
    partial = sorted({c for c in counts if c not in (0, total)})
    assert not partial, f"the reader saw a half-applied index: counts {partial} (total {total})"
    assert counts[0] == 0 and counts[-1] == total, (counts[:3], counts[-3:])
    first_full = counts.index(total)
    assert 0 not in counts[first_full:], "the index was emptied again after the first sync"
    assert not [e for e in reader.errors if "no such table" in e], reader.errors[:5]

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        indexed = {row[0] for row in conn.execute("SELECT id FROM entry_index")}
        lease = conn.execute(
            "SELECT lease_owner, lease_until, last_error FROM background_jobs "
            "WHERE name = 'entries.sync'"
        ).fetchone()
    conn.close()
    assert indexed == {str(e["id"]) for e in vault_list(box)}, "index differs from GET /vault"
    assert lease == (None, None, None), f"lease row after the syncs: {lease}"

    # 2. three syncs that do not wait, while a (slower) sync is in progress
    box.faults.clear()
    box.faults.add("latency", method="GET", path="/vault", times=None, delay=3.0)
    before = len(recorder.fetches)
    results = run_syncs(procs, env, 3, "0", "nowait")
    report = procs.report()
    winners = [out for code, out in results if code == 0]
    losers = [out for code, out in results if code != 0]
    assert len(winners) == 1, (
        f"{len(winners)} of 3 `--wait 0` syncs succeeded (expected exactly one)\n{report}"
    )
    assert SYNCED.search(winners[0]), winners[0]
    assert [code for code, _ in results].count(1) == 2, ([c for c, _ in results], report)
    for output in losers:
        assert BUSY in output, f"a refused sync did not say why:\n{output}"
        assert "Traceback" not in output, output
    assert len(recorder.fetches) - before == 1, "only the sync holding the lease may fetch"
    assert time.monotonic() - started < 60
