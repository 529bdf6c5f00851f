"""Benchmark: the console under concurrent operators, behind gunicorn (run on demand, not a test).

    .venv/bin/python bench/load.py [--operators 8] [--seconds 60] [--entries 500] [--workers 2]

Sets up, in a temporary directory that is removed afterwards:

* a standalone sandbox (a separate process, as the real API would be) seeded with
  ``--entries`` entries, without rate limits;
* a console instance folder with one editor per simulated operator (``flask operator
  create``), then gunicorn started as the Procfile does (``gunicorn.conf.py``, gthread) with
  ``WEB_CONCURRENCY=--workers``; only the bind address and the control socket (kept inside
  the temporary directory, so other gunicorns on this machine are left alone) differ.

Then ``--operators`` threads, each with its own HTTP session, sign in through ``/login`` and
for ``--seconds`` loop over a mix of what operators do: browse the list, search (htmx),
filter by 2FA method, open an entry, edit its Concurrency section (form, then save: 200 is a
save, 409 a conflict) and look at the audit log, with a short think time between steps.

Reports a markdown table (requests, p50/p99 latency per operation and overall, errors,
conflicts, throughput), the server-side times from the app's access log, warnings and
errors the app logged, and then checks the audit log against what was done: one
``auth.login`` success per sign-in, one ``entry.concurrency.update`` result per save that
changed something, and ``flask audit verify``. Exits 1 if there was any error or a check
failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
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


class BenchError(Exception):
    """Setting up or running the benchmark failed (not a finding about the app)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def input_value(html: str, name: str) -> str | None:
    """The value of the ``<input name=...>`` in ``html`` (attributes in any order)."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            return value[1] if value else ""
    return None


def checked(html: str, name: str) -> bool:
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            return re.search(r"\schecked\b", tag) is not None
    return False


# --------------------------------------------------------------------------- processes


class Processes:
    """The subprocesses this run started; all stopped by :meth:`stop_all`."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen, float]] = []

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
        for name, proc, grace in reversed(self.procs):
            if proc.poll() is not None:
                continue
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {grace:g} s; killing it", file=sys.stderr)
                proc.kill()
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.procs.clear()


