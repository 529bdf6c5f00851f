"""Benchmark: the console under concurrent operators, behind gunicorn (run on demand, not a test).

    .venv/bin/python bench/load.py [--operators 8] [--seconds 60] [--entries 500] [--workers 2]
                                   [--database sqlite|postgresql] [--hosts 1]
    .venv/bin/python bench/load.py --compare [--hosts 2] [--slices 4] [...]

Sets up, in a temporary directory that is removed afterwards, one *deployment* (or two with
``--compare``):

* a standalone sandbox (a separate process, as the real API would be) seeded with
  ``--entries`` entries, without rate limits;
* ``--database sqlite`` (the default): one console host, its instance folder holding the
  SQLite database, with one editor per simulated operator (``flask operator create``);
* ``--database postgresql``: a throwaway PostgreSQL cluster (``tests/postgres.py``), one
  database, the release step ``flask --app app db upgrade`` run once, the operators created,
  then ``--hosts`` console hosts, each with its own instance folder and port and the same
  ``VAULT_CONSOLE_DATABASE_URL``, ``VAULT_CONSOLE_SECRET_KEY``, ``VAULT_CONSOLE_AUDIT_KEY`` and
  CloudCruise settings (the deployment's one sandbox), with
  ``VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX=true`` (Qoder and r4 have no keys here);
* every host is gunicorn started as the Procfile does (``gunicorn.conf.py``, gthread) with
  ``WEB_CONCURRENCY=--workers``; only the bind address and the control socket (kept inside
  the temporary directory, so other gunicorns on this machine are left alone) differ.

Then ``--operators`` threads per deployment, each with its own HTTP session, sign in through
``/login`` on one host (operator *i* on host *i mod hosts*) and then send each request to the
next host in turn (so a session, a CSRF token and an edit form made on one host are used on
another), looping over a mix of what operators do: browse the list, search (htmx), filter by
2FA method, open an entry, edit its Concurrency section (form, then save: 200 is a save, 409
a conflict) and look at the audit log, with a short think time between steps.

``--compare`` sets up both the single-host SQLite deployment and the ``--hosts``-host
PostgreSQL one (each with its own, identically seeded sandbox) and drives them in the same
run with the same operator mix, seed and duration, *interleaved*: each gets ``--seconds`` of
load cut into ``--slices`` slices, run in ABBA order (A B B A A B …; adjacent slices of the
same deployment merge), so load from other processes on this shared machine drifts both
alike. Only one deployment is driven at a time: at the end of a slice its operators finish
the step they are in and park, and the time until they all parked counts to that slice.
``--slices 1`` runs them back to back (SQLite first).

Reports, per deployment, a markdown table (requests, p50/p95/p99 latency per operation and
overall, errors, statuses), a summary (throughput, audit events/s counted in the console
database before and after the load, conflicts, errors), the server-side times from the app's
access log, warnings and errors the app logged, and then checks the audit log against what
was done: one ``auth.login`` success per sign-in, one ``entry.concurrency.update`` result per
save that changed something, ``flask audit verify``, and no ``entry.changed_outside`` (nothing
but the console changes the bench's sandbox). ``--compare`` ends with a table
(metric, SQLite 1 host, PostgreSQL N hosts, ratio). Exits 1 if there was any error or a
check failed; everything started (gunicorns, sandboxes, the PostgreSQL cluster) is stopped
on the way out, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tests' helpers (processes, forms, PostgreSQL)

from tests.entries_support import input_value  # noqa: E402
from tests.processes import free_port, tail  # noqa: E402

BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
PASSWORD = "load-bench-password-123"
TIMEOUT = (5, 30)  # connect, read (seconds) for every request
THINK = (0.05, 0.2)  # seconds between steps
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENTRY_LINK = re.compile(rf'href="/entries/({UUID})"')
SEARCH_TERMS = ("acme", "availity", "aetna", "clinic", "billing", "bot", "onboarding", "qzx")
TFA_FILTERS = ("EMAIL", "AUTHENTICATOR", "SMS", "none")
#: operation → (weight in the mix); the edit step issues two requests (form, save)
MIX = {"list": 25, "search": 20, "filter": 10, "detail": 20, "edit": 15, "audit": 10}
#: statuses that are not errors, per operation
EXPECTED = {"login": {303}, "save": {200, 409}}
OPS = ("login_page", "login", "list", "search", "filter", "detail", "edit_form", "save", "audit")
PG_DATABASE = "vault_console"


class BenchError(Exception):
    """Setting up or running the benchmark failed (not a finding about the app)."""


def checked(html: str, name: str) -> bool:
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            return re.search(r"\schecked\b", tag) is not None
    return False


# --------------------------------------------------------------------------- processes


class Processes:
    """The subprocesses and PostgreSQL clusters this run started; all stopped by
    :meth:`stop_all` (processes first, newest first, then the clusters)."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen, float]] = []
        self.clusters: list[Any] = []  # tests.postgres.PostgresCluster
        self.gates: list[Gate] = []  # operators to stop before the servers go

    def start(self, name: str, cmd: list[str], log: Path, env: dict, grace: float = 10):
        with open(log, "ab") as fh:
            # own session: a Ctrl-C in the terminal reaches only us; we stop them in order
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.procs.append((name, proc, grace))
        return proc

    def stop_all(self) -> None:
        for gate in self.gates:
            gate.stop()
        # SIGTERM them all first (the gunicorns shut down gracefully in parallel), then wait
        for _name, proc, _grace in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for name, proc, grace in reversed(self.procs):
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {grace:g} s; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            # anything left in its process group (a gunicorn worker whose master died first)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()
        for cluster in reversed(self.clusters):
            try:
                cluster.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"stopping PostgreSQL {cluster!r} failed: {exc}", file=sys.stderr)
        self.clusters.clear()


