"""Benchmark: the audit log at 1,000,000 events (run on demand, not a test).

    .venv/bin/python bench/audit.py [--events 1000000] [--runs 15] [--appends 2000]

Builds a console database in a temp dir holding ``--events`` audit events: a valid hash
chain computed here with :func:`app.services.audit.canonical` (the same text
:func:`~app.services.audit.chain_hash` hashes), inserted with ``executemany`` in one
transaction. The mix is meant to look like a year of use: ~20 operators (a few busy ones),
~2,000 entries (a few hot ones), every action of ``app/audit/query.py``, attempt/result
pairs for upstream actions, mostly successes with some failures and refusals.

Then, in one run, it measures:

* the audit page (Flask test client, in-process, full page loads): unfiltered (the
  baseline), filtered by entry, operator, action, outcome, date range, free-text search,
  and an "older" page deep in the log (keyset cursor), as an editor and as an admin (the
  admin's page also runs the incremental chain verification and writes a checkpoint);
* the admin's first page view with no checkpoint yet (a full verification inline);
* a full ``verify`` of the whole chain;
* append throughput with 1 and with 4 processes appending to the same file.

Page times are medians (each page sampled ``--runs`` times, fewer when a page is slow: at
most ~``--budget`` seconds per page and view). Every sample is taken right after a sample of
the baseline (the unfiltered page, same view), and the ratio is against those baseline
samples, so load from other processes drifts both sides alike; the admin's baseline is also
compared with the editor's (the cost of the chain check). The SQLite query plan of every page's
audit query is printed after the table.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import os
import platform
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.audit.query import ACTIONS  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import operators  # noqa: E402
from app.services.audit_store import (  # noqa: E402
    CHAIN_KEYED,
    COLUMNS,
    GENESIS,
    canonical,
    chain_hash,
)
from app.services.audit_verify import verify, verify_and_checkpoint  # noqa: E402

PASSWORD = "bench-password-123"
BATCH = 50_000

# ------------------------------------------------------------------------- data generation

OPERATOR_NAMES = [
    "alice", "bruno", "chen.wei", "dana", "elif", "farid", "grace", "hiro", "ines", "jonas",
    "kemal", "lena", "marta", "nico", "olu", "priya", "quinn", "rosa", "sven", "tomas",
]  # fmt: skip
ROLES = ["admin"] * 3 + ["editor"] * 12 + ["viewer"] * 5
DOMAINS = [
    "portal.availity.com", "apps.availity.com", "provider.bcbs.com", "www.uhcprovider.com",
    "secure.aetna.com", "provider.cigna.com", "www.humana.com", "provider.anthem.com",
    "login.medicaid.gov", "www.navinet.net", "provider.wellcare.com", "www.caqh.org",
    "ecp.optum.com", "www.emblemhealth.com", "provider.kp.org", "portal.centene.com",
    "secure.mhsindiana.com", "www.molinahealthcare.com", "payer.change.com", "app.waystar.com",
]  # fmt: skip
USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
FAILURES = [
    (502, "CloudCruise answered 502: upstream unavailable"),
    (503, "CloudCruise is unavailable, try again in a minute"),
    (429, "Rate limited by CloudCruise (retry after 30 s)"),
    (400, "CloudCruise rejected the request: invalid field value"),
    (404, "The entry no longer exists upstream"),
]
#: action -> (weight per request, goes upstream = attempt/result pair, has a target entry);
#: ``entry.*.update`` stands for every section-update action in ACTIONS (weight shared)
KNOWN = {
    "auth.login": (0.10, False, False),
    "auth.logout": (0.06, False, False),
    "auth.sudo": (0.06, False, False),
    "entry.create": (0.03, True, True),
    "entry.*.update": (0.15, True, True),
    "entry.delete": (0.01, True, True),
    "entry.clear_state": (0.04, True, True),
    "entry.user_name.reveal": (0.10, True, True),
    "entry.password.reveal": (0.18, True, True),
    "entry.tfa_secret.reveal": (0.04, True, True),
    "entry.proxy_value.reveal": (0.02, True, True),
    "entry.tfa_code.view": (0.20, True, True),
    "operator.create": (0.0005, False, False),
    "operator.role_change": (0.0005, False, False),
    "operator.disable": (0.0003, False, False),
    "audit.export": (0.001, True, False),
}


def is_update(action: str) -> bool:
    return action == "entry.update" or (action.startswith("entry.") and action.endswith(".update"))


def action_mix() -> dict[str, tuple[float, bool, bool]]:
    """Every action of ACTIONS (and only those) with its weight and shape."""
    updates = [a for a in ACTIONS if is_update(a)]
    mix = {}
    for action in ACTIONS:
        if action in KNOWN:
            mix[action] = KNOWN[action]
        elif is_update(action):
            weight, upstream, targeted = KNOWN["entry.*.update"]
            mix[action] = (weight / len(updates), upstream, targeted)
        elif action.startswith("entry."):  # an entry action this bench does not know yet
            mix[action] = (0.01, True, True)
        else:
            mix[action] = (0.001, False, False)
    return mix


MIX = action_mix()
PLAIN_FIELDS = ["domain", "name", "notes", "proxy_setting", "tfa_method", "login_url", "tags"]


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=str)


class World:
    """Operators, entries and the per-action details events are drawn from."""

    def __init__(self, rng: random.Random, entries: int) -> None:
        self.rng = rng
        self.operators = [
            (i + 100, name, ROLES[i], [f"10.{i}.{rng.randrange(256)}.{j}" for j in (11, 12)])
            for i, name in enumerate(OPERATOR_NAMES)
        ]
        self.operator_weights = [1 / (k + 1) ** 0.9 for k in range(len(self.operators))]
        self.entries = []
        for k in range(entries):
            entry_id = f"{rng.getrandbits(96):024x}"
            pid = f"{rng.choice(['npi', 'tin', 'prov', 'acct'])}-{100000 + k * 7}"
            self.entries.append((entry_id, pid, rng.choice(DOMAINS)))
        self.entry_weights = [1 / (k + 1) ** 0.6 for k in range(entries)]
        #: an entry deleted long ago: a few events, all in the oldest 5% of the log
        self.retired = (f"{rng.getrandbits(96):024x}", "acct-retired-1", "portal.availity.com")
        self.actions = list(MIX)
        self.action_weights = [MIX[a][0] for a in self.actions]
        self.change_pool = [self._update_changes() for _ in range(300)]

    def _update_changes(self) -> tuple[str, str]:
        rng = self.rng
        names = rng.sample(PLAIN_FIELDS, rng.randint(1, 3))
        changes = {
            n: {"before": f"old {n} {rng.randrange(99)}", "after": f"new {n}"} for n in names
        }
        if rng.random() < 0.3:
            secret = rng.choice(["password", "tfa_secret", "user_name"])
            names.append(secret)
            changes[secret] = {"changed": True, "fingerprint": f"{rng.getrandbits(128):032x}"}
        return _json(sorted(names)), _json(changes)

    def requests(self, count: int):
        """Yield lists of partial rows (one per event of a request), ``count`` events in all."""
        rng = self.rng
        made = 0
        ops = rng.choices(self.operators, self.operator_weights, k=count)
        acts = rng.choices(self.actions, self.action_weights, k=count)
        ents = rng.choices(self.entries, self.entry_weights, k=count)
        for op, action, entry in zip(ops, acts, ents, strict=True):
            if made >= count:
                return
            weight, upstream, targeted = MIX[action]
            op_id, name, role, ips = op
            base = {
                "request_id": f"{rng.getrandbits(128):032x}",
                "batch_id": None,
                "operator_id": op_id,
                "operator": name,
                "role": role,
                "ip": ips[rng.getrandbits(1)],
                "user_agent": USER_AGENTS[op_id % len(USER_AGENTS)],
                "target_id": None,
                "target_pid": None,
                "target_domain": None,
                "fields": None,
                "changes": None,
                "status": None,
                "message": None,
                "duration_ms": None,
            }
            if action.startswith("operator."):
                base.update(
                    request_id=None, operator_id=None, operator="cli", role=None, ip=None,
                    user_agent=None, target_id=f"operator:{op_id}", target_pid=name,
                    changes=_json({"role": {"after": role}}),
                )  # fmt: skip
            if targeted and made < count // 20 and rng.random() < 500 / count:
                entry = self.retired
            if targeted:
                base.update(target_id=entry[0], target_pid=entry[1], target_domain=entry[2])
            if action.endswith(".reveal"):
                base["fields"] = _json([action.split(".")[1]])
            elif is_update(action):
                base["fields"], base["changes"] = rng.choice(self.change_pool)
            elif action == "entry.clear_state":
                base["fields"] = _json(["cookies", "local_storage", "session_storage"])
            elif action == "entry.tfa_code.view":
                base["message"] = f"round {rng.randint(1, 3)}"
            elif action == "audit.export":
                base["message"] = "csv export, filters {}"
            roll = rng.random()
            if upstream and not (action in ("entry.create", "entry.delete") and roll < 0.08):
                attempt = {**base, "action": action, "phase": "attempt", "outcome": "attempt"}
                result = {**base, "action": action, "phase": "result"}
                result["duration_ms"] = round(rng.lognormvariate(5.0, 0.6), 2)
                if rng.random() < 0.05:
                    result["status"], result["message"] = rng.choice(FAILURES)
                    result["outcome"] = "failure"
                else:
                    result["outcome"] = "success"
                made += 2
                yield [attempt, result]
                continue
            row = {**base, "action": action, "phase": "event", "outcome": "success"}
            if action == "auth.login" and roll < 0.06:
                row.update(outcome="failure", message="wrong username or password")
            elif action == "auth.login" and roll < 0.08:
                row.update(outcome="refused", message="Too many failed sign-ins; wait 15 minutes")
            elif action == "auth.sudo" and roll < 0.07:
                row.update(outcome="failure", message="wrong password")
            elif upstream and roll < 0.08:  # create/delete refused before the upstream call
                row.update(outcome="refused", message="duplicate entry", fields=None)
            made += 1
            yield [row]


def generate(db_path: Path, events: int, key: bytes, seed: int = 7) -> dict:
    """Insert ``events`` events linked under the chain ``key`` (as the console appends them
    now); returns timings and a few values to query for."""
    rng = random.Random(seed)
    world = World(rng, entries=2000)
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365).total_seconds() / events  # seconds between events on average
    names = (*COLUMNS, "hash")
    placeholders = ", ".join("?" * len(names))
    # column names come from the model, values are bound
    insert = f"INSERT INTO audit_events ({', '.join(names)}) VALUES ({placeholders})"  # noqa: S608
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA cache_size=-1048576")  # 1 GiB: the unique hash index is random-order
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN IMMEDIATE")
    assert con.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 0
    sha256 = hashlib.sha256
    new_mac = hmac.new
    prev = GENESIS
    i = 0
    batch: list[tuple] = []
    insert_time = 0.0
    t0 = time.perf_counter()
    request_ids: list[str] = []
    for request in world.requests(events):
        offset = (i + rng.random() * 0.5) * step
        for row in request:
            i += 1
            if i > events:
                break
            row["id"] = i
            row["prev_hash"] = prev
            row["ts"] = (start + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            row["chain"] = CHAIN_KEYED
            offset += 0.2 * step
            # == chain_hash(prev, row, key), inlined: canonical() is the hashed text
            link = new_mac(key, (prev + canonical(row)).encode(), sha256)
            prev = row["hash"] = link.hexdigest()
            batch.append(tuple(row[n] for n in names))
            if i == 1:
                assert row["hash"] == chain_hash(GENESIS, row, key)
        if request[0].get("request_id") and rng.random() < 0.001:
            request_ids.append(request[0]["request_id"])
        if len(batch) >= BATCH or i >= events:
            t1 = time.perf_counter()
            con.executemany(insert, batch)
            insert_time += time.perf_counter() - t1
            batch.clear()
        if i >= events:
            break
    con.execute("COMMIT")
    build = time.perf_counter() - t0 - insert_time
    t1 = time.perf_counter()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint = time.perf_counter() - t1
    con.close()
    return {
        "build": build,
        "insert": insert_time,
        "checkpoint": checkpoint,
        "world": world,
        "request_ids": request_ids,
    }


# ------------------------------------------------------------------------------ measuring


def sign_in(app, username: str):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code in (302, 303), response.status_code
    return client


def get_page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def once(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def query_plans(app, client, path: str, con: sqlite3.Connection) -> list[str]:
    """EXPLAIN QUERY PLAN of the page query (the one with ORDER BY ... LIMIT)."""
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM audit_events" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        get_page(client, path)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    for statement, parameters in seen[:1]:
        rows = con.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        plans.append("; ".join(r[-1] for r in rows))
    return plans


APPENDER = r"""
import json, sys, time
from app import create_app
from app.services.audit import Actor, AuditUnavailable, record