def start_sandbox(procs: Processes, tmp: Path, entries: int) -> tuple[str, str, str]:
    port = free_port()
    log = tmp / "sandbox.log"
    proc = procs.start(
        "sandbox",
        [
            str(PYTHON), "-m", "app.sandbox", "--host", "127.0.0.1", "--port", str(port),
            "--data", str(tmp / "sandbox.db"), "--seed", str(entries), "--no-rate-limit",
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
            raise BenchError(f"the sandbox exited with status {proc.returncode}:\n{tail(log)}")
        time.sleep(0.1)
    raise BenchError(f"the sandbox did not print its keys within 300 s:\n{tail(log)}")


def base_env() -> dict[str, str]:
    """This environment without any console, CloudCruise or gunicorn settings of its own."""
    drop = ("VAULT_CONSOLE_", "CLOUDCRUISE_", "GUNICORN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("WEB_CONCURRENCY", "PORT", "BIND", "FORWARDED_ALLOW_IPS"):
        env.pop(name, None)
    return env


def create_operators(env: dict, names: list[str]) -> None:
    for name in names:
        try:
            done = subprocess.run(
                [str(BIN / "flask"), "--app", "app", "operator", "create", name,
                 "--role", "editor", "--password-stdin"],
                cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise BenchError(f"`flask operator create {name}` did not finish in 120 s") from None
        if done.returncode != 0:
            raise BenchError(
                f"`flask operator create {name}` failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}"
            )


def start_gunicorn(procs: Processes, env: dict, tmp: Path, workers: int) -> str:
    port = free_port()
    log = tmp / "gunicorn.log"
    genv = {**env, "WEB_CONCURRENCY": str(workers)}
    # the Procfile's command; --control-socket only keeps its socket out of ~/.gunicorn
    cmd = [
        str(BIN / "gunicorn"), "--config", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--control-socket", str(tmp / "gunicorn.ctl"),
        "app:create_app()",
    ]  # fmt: skip
    proc = procs.start("gunicorn", cmd, log, env=genv, grace=30)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(
                f"gunicorn exited with status {proc.returncode} while starting; log tail:\n"
                f"{tail(log)}"
            )
        # a worker that cannot load the app is respawned forever: fail at the first one
        if re.search(r"Worker \(pid:\d+\) exited with code", log.read_text(errors="replace")):
            raise BenchError(f"a gunicorn worker failed to start; log tail:\n{tail(log)}")
        try:
            response = requests.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return url
            last = f"status {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise BenchError(f"gunicorn's /healthz did not answer 200 in 120 s ({last}); log tail:\n"
                     f"{tail(log)}")  # fmt: skip


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
    sign_ins: int = 0
    signed_in_by: float = 0  # perf_counter when the last sign-in completed
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (started, ms)
    conflicts: int = 0
    saves_changed: int = 0
    saves_unchanged: int = 0
    saves_other: list[str] = field(default_factory=list)

    def add(
        self, op: str, seconds: float, status: int | str, error: str | None, started: float = 0
    ) -> None:
        with self.lock:
            self.latencies[op].append(seconds * 1000)
            self.timeline.append((started, seconds * 1000))
            self.statuses[op][status] += 1
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


class Operator(threading.Thread):
    def __init__(self, name: str, url: str, stats: Stats, stop: threading.Event, seed: int):
        super().__init__(name=name, daemon=True)
        self.username = name
        self.url = url
        self.stats = stats
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"vault-console-load-bench/{name}"
        self.ids: set[str] = set()
        self.crashed: BaseException | None = None

    # one request, timed and classified; the response, or None after a transport error or
    # an unexpected status (both counted as errors)
    def request(self, op: str, method: str, path: str, *, htmx: bool = False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, self.url + path, headers=headers, timeout=TIMEOUT,
                allow_redirects=False, **kwargs,
            )  # fmt: skip
        except requests.RequestException as exc:
            self.stats.add(op, time.perf_counter() - started, type(exc).__name__,
                           f"{method} {path}: {type(exc).__name__}: {exc}", started)  # fmt: skip
            return None
        elapsed = time.perf_counter() - started
        expected = EXPECTED.get(op, {200})
        error = None
        signed_in = op != "login" or response.headers.get("Location", "").endswith("/entries")
        if response.status_code not in expected or not signed_in:
            where = response.headers.get("Location", "")
            error = (f"{method} {path} → {response.status_code}"
                     f"{' → ' + where if where else ''}: {response.text[:160]!r}")  # fmt: skip
        self.stats.add(op, elapsed, response.status_code, error, started)
        return response if error is None else None

    def think(self) -> None:
        self.stop_event.wait(self.rng.uniform(*THINK))

    def collect(self, response) -> None:
        if response is not None:
            self.ids.update(ENTRY_LINK.findall(response.text))

    def sign_in(self) -> bool:
        page = self.request("login_page", "GET", "/login")
        token = input_value(page.text, "csrf_token") if page is not None else None
        if not token:
            return False
        data = {"username": self.username, "password": PASSWORD, "csrf_token": token}
        response = self.request("login", "POST", "/login", data=data)
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
            if not self.sign_in():
                return
            ops, weights = list(MIX), list(MIX.values())
            while not self.stop_event.is_set():
                self.step(self.rng.choices(ops, weights)[0])
                self.think()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.crashed = exc
        finally:
            self.session.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- report


def report(stats: Stats, elapsed: float, args) -> int:
    all_latencies = [v for op in OPS for v in stats.latencies.get(op, [])]
    total = len(all_latencies)
    errors = sum(stats.errors.values())
    print()
    print(
        f"Load: {args.operators} operators, {elapsed:.1f} s, {args.entries:,} entries, "
        f"{args.workers} gunicorn workers (gthread, 4 threads each), "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{args.load_before:.1f} before / {os.getloadavg()[0]:.1f} after (other processes on "
        "this machine compete for the CPUs: compare runs only at similar load)"
    )
    print()
    print("| operation | requests | p50 ms | p99 ms | max ms | errors | statuses |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for op in OPS:
        values = stats.latencies.get(op, [])
        if not values:
            continue
        codes = ", ".join(f"{k}×{n}" for k, n in sorted(stats.statuses[op].items(), key=str))
        print(
            f"| {op} | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 99):.1f} | {max(values):.1f} | {stats.errors.get(op, 0)} | "
            f"{codes} |"
        )
    print(
        f"| **overall** | **{total}** | **{percentile(all_latencies, 50):.1f}** | "
        f"**{percentile(all_latencies, 99):.1f}** | **{max(all_latencies, default=0):.1f}** | "
        f"**{errors}** | |"
    )
    print()
    print("| summary | value |")
    print("|---|---:|")
    print(f"| total requests | {total} |")
    print(f"| throughput | {total / elapsed:.1f} req/s |")
    print(f"| sign-ins | {stats.sign_ins} |")
    steady = [ms for started, ms in stats.timeline if started >= stats.signed_in_by]
    if steady:
        print(
            f"| after the sign-in burst ({len(steady)} requests started after the last sign-in) "
            f"| p50 {percentile(steady, 50):.1f} ms, p99 {percentile(steady, 99):.1f} ms |"
        )
    print(f"| saves that changed something | {stats.saves_changed} |")
    print(f"| saves with nothing changed | {stats.saves_unchanged} |")
    print(f"| conflicts (409) | {stats.conflicts} |")
    print(f"| errors (must be 0) | {errors} |")
    if stats.saves_other:
        print(f"\nsaves with an unexpected toast: {stats.saves_other[:5]}")
    if stats.error_samples:
        print("\nfirst errors:")
        for sample in stats.error_samples:
            print(f"  - {sample}")
    return errors


def server_side(log: Path) -> None:
    """Server-side times per route from the app's access log, and what it logged as wrong."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    routes: dict[str, str] = {}  # request id → route
    upstream: collections.Counter = collections.Counter()  # request id → CloudCruise calls
    problems: collections.Counter = collections.Counter()
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            if re.search(r"\[(ERROR|CRITICAL|WARNING)\]", line):
                problems[re.sub(r"^\[[^]]*\] \[\d+\] ", "", line)[:160]] += 1
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
            problems[f"{record.get('level')} {record.get('logger')}: {record.get('msg')}"] += 1
    calls: collections.Counter = collections.Counter()
    for request_id, route in routes.items():
        calls[route] += upstream.get(request_id, 0)
    print()
    print("Server-side time per route (the app's access log; excludes queueing in gunicorn) and")
    print("CloudCruise calls per request (a list re-fetch after a cache invalidation counts 1):")
    print()
    print("| route | requests | p50 ms | p99 ms | max ms | upstream calls / request |")
    print("|---|---:|---:|---:|---:|---:|")
    for route, values in sorted(times.items(), key=lambda kv: -percentile(kv[1], 99)):
        print(
            f"| {route} | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 99):.1f} | {max(values):.1f} | "
            f"{calls[route] / len(values):.2f} |"
        )
    print()
    if problems:
        print("Warnings and errors in the gunicorn/app log:")
        for text, n in problems.most_common(15):
            print(f"  - {n}× {text}")
    else:
        print("The gunicorn/app log has no warnings or errors.")


def audit_checks(stats: Stats, instance: Path, env: dict) -> bool:
    db = instance / "vault_console.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        logins = dict(
            conn.execute(
                "SELECT outcome, count(*) FROM audit_events WHERE action = 'auth.login' "
                "GROUP BY outcome"
            ).fetchall()
        )
        updates = dict(
            conn.execute(
                "SELECT phase || '/' || outcome, count(*) FROM audit_events "
                "WHERE action = 'entry.concurrency.update' GROUP BY phase, outcome"
            ).fetchall()
        )
    finally:
        conn.close()
    print()
    print("Audit log against the operations performed:")
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
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        output = (done.stdout + done.stderr).strip()
        passed = done.returncode == 0
    except subprocess.TimeoutExpired:
        output, passed = "timed out after 300 s", False
    ok &= passed
    print(f"  {'PASS' if passed else 'FAIL'} (c) flask audit verify: {output}")
    return ok


# --------------------------------------------------------------------------- main


def run(args, tmp: Path, procs: Processes) -> int:
    print(f"starting a sandbox with {args.entries:,} entries…", flush=True)
    base_url, api_key, enc_key = start_sandbox(procs, tmp, args.entries)
    instance = tmp / "instance"
    env = {
        **base_env(),
        "VAULT_CONSOLE_INSTANCE_PATH": str(instance),
        "VAULT_CONSOLE_DATABASE_URL": f"sqlite:///{instance / 'vault_console.db'}",
        "CLOUDCRUISE_API_KEY": api_key,
        "CLOUDCRUISE_BASE_URL": base_url,
        "CLOUDCRUISE_ENCRYPTION_KEY": enc_key,
    }
    names = [f"load{i}" for i in range(1, args.operators + 1)]
    print(f"creating {len(names)} operators…", flush=True)
    create_operators(env, names)
    print(f"starting gunicorn with {args.workers} workers…", flush=True)
    url = start_gunicorn(procs, env, tmp, args.workers)
    gunicorn_log = tmp / "gunicorn.log"

    print(f"driving {args.operators} operators for {args.seconds:g} s against {url}…", flush=True)
    stats = Stats()
    stop = threading.Event()
    threads = [
        Operator(name, url, stats, stop, seed=args.seed * 1000 + i) for i, name in enumerate(names)
    ]
    args.load_before = os.getloadavg()[0]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = started + args.seconds
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(min(0.5, max(0.0, deadline - time.perf_counter())))
    stop.set()
    for thread in threads:
        thread.join(timeout=sum(TIMEOUT) * 2 + 5)
    elapsed = time.perf_counter() - started
    stuck = [t.name for t in threads if t.is_alive()]
    crashed = [(t.name, t.crashed) for t in threads if t.crashed]
    if stuck:
        raise BenchError(f"operators still running after the stop: {stuck}")
    if crashed:
        raise BenchError(f"operator threads crashed: {crashed}")

    errors = report(stats, elapsed, args)
    server_side(gunicorn_log)
    checks_ok = audit_checks(stats, instance, env)
    if errors:
        print("\ngunicorn log tail:\n" + tail(gunicorn_log))
    print()
    verdict = "PASS" if errors == 0 and checks_ok else "FAIL"
    print(f"{verdict}: {errors} errors, audit checks {'passed' if checks_ok else 'FAILED'}")
    return 0 if verdict == "PASS" else 1


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=8, help="simulated operators (threads)")
    parser.add_argument("--seconds", type=float, default=60, help="how long to drive the load")
    parser.add_argument("--entries", type=int, default=500, help="entries seeded in the sandbox")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the operators' mix")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.operators < 1 or args.seconds <= 0 or args.entries < 1 or args.workers < 1:
        parser.error("--operators, --seconds, --entries and --workers must be positive")

    # Ctrl-C and SIGTERM end the run through the cleanup below (also when started in the
    # background, where the shell would have SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
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
        log = tmp / "gunicorn.log"
        if log.exists():
            print("gunicorn log tail:\n" + tail(log), file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
