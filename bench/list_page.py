"""Benchmark: the entries list page at 10,000 entries (run on demand, not a test).

    .venv/bin/python bench/list_page.py [--entries 10000] [--runs 25]

Starts a standalone sandbox (a separate process, as the real API would be) seeded with
``--entries`` entries, then measures, in one run:

* the raw ``GET /vault`` fetch through the console's client, i.e. HTTP plus JSON decoding,
  what any client must do before it can use the answer (the baseline); the bytes-only
  HTTP time is shown beside it;
* the list page with a cold cache (fetch + index + render), first page;
* the list page with a warm cache: first page, a search, a filter, a sort.

Times are the server-side time of the console's view (Flask test client, in-process),
reported as medians and as ratios against the raw fetch of the same run. Aims from the
issue: warm pages ≤ 50 ms median, cold page ≤ 1.5 × the raw fetch.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Upstream  # noqa: E402
from app.services import operators  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(tmp: Path, entries: int) -> tuple[subprocess.Popen, str, str, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "app.sandbox", "--host", "127.0.0.1", "--port", str(port),
            "--data", str(tmp / "sandbox.db"), "--seed", str(entries), "--no-rate-limit",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    deadline = time.time() + 300
    api_key = enc_key = None
    while time.time() < deadline and not (api_key and enc_key):
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise SystemExit("sandbox exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if m := re.match(r"CLOUDCRUISE_API_KEY=(\S+)", line.strip()):
            api_key = m.group(1)
        if m := re.match(r"CLOUDCRUISE_ENCRYPTION_KEY=(\S+)", line.strip()):
            enc_key = m.group(1)
    if not (api_key and enc_key):
        raise SystemExit("sandbox did not print its keys:\n" + "".join(lines))
    return proc, f"http://127.0.0.1:{port}", api_key, enc_key


def timed(fn, runs: int, before=None) -> float:
    samples = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print(f"seeding a standalone sandbox with {args.entries:,} entries…", flush=True)
        proc, base_url, api_key, enc_key = start_sandbox(tmp, args.entries)
        try:
            app = create_app(
                {
                    "ENV": {},
                    "INSTANCE_PATH": str(tmp / "instance"),
                    "UPSTREAM": Upstream(True, base_url, api_key, enc_key),
                    "ENTRY_CACHE_TTL": 3600,
                    "LOG_LEVEL": "WARNING",
                }
            )
            with app.app_context():
                operators.create("bench", "viewer", "bench-password-123")
            client = app.test_client()
            html = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]
            client.post(
                "/login",
                data={"username": "bench", "password": "bench-password-123", "csrf_token": token},
            )
            holder = app.extensions["upstream"]
            upstream = holder.client()
            count = len(upstream.list_entries())
            assert count >= args.entries, count

            def get(path: str, htmx: bool = False):
                headers = {"HX-Request": "true"} if htmx else {}
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.status_code

            def invalidate():
                cache = getattr(holder, "entry_cache", None)
                if cache:
                    cache.invalidate()

            # Baseline and cold page are measured alternately, so drift (and the GC state:
            # the cache freezes its snapshot, see entry_cache) affects both alike.
            http_only, raw_samples, cold_samples = [], [], []
            for _ in range(args.runs):
                gc.collect()
                http_only.append(timed(lambda: upstream.session.get(
                    f"{base_url}/vault", timeout=60).content, 1))  # fmt: skip
                gc.collect()
                raw_samples.append(timed(upstream.list_entries, 1))
                gc.freeze()
                gc.collect()
                cold_samples.append(timed(lambda: get("/entries"), 1, before=invalidate))
            http = statistics.median(http_only)
            raw = statistics.median(raw_samples)
            cold = statistics.median(cold_samples)
            get("/entries")  # warm the cache
            warm = {
                "first page": timed(lambda: get("/entries"), args.runs),
                "search (htmx)": timed(lambda: get("/entries?q=availity", True), args.runs),
                "filter (htmx)": timed(
                    lambda: get("/entries?tfa=EMAIL&session=expired", True), args.runs
                ),
                "sort (htmx)": timed(
                    lambda: get("/entries?sort=updated&dir=desc", True), args.runs
                ),
                "page 50 (htmx)": timed(
                    lambda: get("/entries?page=50&per_page=100", True), args.runs
                ),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print()
    print(
        f"List page at {count:,} entries — median of {args.runs} runs (ms), "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print()
    print(f"| {'measurement':<28} | {'median ms':>9} | {'× raw fetch':>11} | aim |")
    print(f"|{'-' * 30}|{'-' * 11}|{'-' * 13}|-----|")
    print(f"| {'GET /vault bytes over HTTP':<28} | {http:9.1f} | {http / raw:11.2f} |     |")
    print(f"| {'raw GET /vault (baseline)':<28} | {raw:9.1f} | {1:11.2f} |     |")
    ok = "✓" if cold <= 1.5 * raw else "✗"
    print(f"| {'cold cache, first page':<28} | {cold:9.1f} | {cold / raw:11.2f} | {ok} ≤ 1.5× |")
    for name, value in warm.items():
        ok = "✓" if value <= 50 else "✗"
        print(f"| {'warm, ' + name:<28} | {value:9.1f} | {value / raw:11.2f} | {ok} ≤ 50 ms |")


if __name__ == "__main__":
    main()