instance, proc, appends = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = create_app({"ENV": {}, "INSTANCE_PATH": instance, "LOG_LEVEL": "ERROR"})
actor = Actor(None, f"bench{proc}", None)
with app.app_context():
    record("auth.login", "success", message="warm-up", actor=actor)
    print("ready", flush=True)
    sys.stdin.readline()
    latencies, failures = [], 0
    start = time.time()
    for n in range(appends):
        t = time.perf_counter()
        try:
            record("entry.password.reveal", "success", message=f"p{proc}:n{n}", actor=actor,
                   target={"id": "bench", "permissioned_user_id": "bench", "domain": "x.test"})
        except AuditUnavailable:
            failures += 1
        latencies.append(time.perf_counter() - t)
    end = time.time()
print(json.dumps({"start": start, "end": end, "latencies": latencies, "failures": failures}))
"""


def append_round(instance: Path, processes: int, appends: int) -> dict:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(instance), str(p), str(appends)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for p in range(processes)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        assert child.returncode == 0
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    latencies = sorted(x for r in reports for x in r["latencies"])
    total = processes * appends
    return {
        "rate": total / wall,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "max": latencies[-1] * 1000,
        "failures": sum(r["failures"] for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--appends", type=int, default=2000, help="appends per process")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per page and view")
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    args = parser.parse_args()

    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the temp dir is removed
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        instance = Path(args.keep or tmpdir) / "instance"
        app = create_app({"ENV": {}, "INSTANCE_PATH": str(instance), "LOG_LEVEL": "ERROR"})
        log = app.extensions["audit"]
        db_path = Path(log.engine.url.database)

        print(f"generating {args.events:,} events…", flush=True)
        t0 = time.perf_counter()
        gen = generate(db_path, args.events, log.chain_key)
        generation = time.perf_counter() - t0
        size = db_path.stat().st_size / 2**20
        print(
            f"generated in {generation:.1f} s (rows + hash chain {gen['build']:.1f} s, "
            f"executemany {gen['insert']:.1f} s, WAL checkpoint {gen['checkpoint']:.1f} s); "
            f"database {size:,.0f} MiB",
            flush=True,
        )
        world: World = gen["world"]

        with app.app_context():
            operators.create("bench-admin", "admin", PASSWORD)
            operators.create("bench-editor", "editor", PASSWORD)
            for _, name, role, _ in world.operators:
                operators.create(name, role, PASSWORD)
        editor = sign_in(app, "bench-editor")
        admin = sign_in(app, "bench-admin")

        # A full verification never runs inside a page view: the admin's first view says
        # "Not verified yet"; the full walk (timed separately below as verify()) sets the
        # checkpoint, after which each admin view checks only newer events.
        first_admin = once(lambda: get_page(admin, "/audit"))
        with app.app_context():
            verify_and_checkpoint(app.extensions["audit"], full=True)
        html = get_page(admin, "/audit")
        assert "Chain intact" in html, "chain not intact"

        hot_entry = world.entries[5]
        cold_entry = world.entries[1500]
        top_operator = world.operators[0][1]
        rare_operator = world.operators[17][1]
        deep = max(args.events // 1000, 2)
        week_start = (datetime.now(UTC) - timedelta(days=60)).date()
        half_year = (datetime.now(UTC) - timedelta(days=182)).date()
        common_action = max(MIX, key=lambda a: MIX[a][0])
        rare_action = min(MIX, key=lambda a: MIX[a][0])
        rare_group = rare_action.split(".")[0] + "."
        pages = {
            "unfiltered (baseline)": "/audit",
            "entry = hot entry id": f"/audit?entry={hot_entry[0]}",
            "entry = cold entry's user id": f"/audit?entry={cold_entry[1]}",
            "entry = retired entry id (old events)": f"/audit?entry={world.retired[0]}",
            "operator = busiest": f"/audit?operator={top_operator}",
            "operator = quiet": f"/audit?operator={rare_operator}",
            f"action = {common_action}": f"/audit?action={common_action}",
            f"action = {rare_action} (rare)": f"/audit?action={rare_action}",
            "action group 'auth.'": "/audit?action=auth.",
            f"action group '{rare_group}' (rare)": f"/audit?action={rare_group}",
            "outcome = failure": "/audit?outcome=failure",
            "one week (since/until)": (
                f"/audit?since={week_start}&until={week_start + timedelta(days=6)}"
            ),
            "since 6 months ago": f"/audit?since={half_year}",
            "search: domain word": "/audit?q=availity",
            "search: user id": f"/audit?q={cold_entry[1]}",
            "search: request id": f"/audit?q={gen['request_ids'][len(gen['request_ids']) // 2]}",
            f"older page, before={deep}": f"/audit?before={deep}",
            f"older page, operator, before={deep}": (
                f"/audit?operator={top_operator}&before={deep * 10}"
            ),
        }
        for path in pages.values():  # sanity: each page shows events (and warm up)
            assert "No events" not in get_page(editor, path), path

        baseline_path = pages["unfiltered (baseline)"]
        results: dict[tuple[str, str], list[float]] = {}
        bases: dict[tuple[str, str], list[float]] = {}
        for view, client in (("editor", editor), ("admin", admin)):
            for name, path in pages.items():
                samples, base = [], []
                spent = time.perf_counter()
                while len(samples) < args.runs:
                    gc.collect()
                    pair = [(base, baseline_path), (samples, path)]
                    if len(samples) % 2:  # alternate which of the two goes first
                        pair.reverse()
                    for into, url in pair:
                        into.append(once(lambda c=client, u=url: get_page(c, u)))
                    if len(samples) >= 3 and time.perf_counter() - spent > args.budget:
                        break
                results[(view, name)] = samples
                bases[(view, name)] = base
                print(
                    f"  {view:6} {name:36} {statistics.median(samples):9.1f} ms (n={len(samples)})",
                    flush=True,
                )
        baseline = {
            view: statistics.median(x for (v, _), b in bases.items() if v == view for x in b)
            for view in ("editor", "admin")
        }
        load_after = os.getloadavg()

        con = sqlite3.connect(db_path)
        plans = {name: query_plans(app, editor, path, con) for name, path in pages.items()}
        con.close()

        verify_runs = []
        for _ in range(min(args.runs, 3)):
            started = time.perf_counter()
            result = verify(log)
            verify_runs.append(time.perf_counter() - started)
            assert result.ok, result.summary
        checked = result.checked
        post_verify = once(lambda: admin.post("/audit/verify", data={"csrf_token": _token(admin)}))

        print(f"append throughput ({args.appends} appends per process)…", flush=True)
        appends = {1: [], 4: []}
        for _ in range(3):
            for processes in (1, 4):
                appends[processes].append(append_round(instance, processes, args.appends))
        final = verify(log)

    def row(label: str, values: list[str]) -> None:
        print(f"| {label:<40} | " + " | ".join(values) + " |")

    print()
    print(
        f"Audit log at {args.events:,} events — Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs; generation {generation:.0f} s; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after the page timings"
    )
    print()
    print(
        "| audit page (full page load)              | editor ms | × base | n  "
        "| admin ms | × base | n  |"
    )
    print(
        "|------------------------------------------|----------:|-------:|---:|---------:|-------:|---:|"
    )
    for name in pages:
        cells = []
        for view in ("editor", "admin"):
            samples = results[(view, name)]
            median = statistics.median(samples)
            ratio = median / statistics.median(bases[(view, name)])
            cells += [f"{median:9.1f}", f"{ratio:6.2f}", f"{len(samples):2d}"]
        row(name, cells)
    print()
    print("| other                                    | value |")
    print("|------------------------------------------|------:|")
    row(
        "baseline: editor / admin unfiltered (ms)",
        [
            f"{baseline['editor']:.1f} / {baseline['admin']:.1f} "
            f"(admin × {baseline['admin'] / baseline['editor']:.2f})"
        ],
    )
    row("admin's first view, no checkpoint yet (ms)", [f"{first_admin:,.0f}"])
    row(
        f"full verify() of {checked:,} events (ms)",
        [f"{statistics.median(verify_runs) * 1000:,.0f}"],
    )
    row("POST /audit/verify, full (ms)", [f"{post_verify:,.0f}"])
    for processes in (1, 4):
        rounds = appends[processes]
        rate = statistics.median(r["rate"] for r in rounds)
        one = statistics.median(r["rate"] for r in appends[1])
        p99 = statistics.median(r["p99"] for r in rounds)
        worst = max(r["max"] for r in rounds)
        failed = sum(r["failures"] for r in rounds)
        row(
            f"append, {processes} process{'es' if processes > 1 else ''} (events/s)",
            [f"{rate:,.0f} (× {rate / one:.2f}; p99 {p99:.1f} ms, max {worst:.0f} ms, "
             f"{failed} failed)"],
        )  # fmt: skip
    row("chain after the appends", [final.summary])
    print()
    print("Query plans (the page query, SQLite EXPLAIN QUERY PLAN):")
    for name, plan in plans.items():
        print(f"  {name:36} {' | '.join(plan)}")


def _token(client) -> str:
    html = client.get("/audit").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


if __name__ == "__main__":
    main()