def start_sandbox(procs: Processes, folder: Path, entries: int, name: str) -> tuple[str, str, str]:
    port = free_port()
    log = folder / "sandbox.log"
    proc = procs.start(
        name,
        [
            str(PYTHON), "-m", "app.sandbox", "--host", "127.0.0.1", "--port", str(port),
            "--data", str(folder / "sandbox.db"), "--seed", str(entries), "--no-rate-limit",
        ],
        log,
        env=base_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        api_key = re.search(r"^CLOUDCRUISE_API_KEY=(\S+)", text, re.M)
        enc_key = re.search(r"^CLOUDCRUISE_ENCRYPTION_KEY=(\S+)", text, re.M)
        if api_key and enc_key:
            return f"http://127.0.0.1:{port}", api_key[1], enc_key[1]
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with status {proc.returncode}:\n{tail(log)}")
        time.sleep(0.1)
    raise BenchError(f"{name} did not print its keys within 300 s:\n{tail(log)}")


def base_env() -> dict[str, str]:
    """This environment without any console, CloudCruise, Qoder, r4 or gunicorn settings."""
    drop = ("VAULT_CONSOLE_", "CLOUDCRUISE_", "GUNICORN_", "QODER_", "R4_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("WEB_CONCURRENCY", "PORT", "BIND", "FORWARDED_ALLOW_IPS", "FLASK_APP"):
        env.pop(name, None)
    return env


def flask(env: dict, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run ``flask --app app ARGS``; its output, or :class:`BenchError` if it fails."""
    command = " ".join(args)
    try:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BenchError(f"`flask {command}` did not finish in {timeout:g} s") from None
    if done.returncode != 0:
        raise BenchError(
            f"`flask {command}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout + done.stderr


def create_operators(env: dict, names: list[str]) -> None:
    for name in names:
        flask(env, "operator", "create", name, "--role", "editor", "--password-stdin",
              stdin=PASSWORD + "\n")  # fmt: skip


def launch_gunicorn(
    procs: Processes, env: dict, folder: Path, workers: int, name: str
) -> tuple[str, subprocess.Popen, Path]:
    port = free_port()
    log = folder / f"{name}.log"
    genv = {**env, "WEB_CONCURRENCY": str(workers)}
    # the Procfile's command; --control-socket only keeps its socket out of ~/.gunicorn
    cmd = [
        str(BIN / "gunicorn"), "--config", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--control-socket", str(folder / f"{name}.ctl"),
        "app:create_app()",
    ]  # fmt: skip
    proc = procs.start(name, cmd, log, env=genv, grace=30)
    return f"http://127.0.0.1:{port}", proc, log


def wait_ready(name: str, url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(
                f"{name} (gunicorn) exited with status {proc.returncode} while starting; "
                f"log tail:\n{tail(log)}"
            )
        # a worker that cannot load the app is respawned forever: fail at the first one
        if re.search(r"Worker \(pid:\d+\) exited with code", log.read_text(errors="replace")):
            raise BenchError(f"a gunicorn worker of {name} failed to start; log tail:\n{tail(log)}")
        try:
            response = requests.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = f"status {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise BenchError(f"{name}'s /healthz did not answer 200 in 120 s ({last}); log tail:\n"
                     f"{tail(log)}")  # fmt: skip


# --------------------------------------------------------------------------- deployments


@dataclass
class Deployment:
    """One console deployment under test: its hosts, database, sandbox and results."""

    database: str  # "sqlite" or "postgresql"
    hosts: int
    folder: Path
    urls: list[str] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # for flask commands (release step)
    database_url: str = ""
    postgres_version: str = ""
    setup_seconds: float = 0
    # filled in by the run
    stats: Stats = field(default_factory=lambda: Stats())
    gate: Gate = field(default_factory=lambda: Gate())
    threads: list[Operator] = field(default_factory=list)
    elapsed: float = 0  # seconds of load (sum of its slices)
    slices: int = 0
    audit_before: int = 0
    audit_after: int = 0
    errors: int = 0
    fivexx: int = 0
    outside: int = 0  # entry.changed_outside audit events
    checks_ok: bool = False
    server_ms: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.database}-{self.hosts}"

    @property
    def label(self) -> str:
        name = "SQLite" if self.database == "sqlite" else "PostgreSQL"
        return f"{name} {self.hosts} host{'' if self.hosts == 1 else 's'}"


def setup(dep: Deployment, procs: Processes, args, names: list[str]) -> None:
    began = time.monotonic()
    dep.folder.mkdir(parents=True)
    print(f"[{dep.label}] starting a sandbox with {args.entries:,} entries…", flush=True)
    base_url, api_key, enc_key = start_sandbox(
        procs, dep.folder, args.entries, f"sandbox ({dep.label})"
    )
    cloudcruise = {
        "CLOUDCRUISE_API_KEY": api_key,
        "CLOUDCRUISE_BASE_URL": base_url,
        "CLOUDCRUISE_ENCRYPTION_KEY": enc_key,
    }
    if dep.database == "sqlite":
        instance = dep.folder / "instance"
        dep.database_url = f"sqlite:///{instance / 'vault_console.db'}"
        dep.env = {
            **base_env(),
            "VAULT_CONSOLE_INSTANCE_PATH": str(instance),
            "VAULT_CONSOLE_DATABASE_URL": dep.database_url,
            **cloudcruise,
        }
        host_envs = [dep.env]
    else:
        try:
            from tests.postgres import PostgresCluster, PostgresUnavailable
        except ImportError as exc:
            raise BenchError(f"cannot import tests.postgres: {exc}") from None
        print(f"[{dep.label}] starting a throwaway PostgreSQL cluster…", flush=True)
        try:
            cluster = PostgresCluster.start(dep.folder)
        except PostgresUnavailable as exc:
            raise BenchError(str(exc)) from None
        except subprocess.CalledProcessError as exc:
            raise BenchError(f"PostgreSQL did not start: {exc}\n{exc.stderr}") from None
        procs.clusters.append(cluster)
        dep.postgres_version = cluster.version
        cluster.create_database(PG_DATABASE)
        dep.database_url = cluster.url(PG_DATABASE)
        common = {
            **base_env(),
            "VAULT_CONSOLE_DATABASE_URL": dep.database_url,
            # shared by every host (required on a non-SQLite database, ≥ 32 characters)
            "VAULT_CONSOLE_SECRET_KEY": secrets.token_hex(32),
            "VAULT_CONSOLE_AUDIT_KEY": secrets.token_hex(32),
            **cloudcruise,
            "VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX": "true",  # Qoder and r4 have no keys here
        }
        dep.env = {**common, "VAULT_CONSOLE_INSTANCE_PATH": str(dep.folder / "release")}
        print(f"[{dep.label}] release step: flask --app app db upgrade…", flush=True)
        flask(dep.env, "db", "upgrade", timeout=300)
        host_envs = [
            {**common, "VAULT_CONSOLE_INSTANCE_PATH": str(dep.folder / f"host{i}")}
            for i in range(1, dep.hosts + 1)
        ]
    print(f"[{dep.label}] creating {len(names)} operators…", flush=True)
    create_operators(dep.env, names)
    print(
        f"[{dep.label}] starting {dep.hosts} host(s), gunicorn with {args.workers} workers each…",
        flush=True,
    )
    launched = [
        launch_gunicorn(procs, env, dep.folder, args.workers, f"host{i}")
        for i, env in enumerate(host_envs, 1)
    ]
    for i, (url, proc, log) in enumerate(launched, 1):
        wait_ready(f"{dep.label} host{i}", url, proc, log)
        dep.urls.append(url)
        dep.logs.append(log)
    dep.setup_seconds = time.monotonic() - began


def audit_counts(dep: Deployment) -> tuple[int, dict[str, int], dict[str, int], int]:
    """All audit events; auth.login events per outcome; concurrency updates per phase/outcome;
    entry.changed_outside events."""
    engine = create_engine(dep.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
            logins = {
                outcome: n
                for outcome, n in conn.execute(
                    text(
                        "SELECT outcome, count(*) FROM audit_events WHERE action = 'auth.login' "
                        "GROUP BY outcome"
                    )
                )
            }
            updates = {
                f"{phase}/{outcome}": n
                for phase, outcome, n in conn.execute(
                    text(
                        "SELECT phase, outcome, count(*) FROM audit_events "
                        "WHERE action = 'entry.concurrency.update' GROUP BY phase, outcome"
                    )
                )
            }
            outside = conn.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'entry.changed_outside'")
            ).scalar_one()
    finally:
        engine.dispose()
    return total, logins, updates, outside


# --------------------------------------------------------------------------- load


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    errors: dict[str, int] = field(default_factory=collections.Counter)
    error_samples: list[str] = field(default_factory=list)
    per_host: collections.Counter = field(default_factory=collections.Counter)
    sign_ins: int = 0
    signed_in_by: float = 0  # perf_counter when the last sign-in completed
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (started, ms)
    conflicts: int = 0
    saves_changed: int = 0
    saves_unchanged: int = 0
    saves_other: list[str] = field(default_factory=list)

    def add(
        self,
        op: str,
        seconds: float,
        status: int | str,
        error: str | None,
        started: float = 0,
        host: int | None = None,
    ) -> None:
        with self.lock:
            self.latencies[op].append(seconds * 1000)
            self.timeline.append((started, seconds * 1000))
            self.statuses[op][status] += 1
            if host is not None:
                self.per_host[host] += 1
            if error:
                self.errors[op] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{op}: {error}")

    def count(self, name: str, detail: str | None = None) -> None:
        with self.lock:
            if name == "saves_other":
                self.saves_other.append(detail or "")
            else:
                setattr(self, name, getattr(self, name) + 1)


class Gate:
    """Lets one deployment's operators run only while it is open.

    An operator calls :meth:`enter` before each step (it blocks while the gate is shut) and
    :meth:`leave` after it; :meth:`shut` waits until no operator is inside a step.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.is_open = False
        self.busy = 0
        self.stopping = threading.Event()  # also ends think times at once

    def enter(self) -> bool:
        with self.cond:
            while not self.is_open and not self.stopping.is_set():
                self.cond.wait()
            if self.stopping.is_set():
                return False
            self.busy += 1
            return True

    def leave(self) -> None:
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()

    def open(self) -> None:
        with self.cond:
            self.is_open = True
            self.cond.notify_all()

    def shut(self, timeout: float) -> bool:
        """Shut the gate; True once every operator has finished its step (within timeout)."""
        with self.cond:
            self.is_open = False
            return self.cond.wait_for(lambda: self.busy == 0, timeout)

    def stop(self) -> None:
        with self.cond:
            self.is_open = False
            self.stopping.set()
            self.cond.notify_all()


class Operator(threading.Thread):
    def __init__(
        self, name: str, urls: list[str], home: int, stats: Stats, gate: Gate, seed: int
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.username = name
        self.urls = urls
        self.home = home % len(urls)  # the host it signs in on
        self.turn = self.home  # round-robin over the hosts after the sign-in
        self.stats = stats
        self.gate = gate
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"vault-console-load-bench/{name}"
        self.ids: set[str] = set()
        self.crashed: BaseException | None = None

    # one request, timed and classified; the response, or None after a transport error or
    # an unexpected status (both counted as errors). ``host``: that host (index), else the
    # next one in turn
    def request(
        self, op: str, method: str, path: str, *, htmx: bool = False, host: int | None = None,
        **kwargs,
    ):  # fmt: skip
        if host is None:
            self.turn = (self.turn + 1) % len(self.urls)
            host = self.turn
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, self.urls[host] + path, headers=headers, timeout=TIMEOUT,
                allow_redirects=False, **kwargs,
            )  # fmt: skip
        except requests.RequestException as exc:
            self.stats.add(op, time.perf_counter() - started, type(exc).__name__,
                           f"host{host + 1} {method} {path}: {type(exc).__name__}: {exc}",
                           started, host)  # fmt: skip
            return None
        elapsed = time.perf_counter() - started
        expected = EXPECTED.get(op, {200})
        error = None
        signed_in = op != "login" or response.headers.get("Location", "").endswith("/entries")
        if response.status_code not in expected or not signed_in:
            where = response.headers.get("Location", "")
            error = (f"host{host + 1} {method} {path} → {response.status_code}"
                     f"{' → ' + where if where else ''}: {response.text[:160]!r}")  # fmt: skip
        self.stats.add(op, elapsed, response.status_code, error, started, host)
        return response if error is None else None

    def think(self) -> None:
        self.gate.stopping.wait(self.rng.uniform(*THINK))

    def collect(self, response) -> None:
        if response is not None:
            self.ids.update(ENTRY_LINK.findall(response.text))

    def sign_in(self) -> bool:
        page = self.request("login_page", "GET", "/login", host=self.home)
        token = input_value(page.text, "csrf_token") if page is not None else None
        if not token:
            return False
        data = {"username": self.username, "password": PASSWORD, "csrf_token": token}
        response = self.request("login", "POST", "/login", data=data, host=self.home)
        if response is None:
            return False
        self.stats.count("sign_ins")
        with self.stats.lock:
            self.stats.signed_in_by = max(self.stats.signed_in_by, time.perf_counter())
        return True

    def edit(self) -> None:
        if not self.ids:
            self.collect(self.request("list", "GET", "/entries"))
            return
        entry_id = self.rng.choice(sorted(self.ids))
        base = f"/entries/{entry_id}/sections/concurrency"
        form = self.request("edit_form", "GET", f"{base}/edit", htmx=True)
        if form is None:
            return
        token = input_value(form.text, "csrf_token")
        updated_at = input_value(form.text, "updated_at")
        if token is None or updated_at is None:
            self.stats.add("edit_form", 0, "no-form", f"GET {base}/edit: no csrf_token/updated_at")
            return
        self.think()  # the operator types
        data = {
            "csrf_token": token,
            "updated_at": updated_at,
            "allow_multiple_sessions": "y",
            "max_concurrency": str(self.rng.randint(1, 9)),
        }
        if checked(form.text, "prevent_concurrency_during_login"):
            data["prevent_concurrency_during_login"] = "y"  # as the browser would send it
        response = self.request(
            "save", "POST", base, htmx=True, data=data, headers={"X-CSRFToken": token}
        )
        if response is None:
            return
        if response.status_code == 409:
            self.stats.count("conflicts")
            return
        try:
            message = json.loads(response.headers.get("HX-Trigger") or "{}")["toast"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"(no toast; HX-Trigger={response.headers.get('HX-Trigger')!r})"
        if message.startswith("Saved"):
            self.stats.count("saves_changed")
        elif message == "Nothing changed.":
            self.stats.count("saves_unchanged")
        else:
            self.stats.count("saves_other", message)

    def step(self, op: str) -> None:
        if op == "list":
            self.collect(self.request("list", "GET", "/entries"))
        elif op == "search":
            term = self.rng.choice(SEARCH_TERMS)
            self.collect(self.request("search", "GET", f"/entries?q={term}", htmx=True))
        elif op == "filter":
            tfa = self.rng.choice(TFA_FILTERS)
            self.collect(self.request("filter", "GET", f"/entries?tfa={tfa}"))
        elif op == "detail":
            if self.ids:
                self.request("detail", "GET", f"/entries/{self.rng.choice(sorted(self.ids))}")
            else:
                self.collect(self.request("list", "GET", "/entries"))
        elif op == "edit":
            self.edit()
        elif op == "audit":
            self.request("audit", "GET", "/audit")

    def run(self) -> None:
        try:
            if not self.gate.enter():
                return
            try:
                signed_in = self.sign_in()
            finally:
                self.gate.leave()
            if not signed_in:
                return
            ops, weights = list(MIX), list(MIX.values())
            while self.gate.enter():
                try:
                    self.step(self.rng.choices(ops, weights)[0])
                    self.think()
                finally:
                    self.gate.leave()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.crashed = exc
        finally:
            self.session.close()


def schedule(count: int, slices: int, seconds: float) -> list[tuple[int, float]]:
    """(deployment index, seconds) in the order they are driven: ABBA…, adjacent ones merged."""
    if count == 1:
        return [(0, seconds)]
    order: list[int] = []
    for i in range(slices):
        order += list(range(count)) if i % 2 == 0 else list(reversed(range(count)))
    merged: list[tuple[int, float]] = []
    for index in order:
        if merged and merged[-1][0] == index:
            merged[-1] = (index, merged[-1][1] + seconds / slices)
        else:
            merged.append((index, seconds / slices))
    return merged


def drive(deps: list[Deployment], names: list[str], args, procs: Processes) -> dict[str, float]:
    """Run every deployment's operators for ``args.seconds`` each, as :func:`schedule` says."""
    for dep in deps:
        procs.gates.append(dep.gate)
        dep.threads = [
            Operator(name, dep.urls, i, dep.stats, dep.gate, seed=args.seed * 1000 + i)
            for i, name in enumerate(names)
        ]
    for dep in deps:
        dep.audit_before = audit_counts(dep)[0]
        for thread in dep.threads:
            thread.start()  # each waits at its deployment's (shut) gate
    plan = schedule(len(deps), args.slices, args.seconds)
    steps = ", ".join(f"{deps[i].label} {s:g} s" for i, s in plan)
    if len(deps) == 1:
        what = steps
    elif len(plan) > len(deps):
        what = f"interleaved, ABBA order: {steps}"
    else:
        what = f"back to back: {steps}"
    print(f"driving {args.operators} operators per deployment ({what})…", flush=True)
    load = {"before": os.getloadavg()[0]}
    began = time.monotonic()
    drain = sum(TIMEOUT) * 2 + 5
    for index, seconds in plan:
        dep = deps[index]
        alive = [t for t in dep.threads if t.is_alive()]
        if not alive:
            continue  # every operator of it gave up (sign-in failed): reported as errors
        started = time.perf_counter()
        dep.gate.open()
        deadline = started + seconds
        while time.perf_counter() < deadline and any(t.is_alive() for t in alive):
            time.sleep(min(0.2, max(0.0, deadline - time.perf_counter())))
        if not dep.gate.shut(drain):
            raise BenchError(
                f"{dep.label}: operators still inside a step {drain} s after the slice"
            )
        dep.elapsed += time.perf_counter() - started
        dep.slices += 1
        print(
            f"  {dep.label}: slice of {seconds:g} s done ({time.monotonic() - began:.0f} s in, "
            f"{sum(len(v) for v in dep.stats.latencies.values())} requests so far)",
            flush=True,
        )
    load["after"] = os.getloadavg()[0]
    for dep in deps:
        dep.gate.stop()
    for dep in deps:
        for thread in dep.threads:
            thread.join(timeout=drain)
        stuck = [t.name for t in dep.threads if t.is_alive()]
        crashed = [(t.name, t.crashed) for t in dep.threads if t.crashed]
        if stuck:
            raise BenchError(f"{dep.label}: operators still running after the stop: {stuck}")
        if crashed:
            raise BenchError(f"{dep.label}: operator threads crashed: {crashed}")
        dep.audit_after = audit_counts(dep)[0]
    return load


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- report


def report(dep: Deployment, args, load: dict[str, float]) -> None:
    stats = dep.stats
    all_latencies = [v for op in OPS for v in stats.latencies.get(op, [])]
    total = len(all_latencies)
    dep.errors = sum(stats.errors.values())
    dep.fivexx = sum(
        n
        for codes in stats.statuses.values()
        for code, n in codes.items()
        if isinstance(code, int) and code >= 500
    )
    elapsed = dep.elapsed or float("nan")
    database = "SQLite (WAL)" if dep.database == "sqlite" else f"PostgreSQL {dep.postgres_version}"
    print()
    print(f"## {dep.label}")
    print()
    print(
        f"Load: {args.operators} operators, {dep.elapsed:.1f} s of load in {dep.slices} "
        f"slice(s), {args.entries:,} entries, {database}, {dep.hosts} host(s) × "
        f"{args.workers} gunicorn workers (gthread, 4 threads each), Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load['before']:.1f} "
        f"before / {load['after']:.1f} after the whole run (other processes on this machine "
        "compete for the CPUs: compare runs only at similar load); setup took "
        f"{dep.setup_seconds:.0f} s"
    )
    print()
    print("| operation | requests | p50 ms | p95 ms | p99 ms | max ms | errors | statuses |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for op in OPS:
        values = stats.latencies.get(op, [])
        if not values:
            continue
        codes = ", ".join(f"{k}×{n}" for k, n in sorted(stats.statuses[op].items(), key=str))
        print(
            f"| {op} | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | {max(values):.1f} | "
            f"{stats.errors.get(op, 0)} | {codes} |"
        )
    print(
        f"| **overall** | **{total}** | **{percentile(all_latencies, 50):.1f}** | "
        f"**{percentile(all_latencies, 95):.1f}** | **{percentile(all_latencies, 99):.1f}** | "
        f"**{max(all_latencies, default=0):.1f}** | **{dep.errors}** | |"
    )
    print()
    events = dep.audit_after - dep.audit_before
    print("| summary | value |")
    print("|---|---:|")
    print(f"| total requests | {total} |")
    print(f"| throughput | {total / elapsed:.1f} req/s |")
    if dep.hosts > 1:
        spread = ", ".join(f"host{h + 1} {n}" for h, n in sorted(stats.per_host.items()))
        print(f"| requests per host | {spread} |")
    print(f"| sign-ins | {stats.sign_ins} |")
    steady = [ms for started, ms in stats.timeline if started >= stats.signed_in_by]
    if steady:
        print(
            f"| after the sign-in burst ({len(steady)} requests started after the last sign-in) "
            f"| p50 {percentile(steady, 50):.1f} ms, p95 {percentile(steady, 95):.1f} ms, "
            f"p99 {percentile(steady, 99):.1f} ms |"
        )
    print(f"| saves that changed something | {stats.saves_changed} |")
    print(f"| saves with nothing changed | {stats.saves_unchanged} |")
    print(f"| conflicts (409) | {stats.conflicts} |")
    print(
        f"| audit events written during the load | {events} "
        f"({dep.audit_before} → {dep.audit_after}) |"
    )
    print(f"| audit events/s | {events / elapsed:.1f} |")
    print(f"| 5xx responses | {dep.fivexx} |")
    print(f"| errors (must be 0) | {dep.errors} |")
    if stats.saves_other:
        print(f"\nsaves with an unexpected toast: {stats.saves_other[:5]}")
    if stats.error_samples:
        print("\nfirst errors:")
        for sample in stats.error_samples:
            print(f"  - {sample}")


def server_side(logs: list[Path]) -> list[float]:
    """Server-side times per route from the hosts' access logs, and what they logged as wrong;
    returns every request's server-side time (ms)."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    routes: dict[str, str] = {}  # request id → route
    upstream: collections.Counter = collections.Counter()  # request id → CloudCruise calls
    problems: collections.Counter = collections.Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                if re.search(r"\[(ERROR|CRITICAL|WARNING)\]", line):
                    problems[f"{log.stem}: " + re.sub(r"^\[[^]]*\] \[\d+\] ", "", line)[:160]] += 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("logger") == "app.access" and record.get("duration_ms") is not None:
                route = f"{record.get('method')} {re.sub(UUID, '<id>', record.get('path', ''))}"
                times[route].append(record["duration_ms"])
                routes[record.get("request_id")] = route
            elif record.get("logger") == "app.cloudcruise":
                upstream[record.get("request_id")] += 1
            if record.get("level") in ("warning", "error", "critical"):
                problems[
                    f"{log.stem}: {record.get('level')} {record.get('logger')}: {record.get('msg')}"
                ] += 1
    calls: collections.Counter = collections.Counter()
    for request_id, route in routes.items():
        calls[route] += upstream.get(request_id, 0)
    print()
    print("Server-side time per route (the app's access log, all hosts; excludes queueing in")
    print("gunicorn) and CloudCruise calls per request (a list re-fetch after a cache")
    print("invalidation counts 1):")
    print()
    print("| route | requests | p50 ms | p95 ms | p99 ms | max ms | upstream calls / request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for route, values in sorted(times.items(), key=lambda kv: -percentile(kv[1], 99)):
        print(
            f"| {route} | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | {max(values):.1f} | "
            f"{calls[route] / len(values):.2f} |"
        )
    print()
    if problems:
        print("Warnings and errors in the gunicorn/app logs:")
        for message, n in problems.most_common(15):
            print(f"  - {n}× {message}")
    else:
        print("The gunicorn/app logs have no warnings or errors.")
    return [v for values in times.values() for v in values]


def audit_checks(dep: Deployment) -> bool:
    stats = dep.stats
    _total, logins, updates, dep.outside = audit_counts(dep)
    print()
    print(f"Audit log against the operations performed ({dep.label}):")
    ok = True
    success = logins.get("success", 0)
    passed = success == stats.sign_ins
    ok &= passed
    print(
        f"  {'PASS' if passed else 'FAIL'} (a) auth.login success events: {success}, "
        f"sign-ins: {stats.sign_ins} (all auth.login outcomes: {logins})"
    )
    results = updates.get("result/success", 0)
    passed = results == stats.saves_changed
    ok &= passed
    print(
        f"  {'PASS' if passed else 'FAIL'} (b) entry.concurrency.update result/success events: "
        f"{results}, saves that changed something: {stats.saves_changed} "
        f"(all phase/outcome: {updates})"
    )
    try:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "app", "audit", "verify"],
            cwd=ROOT, env=dep.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        # its human lines (the JSON log records, e.g. the checkpoint it writes, left out)
        lines = (done.stdout + done.stderr).splitlines()
        output = " ".join(line for line in lines if not line.startswith("{")).strip()
        passed = done.returncode == 0
    except subprocess.TimeoutExpired:
        output, passed = "timed out after 300 s", False
    ok &= passed
    print(f"  {'PASS' if passed else 'FAIL'} (c) flask audit verify: {output}")
    # nothing but this console writes to the bench's sandbox: drift means a console write was
    # attributed to "outside the console"
    passed = dep.outside == 0
    ok &= passed
    print(
        f"  {'PASS' if passed else 'FAIL'} (d) entry.changed_outside events: {dep.outside} "
        "(nothing but the console changes this sandbox, so any is a misattributed console write)"
    )
    return ok


def metrics(dep: Deployment) -> list[tuple[str, float | str]]:
    """The comparison table's rows for one deployment."""
    stats = dep.stats
    every = [v for op in OPS for v in stats.latencies.get(op, [])]
    steady = [ms for started, ms in stats.timeline if started >= stats.signed_in_by]
    elapsed = dep.elapsed or float("nan")
    events = dep.audit_after - dep.audit_before
    rows: list[tuple[str, float | str]] = [
        ("seconds of load", dep.elapsed),
        ("requests", len(every)),
        ("requests/s", len(every) / elapsed),
        ("overall p50 ms", percentile(every, 50)),
        ("overall p95 ms", percentile(every, 95)),
        ("overall p99 ms", percentile(every, 99)),
        ("overall max ms", max(every, default=float("nan"))),
        ("after sign-in burst p50 ms", percentile(steady, 50)),
        ("after sign-in burst p99 ms", percentile(steady, 99)),
        ("server-side p50 ms (all routes)", percentile(dep.server_ms, 50)),
        ("server-side p99 ms (all routes)", percentile(dep.server_ms, 99)),
    ]
    for op in OPS:
        values = stats.latencies.get(op, [])
        for q in (50, 95, 99):
            rows.append((f"{op} p{q} ms", percentile(values, q)))
    rows += [
        ("sign-ins", stats.sign_ins),
        ("saves that changed something", stats.saves_changed),
        ("conflicts (409)", stats.conflicts),
        ("audit events written", events),
        ("audit events/s", events / elapsed),
        ("entry.changed_outside events (expect 0)", dep.outside),
        ("5xx responses", dep.fivexx),
        ("errors", dep.errors),
        ("audit cross-check", "PASS" if dep.checks_ok else "FAIL"),
    ]
    return rows


def number(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return "—" if math.isnan(value) else f"{value:.1f}"


def compare(a: Deployment, b: Deployment, plan_text: str) -> None:
    print()
    print(f"## Comparison ({plan_text})")
    print()
    print(f"| metric | {a.label} | {b.label} | ratio ({b.label} / {a.label}) |")
    print("|---|---:|---:|---:|")
    for (name, x), (_name, y) in zip(metrics(a), metrics(b), strict=True):
        if isinstance(x, str) or isinstance(y, str):
            ratio = ""
        elif x == 0 or math.isnan(x) or math.isnan(y):
            ratio = "—"
        else:
            ratio = f"{y / x:.2f}"
        print(f"| {name} | {number(x)} | {number(y)} | {ratio} |")


# --------------------------------------------------------------------------- main


def run(args, tmp: Path, procs: Processes) -> int:
    names = [f"load{i}" for i in range(1, args.operators + 1)]
    if args.compare:
        deps = [
            Deployment("sqlite", 1, tmp / "sqlite-1"),
            Deployment("postgresql", args.hosts, tmp / f"postgresql-{args.hosts}"),
        ]
    else:
        deps = [Deployment(args.database, args.hosts, tmp / f"{args.database}-{args.hosts}")]
    for dep in deps:
        setup(dep, procs, args, names)
    load = drive(deps, names, args, procs)
    for dep in deps:
        report(dep, args, load)
        dep.server_ms = server_side(dep.logs)
        dep.checks_ok = audit_checks(dep)
        if dep.errors:
            for log in dep.logs:
                print(f"\n{dep.label} {log.stem} log tail:\n" + tail(log))
    if len(deps) == 2:
        how = (
            f"interleaved in ABBA order, {args.slices} slices of {args.seconds / args.slices:g} s "
            "each"
            if args.slices > 1
            else "back to back, SQLite first"
        )
        compare(
            deps[0],
            deps[1],
            f"same run, same machine, {args.operators} operators each, same mix and seed, "
            f"{args.seconds:g} s of load each, {how}",
        )
    print()
    failed = [d for d in deps if d.errors or not d.checks_ok]
    for dep in deps:
        verdict = "PASS" if dep not in failed else "FAIL"
        print(
            f"{verdict} {dep.label}: {dep.errors} errors, audit checks "
            f"{'passed' if dep.checks_ok else 'FAILED'}"
        )
    return 1 if failed else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=8, help="simulated operators (threads)")
    parser.add_argument(
        "--seconds", "--duration", type=float, default=60,
        help="how long to drive the load (per deployment with --compare)",
    )  # fmt: skip
    parser.add_argument("--entries", type=int, default=500, help="entries seeded in the sandbox")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite",
        help="the console database (postgresql: a throwaway cluster from tests/postgres.py)",
    )  # fmt: skip
    parser.add_argument(
        "--hosts", type=int, default=None,
        help="console hosts (gunicorns) on the database; more than 1 needs PostgreSQL "
        "(default 1; 2 for the PostgreSQL side of --compare)",
    )  # fmt: skip
    parser.add_argument(
        "--compare", action="store_true",
        help="run SQLite with 1 host and PostgreSQL with --hosts hosts in the same run and "
        "print them side by side",
    )  # fmt: skip
    parser.add_argument(
        "--slices", type=int, default=4,
        help="with --compare: slices per deployment, interleaved ABBA (1 = back to back)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="random seed of the operators' mix")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.hosts is None:
        args.hosts = 2 if args.compare else 1
    if (
        args.operators < 1 or args.seconds <= 0 or args.entries < 1 or args.workers < 1
        or args.hosts < 1 or args.slices < 1
    ):  # fmt: skip
        parser.error("--operators, --seconds, --entries, --workers, --hosts, --slices must be > 0")
    if args.compare and args.database != "sqlite":
        parser.error("--compare always runs SQLite (1 host) against PostgreSQL (--hosts)")
    if not args.compare and args.database == "sqlite" and args.hosts > 1:
        parser.error("several hosts need a shared database: add --database postgresql")

    # Ctrl-C and SIGTERM end the run through the cleanup below (also when started in the
    # background, where the shell would have SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="vault-console-load-"))
    procs = Processes()
    try:
        return run(args, tmp, procs)
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    except BaseException:
        for log in sorted(tmp.glob("*/host*.log")):
            print(f"{log} tail:\n" + tail(log), file=sys.stderr)
        raise
    finally:
        # a second Ctrl-C must not leave processes behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"total run time {time.monotonic() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
