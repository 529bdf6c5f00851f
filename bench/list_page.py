"""Benchmark: the entries list on the entries index at 1k, 10k and 100k entries (run on demand,
not a test).

    .venv/bin/python bench/list_page.py [--entries 1000,10000,100000] [--runs 20] [--budget 240]
        [--resync-max 10000] [--sandbox-timeout 600]

``make bench`` runs it with the defaults; ``make bench BENCH_ENTRIES=1000,10000`` (or
``BENCH_ENTRIES`` in the environment) picks other sizes without editing the Makefile.

For each size, in a temporary directory that is removed afterwards:

* a standalone sandbox (``python -m app.sandbox --seed N --no-rate-limit``: a separate
  process, as the real API would be); its start-up time, seeding included, is printed.
  Seeding 100k entries took 40-90 s on a 2-CPU machine, so the sandbox seeds itself. Its
  connections' socket timeout is raised from 15 s to ``--sandbox-timeout`` first (see
  ``SANDBOX_LAUNCHER``), or the 100k sync, which reads the body for longer, is cut off;
* a fresh subprocess, the *timing* child: the console (``create_app`` with
  ``SYNC_SECONDS=3600`` so no background sync runs, ``LOG_LEVEL=WARNING``), an editor signed
  in through the real ``/login`` form (CSRF included), then, with interleaved samples:

  1. the baseline: ``GET /vault`` with plain ``requests`` through a keep-alive session, plus
     ``json.loads`` of the body. That is what any client pays before it can use the answer,
     and none of the console's own processing;
  2. the first sync into an empty index: ``entry_index.sync()``. Before each sample the rows
     of ``entry_index`` and the sync's ``background_jobs`` row are deleted (untimed). Samples
     are taken in pairs with a baseline sample, alternating which of the two goes first;
  3. (sizes up to ``--resync-max``) one re-sync with nothing changed: the steady-state
     background sync every ``SYNC_SECONDS``;
  4. warm pages through the Flask test client, signed in. Each round is one baseline sample
     then one sample of each page, the order rotated per round: the first page, a search that
     matches a few entries, a 2FA filter, a sort, the last page (htmx like the UI), an entry's
     detail page, and a save of its Proxy section (htmx POST of the edit form's fields with
     ``X-CSRFToken``, alternating between two country codes so every save changes
     something; the edit form's GET is not timed). Also in each round, as a reference, one
     single-entry ``GET /vault?permissioned_user_id=&domain=`` straight to the sandbox right
     after another on the same kept-alive connection, which is what each upstream call of
     the detail page and the save costs when it follows another closely;

* a second fresh subprocess, the *RSS* child, on the same console database: it signs in,
  serves the same warm pages ``--runs`` times each, then reads its resident set size
  (``VmRSS`` in /proc/self/status). Because each size gets a fresh process, sizes do not
  pollute each other, and the baseline's parsed JSON is not in the figure;
* for the smallest size only, a third subprocess, the *calls* child: a counting HTTP proxy
  (werkzeug on 127.0.0.1) sits between the console and the sandbox and counts the requests
  that reach the sandbox per action (sync, each list page, detail, section save, 2FA code).
  Timings never go through the proxy.

Reported per operation: samples, median and p95 (nearest rank) in ms, the ratio of the median
to the median baseline of the same phase, and whether the aim is met. Aims: first sync at
most 1.5 times the baseline; warm pages p50 ≤ 30 ms and p95 ≤ 60 ms (stated for 100k and
checked at every size); RSS growth from the smallest to the largest size of at most +30 MB;
upstream calls of 0 per list page, 1 per detail, 2 per section save, 1 per 2FA code and
1 per sync. Sampling of the first sync, and again of the warm rounds, stops after
``--budget`` seconds per size (with at least 5 samples). Other processes compete for the
CPUs, so the load average is printed: compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import platform
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.entries_support import form_fields, input_value  # noqa: E402
from tests.processes import free_port, tail  # noqa: E402

DEFAULT_SIZES = "1000,10000,100000"
USERNAME = "bench-editor"
PASSWORD = "bench-password-123"
SEED_TIMEOUT = 1800  # seconds for the sandbox to seed and print its keys
CHILD_TIMEOUT = 3 * 3600
BASELINE_TIMEOUT = (5, 600)  # connect, read (s)
SYNC_AIM = 1.5  # × baseline
WARM_P50_AIM = 30.0  # ms
WARM_P95_AIM = 60.0  # ms
RSS_GROWTH_AIM = 30.0  # MB, smallest → largest size
PER_PAGE = 50  # the list's default page size
COUNTRIES = ("US", "CA")  # the two values the section save alternates between
#: action → upstream requests expected at the sandbox
EXPECTED_CALLS = {
    "sync": 1,
    "first page": 0,
    "search": 0,
    "filter": 0,
    "sort": 0,
    "last page": 0,
    "detail": 1,
    "section save": 2,
    "2FA code": 1,
}


class BenchError(Exception):
    """Setting up or running the benchmark failed (not a finding about the app)."""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def proc_status(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB (NaN where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def code_state() -> str:
    """The commit and a digest of the console's code (app/, templates/) as it is on disk: the
    work tree may be edited while a long run goes on, and then sizes measure different code."""
    digest = hashlib.sha1(usedforsecurity=False)
    files = [*(ROOT / "app").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"(unreadable)")
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app", "templates"], cwd=ROOT,
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        head, dirty = "unknown commit", ""
    state = f"{head or 'unknown commit'}{' + uncommitted changes' if dirty else ''}"
    return f"{state}, code digest {digest.hexdigest()[:12]}"


# ------------------------------------------------------------------------- processes


#: ``python -m app.sandbox`` with the socket timeout of its request handler set first.
#: The sandbox's handler times out a connection after 15 s, and Python applies a socket
#: timeout to a whole ``sendall``: a ``GET /vault`` body (214 MB at 100k entries, written in
#: one piece) whose reader takes longer than that, as the sync's streaming parse does at
#: 100k, is cut off part way.
SANDBOX_LAUNCHER = """
import sys
timeout = float(sys.argv[1])
if timeout:
    try:
        from app.sandbox.common.serving import QuietRequestHandler
    except ImportError:
        print("BENCH: no QuietRequestHandler, sandbox socket timeout left as it is")
    else:
        print(f"BENCH: sandbox socket timeout {QuietRequestHandler.timeout} s -> {timeout:g} s")
        QuietRequestHandler.timeout = timeout
