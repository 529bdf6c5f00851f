"""Several OS processes append to one audit log at once and keep one valid chain.

Each child process builds the app with ``create_app`` on the same instance folder (as every
gunicorn worker does), waits at a barrier (a line on stdin) until all children are ready,
then appends ``APPENDS`` events through :func:`app.services.audit.record`. Each event names
its writer in ``message`` (``p<process>:n<number>``) so lost or doubled events can be told
apart afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.models import AuditEvent
from app.services.audit_store import GENESIS, chain_hash
from app.services.audit_verify import verify

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = 4
APPENDS = 150

#: One appending process. argv: instance folder, process number, appends.
CHILD = r"""
import json, sys, time
from app import create_app
from app.services.audit import Actor, AuditUnavailable, record

instance, proc, appends = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = create_app({"ENV": {}, "INSTANCE_PATH": instance, "LOG_LEVEL": "ERROR"})
actor = Actor(None, f"worker{proc}", None)
print("ready", flush=True)
sys.stdin.readline()  # the barrier: every child is set up before any of them appends
failures, started = [], time.perf_counter()
with app.app_context():
    for n in range(appends):
        try:
            record("auth.login", "success", message=f"p{proc}:n{n}", actor=actor)
        except AuditUnavailable as exc:
            failures.append(f"p{proc}:n{n}: {exc}")
print(json.dumps({"proc": proc, "failures": failures,
                  "seconds": time.perf_counter() - started}), flush=True)
"""


def run_appenders(instance: Path, processes: int = PROCESSES, appends: int = APPENDS) -> list:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(instance), str(proc), str(appends)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for proc in range(processes)
    ]
    try:
        for child in children:
            line = child.stdout.readline()
            assert line.strip() == "ready", (line, child.stderr.read())
        for child in children:  # release them together
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_concurrent_processes_keep_one_valid_chain(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = create_app({"ENV": {}, "INSTANCE_PATH": str(instance), "LOG_LEVEL": "ERROR"})
    engine = app.extensions["audit"].read_engine
    assert Path(engine.url.database).parent == instance

    started = time.perf_counter()
    reports = run_appenders(instance)
    elapsed = time.perf_counter() - started

    failed = {r["proc"]: r["failures"] for r in reports if r["failures"]}
    assert not failed, {p: (len(f), f[0]) for p, f in failed.items()}
    total = PROCESSES * APPENDS
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).mappings().all()

    # nothing lost, nothing doubled
    assert len(rows) == total
    seen = Counter(row["message"] for row in rows)
    expected = {f"p{p}:n{n}" for p in range(PROCESSES) for n in range(APPENDS)}
    assert set(seen) == expected
    assert [m for m, c in seen.items() if c != 1] == []
    # each process's own events keep their order
    for p in range(PROCESSES):
        mine = [int(r["message"].split(":n")[1]) for r in rows if r["operator"] == f"worker{p}"]
        assert mine == list(range(APPENDS))

    # ids contiguous, one unbroken chain, timestamps grow with ids
    assert [row["id"] for row in rows] == list(range(1, total + 1))
    assert rows[0]["prev_hash"] == GENESIS
    for previous, row in zip(rows, rows[1:], strict=False):
        assert row["prev_hash"] == previous["hash"], f"event #{row['id']} links elsewhere"
        assert row["ts"] >= previous["ts"], f"event #{row['id']} is older than #{previous['id']}"
    key = app.extensions["audit"].chain_key  # links are keyed: the database alone cannot
    for row in rows:
        assert chain_hash(row["prev_hash"], row, key) == row["hash"]
        assert chain_hash(row["prev_hash"], row, b"another key" * 3) != row["hash"]
    assert len({row["hash"] for row in rows}) == total
    with app.app_context():
        result = verify(app.extensions["audit"])
    assert result.ok, result.summary
    assert (result.checked, result.last_id) == (total, total)

    # the writers really overlapped (otherwise this test proves nothing)
    writers = [row["operator"] for row in rows]
    switches = sum(a != b for a, b in zip(writers, writers[1:], strict=False))
    assert switches >= 2 * PROCESSES, (switches, f"{elapsed:.1f}s")