from app.sandbox.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def start_sandbox(
    folder: Path, entries: int, timeout: float = 0
) -> tuple[subprocess.Popen, str, str, str, float]:
    """The standalone sandbox seeded with ``entries``: (process, url, api key, enc key, s).
    ``timeout``: its connections' socket timeout in seconds (0: the sandbox's own)."""
    port = free_port()
    log = folder / "sandbox.log"
    started = time.perf_counter()
    with open(log, "wb") as fh:
        # own session: a Ctrl-C in the terminal reaches only us; we stop it ourselves
        proc = subprocess.Popen(
            [
                sys.executable, "-c", SANDBOX_LAUNCHER, str(timeout),
                "--host", "127.0.0.1", "--port", str(port),
                "--data", str(folder / "sandbox.db"), "--seed", str(entries), "--no-rate-limit",
            ],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + SEED_TIMEOUT
    try:
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            api_key = re.search(r"^CLOUDCRUISE_API_KEY=(\S+)", text, re.M)
            enc_key = re.search(r"^CLOUDCRUISE_ENCRYPTION_KEY=(\S+)", text, re.M)
            if api_key and enc_key:
                seconds = time.perf_counter() - started
                if note := re.search(r"^BENCH: (.*)$", text, re.M):
                    print(f"[{entries:,}] {note[1]}", flush=True)
                return proc, f"http://127.0.0.1:{port}", api_key[1], enc_key[1], seconds
            if proc.poll() is not None:
                raise BenchError(f"the sandbox exited with status {proc.returncode}:\n{tail(log)}")
            time.sleep(0.2)
        raise BenchError(
            f"the sandbox did not print its keys within {SEED_TIMEOUT} s:\n{tail(log)}"
        )
    except BaseException:  # also Ctrl-C / SIGTERM: it runs in its own session
        stop(proc)
        raise


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def run_child(mode: str, config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run this script as a fresh ``mode`` child process; its results (JSON)."""
    result = folder / f"{mode}.json"
    config = {**config, "result": str(result)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
           "--config", json.dumps(config)]  # fmt: skip
    try:
        done = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the {mode} child did not finish within {CHILD_TIMEOUT} s") from None
    if done.returncode != 0 or not result.exists():
        raise BenchError(f"the {mode} child failed (exit status {done.returncode}); see above")
    return json.loads(result.read_text())


# ------------------------------------------------------------------------- counting proxy


class CountingProxy:
    """A real HTTP hop on 127.0.0.1 in front of the sandbox that records every request it
    forwards (method, path and the names of the query arguments)."""

    def __init__(self, target: str) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server
        from werkzeug.wrappers import Request, Response

        self.requests: list[str] = []
        self.lock = threading.Lock()
        session = requests.Session()

        @Request.application
        def forward(request: Request) -> Response:
            body = request.get_data()
            args = "&".join(f"{name}=…" for name in request.args)
            with self.lock:
                self.requests.append(f"{request.method} {request.path}{'?' + args if args else ''}")
            answer = session.request(
                request.method,
                target + request.full_path.rstrip("?"),
                data=body,
                headers={k: v for k, v in request.headers if k.lower() != "host"},
                timeout=BASELINE_TIMEOUT,
            )
            excluded = {"content-encoding", "transfer-encoding", "connection", "content-length"}
            headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in excluded]
            return Response(answer.content, answer.status_code, headers)

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, forward, threaded=True, request_handler=Quiet)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, action: Callable[[], Any]) -> list[str]:
        """The requests that reached the sandbox while ``action`` ran."""
        with self.lock:
            before = len(self.requests)
        action()
        with self.lock:
            return self.requests[before:]

    def stop(self) -> None:
        self.server.shutdown()


# ------------------------------------------------------------------------- the console


class Console:
    """The console app of one child process, an editor signed in through ``/login``."""

    def __init__(self, config: dict[str, Any], base_url: str, instance: str) -> None:
        from app import create_app
        from app.config import Upstream
        from app.services import operators

        self.app = create_app(
            {
                "ENV": {},  # not the developer's environment or .env
                "INSTANCE_PATH": instance,
                # the real-API path of the client (the sandbox runs on its own)
                "UPSTREAM": Upstream(False, base_url, config["api_key"], config["enc_key"]),
                "SYNC_SECONDS": 3600,  # no background sync during the timings
                "LOG_LEVEL": "WARNING",
            }
        )
        with self.app.app_context():
            if operators.find(USERNAME) is None:
                operators.create(USERNAME, "editor", PASSWORD)
        self.client = self.app.test_client()
        html = self.page("/login")
        token = input_value(html, "csrf_token")
        if not token:
            raise BenchError("no csrf_token on /login")
        response = self.client.post(
            "/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token}
        )
        where = response.headers.get("Location", "")
        if response.status_code not in (302, 303) or "login" in where:
            raise BenchError(f"sign-in failed: {response.status_code} → {where!r}")
        # the token htmx sends (hx-headers on <body>); /audit does not touch the index
        match = re.search(r'"X-CSRFToken": "([^"]+)"', self.page("/audit"))
        if not match:
            raise BenchError("no X-CSRFToken on /audit after sign-in")
        self.token = match[1]

    def page(self, path: str, htmx: bool = False) -> str:
        headers = {"HX-Request": "true"} if htmx else {}
        response = self.client.get(path, headers=headers)
        if response.status_code != 200:
            raise BenchError(f"GET {path} → {response.status_code}")
        return response.get_data(as_text=True)

    def reset_index(self) -> None:
        """An empty index that was never synced (untimed, before each first-sync sample)."""
        from sqlalchemy import delete

        from app.extensions import db
        from app.models import BackgroundJob, IndexedEntry
        from app.services import entry_index

        jobs = BackgroundJob.__table__
        with self.app.app_context():
            with db.engine.begin() as conn:
                conn.execute(delete(IndexedEntry.__table__))
                conn.execute(delete(jobs).where(jobs.c.name == entry_index.JOB))
            if db.engine.dialect.name == "sqlite":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            if entry_index.status().ready:
                raise BenchError("the index still reports a sync after the reset")

    def sync(self, count: int | None, first: bool) -> float:
        """One ``entry_index.sync()``, checked; milliseconds."""
        from app.services import entry_index

        with self.app.app_context():
            started = time.perf_counter()
            result = entry_index.sync()
            ms = (time.perf_counter() - started) * 1000
        if result.first != first or result.malformed or (count and result.entries != count):
            raise BenchError(f"unexpected sync result (first={result.first}): {result.summary()}")
        if not first and (result.added or result.removed or result.changed or result.outside):
            raise BenchError(f"a re-sync with nothing changed changed things: {result.summary()}")
        return ms

    def job_started(self) -> str | None:
        from app.extensions import db
        from app.services import entry_index, jobs

        with self.app.app_context():
            state = jobs.state(db.engine, entry_index.JOB)
        return None if state is None else str(state.started_at)

    def picks(self) -> dict[str, Any]:
        """Entries and a search term for the pages, chosen from the index."""
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import IndexedEntry as E
        from app.services.entry_index import live, text_filter

        def one(column, *where):
            return db.session.scalar(select(column).where(live(), *where).order_by(E.id).limit(1))

        def matching(*where) -> int:
            return db.session.scalar(select(func.count()).select_from(E).where(live(), *where))

        direct = E.secret_provider_id.is_(None)
        with self.app.app_context():
            picks: dict[str, Any] = {"total": matching()}
            picks["save"] = one(E.id, direct, E.proxy_mode == "country")
            picks["detail"] = one(E.id, direct, E.id != picks["save"])
            picks["detail_pid"] = one(E.permissioned_user_id, E.id == picks["detail"])
            picks["detail_domain"] = one(E.domain, E.id == picks["detail"])
            picks["tfa"] = one(E.id, direct, E.tfa == "AUTHENTICATOR", E.fp_tfa_secret.is_not(None))
            # a search term that matches a few entries: the shortest prefix (3+ characters)
            # of a UUID-shaped permissioned user id that matches at most 20
            uuid_pid = one(E.permissioned_user_id, func.length(E.permissioned_user_id) == 36)
            if uuid_pid:
                for length in range(3, 37):
                    term = uuid_pid[:length]
                    hits = matching(text_filter(term))
                    if hits <= 20:
                        picks["term"], picks["term_hits"] = term, hits
                        break
            picks["tfa_email"] = matching(E.tfa == "EMAIL")
        missing = [k for k in ("save", "detail", "tfa", "term") if not picks.get(k)]
        if missing:
            raise BenchError(f"the seed has no entry for {missing}; use more entries")
        picks["last_page"] = max(1, math.ceil(picks["total"] / PER_PAGE))
        return picks


def shown_count(html: str) -> int | None:
    """The "of N" count of the results bar."""
    match = re.search(r"of <strong>([\d,]+)</strong>", html)
    return int(match[1].replace(",", "")) if match else None


class Pages:
    """The warm operations, each a callable returning its time in ms (checked)."""

    def __init__(self, console: Console, picks: dict[str, Any]) -> None:
        self.console = console
        self.picks = picks
        self.saves = 0
        last = picks["last_page"]
        #: name → (path, htmx, expected "of N" count or None)
        self.lists = {
            "first page": ("/entries", False, picks["total"]),
            "search": (f"/entries?q={picks['term']}", True, picks["term_hits"]),
            "filter": ("/entries?tfa=EMAIL", True, picks["tfa_email"]),
            "sort": ("/entries?sort=updated&dir=desc", True, picks["total"]),
            "last page": (f"/entries?page={last}", True, picks["total"]),
        }
        self.labels = {
            "first page": "first page /entries",
            "search": f"search ?q={picks['term']} ({picks['term_hits']} hits, htmx)",
            "filter": f"filter ?tfa=EMAIL ({picks['tfa_email']:,} hits, htmx)",
            "sort": "sort ?sort=updated&dir=desc (htmx)",
            "last page": f"last page ?page={last} (htmx)",
            "detail": "detail /entries/<id>",
            "section save": "section save POST …/sections/proxy (htmx)",
            "2FA code": "2FA code POST …/tfa-code (htmx)",
        }

    def operations(self) -> dict[str, Callable[[], float]]:
        ops: dict[str, Callable[[], float]] = {
            name: (lambda n=name: self.list_page(n)) for name in self.lists
        }
        ops["detail"] = self.detail
        ops["section save"] = lambda: self.save_post(self.save_form())
        return ops

    def _get(self, path: str, htmx: bool) -> tuple[float, str]:
        headers = {"HX-Request": "true"} if htmx else {}
        started = time.perf_counter()
        response = self.console.client.get(path, headers=headers)
        body = response.get_data(as_text=True)
        ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {path} → {response.status_code}: {body[:300]!r}")
        return ms, body

    def list_page(self, name: str) -> float:
        path, htmx, expected = self.lists[name]
        ms, html = self._get(path, htmx)
        if shown_count(html) != expected:
            raise BenchError(f"GET {path}: shows {shown_count(html)} entries, not {expected}")
        if name == "last page" and f"–{expected:,}</strong>" not in html:
            raise BenchError(f"GET {path} is not the last page")
        return ms

    def detail(self) -> float:
        ms, html = self._get(f"/entries/{self.picks['detail']}", False)
        if self.picks["detail_pid"] not in html:
            raise BenchError("the detail page does not show the entry")
        return ms

    def hx_post(self, path: str, data: dict[str, str]) -> tuple[float, Any]:
        headers = {"HX-Request": "true", "X-CSRFToken": self.console.token}
        started = time.perf_counter()
        response = self.console.client.post(path, data=data, headers=headers)
        response.get_data()
        return (time.perf_counter() - started) * 1000, response

    def save_form(self) -> dict[str, str]:
        """What the browser submits for the Proxy section's edit form, changed (untimed)."""
        base = f"/entries/{self.picks['save']}/sections/proxy"
        fields = form_fields(self.console.page(f"{base}/edit", htmx=True), "form-proxy")
        if not fields.get("csrf_token") or "updated_at" not in fields:
            raise BenchError(f"GET {base}/edit: no form-proxy with csrf_token and updated_at")
        fields["proxy_setting"] = "country"
        other = [c for c in COUNTRIES if c != fields.get("proxy_value")]
        fields["proxy_value"] = other[0]
        return fields

    def save_post(self, fields: dict[str, str]) -> float:
        path = f"/entries/{self.picks['save']}/sections/proxy"
        ms, response = self.hx_post(path, fields)
        trigger = response.headers.get("HX-Trigger", "")
        if response.status_code != 200 or "Saved" not in trigger:
            body = response.get_data(as_text=True)[:300]
            raise BenchError(f"POST {path} → {response.status_code} {trigger!r}: {body!r}")
        self.saves += 1
        return ms

    def tfa_code(self) -> float:
        path = f"/entries/{self.picks['tfa']}/tfa-code"
        ms, response = self.hx_post(path, {"round": "1"})
        html = response.get_data(as_text=True)
        if response.status_code != 200 or 'id="tfa-digits"' not in html:
            raise BenchError(f"POST {path} → {response.status_code}: no code: {html[:300]!r}")
        return ms


class Baseline:
    """``GET /vault`` + ``json.loads`` with plain requests (keep-alive session): ms."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.session = requests.Session()
        self.url = base_url + "/vault"
        self.headers = {"cc-key": api_key}
        self.http: list[float] = []  # ms until the body's last byte, per sample
        self.entries = 0

    def __call__(self) -> float:
        started = time.perf_counter()
        response = self.session.get(self.url, headers=self.headers, timeout=BASELINE_TIMEOUT)
        body = response.content
        received = time.perf_counter()
        data = json.loads(body)
        done = time.perf_counter()
        if response.status_code != 200 or not isinstance(data, list):
            raise BenchError(f"GET /vault → {response.status_code}: {body[:200]!r}")
        self.entries = len(data)
        self.http.append((received - started) * 1000)
        return (done - started) * 1000

    def one_entry(self, pid: str, domain: str) -> float:
        """A reference, not the console: two GETs of one entry back to back on the kept-alive
        connection; ms of the second (what each of the console's calls pays in a row)."""
        params = {"permissioned_user_id": pid, "domain": domain}
        for _ in range(2):
            started = time.perf_counter()
            response = self.session.get(
                self.url, params=params, headers=self.headers, timeout=BASELINE_TIMEOUT
            )
            response.content  # noqa: B018 - read the body
            ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise BenchError(f"GET /vault?permissioned_user_id=… → {response.status_code}")
        return ms


# ------------------------------------------------------------------------- children


def child_time(config: dict[str, Any]) -> dict[str, Any]:
    size, runs, budget = config["size"], config["runs"], config["budget"]
    tag = f"[{size:,}]"
    load_before = os.getloadavg()
    console = Console(config, config["base_url"], config["instance"])
    baseline = Baseline(config["base_url"], config["api_key"])
    baseline()  # warm-up: connection, and how many entries the sandbox lists
    count = baseline.entries
    if count < size:
        raise BenchError(f"the sandbox lists {count:,} entries, not {size:,}")

    # ---- first sync into an empty index, paired with the baseline
    console.reset_index()
    console.sync(count, first=True)  # warm-up (imports, statement caches)
    sync, sync_base = [], []
    baseline.http.clear()
    spent = time.perf_counter()
    while len(sync) < runs:
        console.reset_index()
        gc.collect()
        pair = [(sync_base, baseline), (sync, lambda: console.sync(count, first=True))]
        if len(sync) % 2:
            pair.reverse()
        for into, fn in pair:
            into.append(fn())
        say(f"  {tag} first sync {len(sync)}/{runs}: {sync[-1]:,.0f} ms "
            f"(baseline {sync_base[-1]:,.0f} ms)")  # fmt: skip
        if len(sync) >= min(runs, 5) and time.perf_counter() - spent > budget:
            say(f"  {tag} first sync: --budget {budget:g} s spent, {len(sync)} samples")
            break
    sync_http = list(baseline.http)

    resync = None
    if size <= config["resync_max"]:
        gc.collect()
        resync = console.sync(count, first=False)
        say(f"  {tag} re-sync with nothing changed: {resync:,.0f} ms")

    # ---- warm pages, one baseline sample per round
    job_started = console.job_started()
    picks = console.picks()
    if picks["total"] != count:
        raise BenchError(f"the index holds {picks['total']:,} entries, not {count:,}")
    pages = Pages(console, picks)
    ops = pages.operations()
    for fn in ops.values():  # warm-up round (and the checks of every page)
        fn()
    warm: dict[str, list[float]] = {name: [] for name in ops}
    warm_base: list[float] = []
    one_entry: list[float] = []
    names = list(ops)
    spent = time.perf_counter()
    rounds = 0
    while rounds < runs:
        gc.collect()
        warm_base.append(baseline())
        one_entry.append(baseline.one_entry(picks["detail_pid"], picks["detail_domain"]))
        k = rounds % len(names)
        for name in names[k:] + names[:k]:
            warm[name].append(ops[name]())
        rounds += 1
        if rounds >= min(runs, 5) and time.perf_counter() - spent > budget:
            say(f"  {tag} warm pages: --budget {budget:g} s spent, {rounds} rounds")
            break
    if console.job_started() != job_started:
        raise BenchError("a sync ran during the warm pages: the timings are not of warm pages")
    say(f"  {tag} warm pages: {rounds} rounds, "
        + ", ".join(f"{n} {statistics.median(v):.1f} ms" for n, v in warm.items()))  # fmt: skip
    return {
        "entries": count,
        "sync": sync,
        "sync_base": sync_base,
        "sync_http": sync_http,
        "resync": resync,
        "warm": warm,
        "warm_base": warm_base,
        "one_entry": one_entry,
        "labels": pages.labels,
        "picks": {k: v for k, v in picks.items() if not k.startswith("detail_")},
        "saves": pages.saves,
        "load": [load_before[0], os.getloadavg()[0]],
    }


def child_rss(config: dict[str, Any]) -> dict[str, Any]:
    """Resident memory of a fresh console process after serving the warm pages."""
    console = Console(config, config["base_url"], config["instance"])
    gc.collect()
    signed_in = proc_status("VmRSS")
    pages = Pages(console, console.picks())
    ops = pages.operations()
    for _ in range(config["runs"]):
        for fn in ops.values():
            fn()
    gc.collect()
    return {
        "signed_in": signed_in,
        "rss": proc_status("VmRSS"),
        "hwm": proc_status("VmHWM"),
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "requests": config["runs"] * len(ops),
    }


def child_calls(config: dict[str, Any]) -> dict[str, Any]:
    """Requests that reach the sandbox per action, through a counting proxy."""
    proxy = CountingProxy(config["base_url"])
    try:
        console = Console(config, proxy.base_url, config["instance"])
        seen: dict[str, list[str]] = {}
        seen["sync"] = proxy.count(lambda: console.sync(None, first=True))
        pages = Pages(console, console.picks())
        for name in pages.lists:
            seen[name] = proxy.count(lambda n=name: pages.list_page(n))
        seen["detail"] = proxy.count(pages.detail)
        fields = pages.save_form()  # the edit form's GET is not the save's
        seen["section save"] = proxy.count(lambda: pages.save_post(fields))
        seen["2FA code"] = proxy.count(pages.tfa_code)
        return {"seen": seen, "labels": pages.labels}
    finally:
        proxy.stop()


CHILDREN = {"time": child_time, "rss": child_rss, "calls": child_calls}


# ------------------------------------------------------------------------- report


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def report(results: dict[int, dict[str, Any]], calls: dict[str, Any] | None, meta: dict) -> None:
    print()
    print(
        f"Entries list on the entries index — Python {sys.version.split()[0]}, SQLite "
        f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"--runs {meta['runs']}, --budget {meta['budget']:g} s, --sandbox-timeout "
        f"{meta['sandbox_timeout']:g} s; total {meta['wall']:.0f} s"
    )
    print(f"Console code: {meta['code']}.")
    if meta["changed"]:
        print(
            "WARNING: app/ or templates/ changed on disk during the run (checked after sizes "
            f"{', '.join(meta['changed'])}): those sizes may have measured different code."
        )
    print(
        "Load average (1 min) before/after each size's timings: "
        + "; ".join(
            f"{size:,}: {r['time']['load'][0]:.1f} / {r['time']['load'][1]:.1f}"
            for size, r in results.items()
        )
        + f"; now {os.getloadavg()[0]:.1f}. Other processes on this machine compete for the "
        "CPUs: compare runs only at similar load."
    )
    print()
    print("| entries | operation | n | median ms | p95 ms | × baseline | aim | met |")
    print("|--:|---|--:|--:|--:|--:|---|---|")
    met = total = 0

    def row(size, name, values, base, aim="", ok=None):
        nonlocal met, total
        median = statistics.median(values)
        ratio = median / statistics.median(base) if base else float("nan")
        if ok is not None:
            total += 1
            met += ok
        print(
            f"| {size:,} | {name} | {len(values)} | {median:,.1f} | {percentile(values, 95):,.1f} "
            f"| {ratio:.2f} | {aim} | {'' if ok is None else yes(ok)} |"
        )

    for size, r in results.items():
        t = r["time"]
        row(size, "**baseline**: GET /vault + json.loads (sync phase)", t["sync_base"],
            t["sync_base"])  # fmt: skip
        row(size, "  of which the HTTP body (bytes)", t["sync_http"], t["sync_base"])
        ratio = statistics.median(t["sync"]) / statistics.median(t["sync_base"])
        row(size, "first sync into an empty index", t["sync"], t["sync_base"],
            f"≤ {SYNC_AIM:g}× baseline", ratio <= SYNC_AIM)  # fmt: skip
        if t["resync"] is not None:
            row(size, "re-sync, nothing changed (1 sample)", [t["resync"]], t["sync_base"])
        row(size, "**baseline**: GET /vault + json.loads (warm phase)", t["warm_base"],
            t["warm_base"])  # fmt: skip
        row(size, "  reference: sandbox GET of one entry, 2nd of 2 on a kept-alive connection",
            t["one_entry"], t["warm_base"])  # fmt: skip
        for name, values in t["warm"].items():
            ok = (
                statistics.median(values) <= WARM_P50_AIM and percentile(values, 95) <= WARM_P95_AIM
            )
            aim = f"p50 ≤ {WARM_P50_AIM:g}, p95 ≤ {WARM_P95_AIM:g} ms"
            row(size, f"warm: {t['labels'][name]}", values, t["warm_base"], aim, ok)

    print()
    sizes = list(results)
    smallest = results[sizes[0]]["rss"]["rss"]
    print("Resident memory of a fresh console process per size (VmRSS after signing in and")
    print("after serving the warm pages; peak = VmHWM, which includes the sign-in's Argon2id):")
    print()
    print("| entries | after sign-in MB | after warm pages MB | growth vs "
          f"{sizes[0]:,} MB | peak MB | aim | met |")  # fmt: skip
    print("|--:|--:|--:|--:|--:|---|---|")
    for size in sizes:
        m = results[size]["rss"]
        growth = m["rss"] - smallest
        aim, ok = "", None
        if size == sizes[-1] and len(sizes) > 1:
            aim = f"≤ +{RSS_GROWTH_AIM:g} MB ({sizes[0]:,} → {size:,})"
            ok = growth <= RSS_GROWTH_AIM
            total += 1
            met += ok
        print(
            f"| {size:,} | {m['signed_in']:.1f} | {m['rss']:.1f} | {growth:+.1f} | "
            f"{m['hwm']:.1f} | {aim} | {'' if ok is None else yes(ok)} |"
        )

    if calls:
        print()
        print(f"Upstream requests per action at the sandbox ({calls['size']:,} entries, through "
              "the counting proxy; a section save's edit-form GET is not counted):")  # fmt: skip
        print()
        print("| action | requests | expected | met | what reached the sandbox |")
        print("|---|--:|--:|---|---|")
        for name, seen in calls["seen"].items():
            expected = EXPECTED_CALLS[name]
            ok = len(seen) == expected
            total += 1
            met += ok
            label = "sync (entry_index.sync())" if name == "sync" else calls["labels"][name]
            print(f"| {label} | {len(seen)} | {expected} | {yes(ok)} | "
                  f"{', '.join(seen) or '—'} |")  # fmt: skip

    print()
    for size, r in results.items():
        p = r["time"]["picks"]
        print(
            f"{size:,} entries: sandbox start with seeding {r['seed']:.1f} s; search term "
            f"{p['term']!r} ({p['term_hits']} hits); {r['time']['saves']} section saves in the "
            f"timing child; RSS child served {r['rss']['requests']} requests"
        )
    print(f"\nAims met: {met} of {total}.")


# ------------------------------------------------------------------------- main


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        message = f"not a comma-separated list of numbers: {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("sizes must be at least 100 entries")
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries",
        type=parse_sizes,
        help=f"comma-separated sizes (default {DEFAULT_SIZES}, or $BENCH_ENTRIES)",
    )
    parser.add_argument("--runs", type=int, default=20, help="samples per operation")
    parser.add_argument(
        "--budget",
        type=float,
        default=240,
        help="seconds per size for the first-sync samples, and again for the warm rounds: "
        "past it, sampling stops (at least 5 samples)",
    )
    parser.add_argument(
        "--resync-max",
        type=int,
        default=10_000,
        help="measure one re-sync with nothing changed at sizes up to this (default 10000)",
    )
    parser.add_argument(
        "--sandbox-timeout",
        type=float,
        default=600,
        help="socket timeout of the sandbox's connections in seconds (default 600; 0 keeps the "
        "sandbox's own 15 s, which cuts off a GET /vault read for longer than that)",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.entries is None:
        try:
            args.entries = parse_sizes(os.environ.get("BENCH_ENTRIES") or DEFAULT_SIZES)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"BENCH_ENTRIES: {exc}")

    if args.child:
        config = json.loads(args.config)
        try:
            result = CHILDREN[args.child](config)
        except BenchError as exc:
            print(f"list_page bench ({args.child} child): {exc}", file=sys.stderr)
            return 1
        Path(config["result"]).write_text(json.dumps(result))
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the temp dir is removed
    started = time.perf_counter()
    sizes = args.entries
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; sizes "
        f"{', '.join(f'{s:,}' for s in sizes)}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    code = code_state()
    print(f"console code: {code}", flush=True)
    results: dict[int, dict[str, Any]] = {}
    calls = None
    failed = None
    changed: list[str] = []  # sizes after which app/ or templates/ differed from the start
    with tempfile.TemporaryDirectory(prefix="vault-console-list-bench-") as tmpdir:
        for size in sizes:
            folder = Path(tmpdir) / str(size)
            folder.mkdir()
            print(f"[{size:,}] seeding a standalone sandbox…", flush=True)
            try:
                proc, url, api_key, enc_key, seed = start_sandbox(
                    folder, size, args.sandbox_timeout
                )
            except BenchError as exc:
                failed = str(exc)
                break
            print(f"[{size:,}] sandbox up in {seed:.1f} s (seeding included)", flush=True)
            config = {
                "size": size, "runs": args.runs, "budget": args.budget,
                "resync_max": args.resync_max, "base_url": url, "api_key": api_key,
                "enc_key": enc_key, "instance": str(folder / "instance"),
            }  # fmt: skip
            try:
                timed = run_child("time", config, folder)
                rss = run_child("rss", config, folder)
                results[size] = {"seed": seed, "time": timed, "rss": rss}
                print(f"[{size:,}] RSS after warm pages {rss['rss']:.1f} MB", flush=True)
                if size == sizes[0]:
                    config["instance"] = str(folder / "calls-instance")
                    calls = {"size": size, **run_child("calls", config, folder)}
            except BenchError as exc:
                failed = str(exc)
            finally:
                stop(proc)
            if code_state() != code:
                changed.append(f"{size:,}")
            if failed:
                break
    meta = {
        "code": code,
        "changed": changed,
        "runs": args.runs,
        "budget": args.budget,
        "sandbox_timeout": args.sandbox_timeout,
        "wall": time.perf_counter() - started,
    }
    if results:
        report(results, calls, meta)
    if failed:
        print(f"\nlist_page bench failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
