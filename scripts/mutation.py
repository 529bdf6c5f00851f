"""Mutation testing of the security-critical modules (``make mutation``; on demand, not part
of ``make test``).

For each target below, a scratch copy of the checkout gets a ``[tool.mutmut]`` section naming
the module and its own fast tests, and ``mutmut run`` mutates one token at a time
(comparisons, boolean operators, constants, returns, strings…), running only the tests that
cover the mutated function. The report lists, per module, the mutants, those killed, the
survivors (file, function and diff, via ``mutmut show``) and the score:

    score = killed / (mutants - equivalent)

Mutants listed in ``scripts/mutation-equivalents.txt`` (one per line: the mutant's name, a
tab, and why it cannot change behaviour) do not count against a module. "No tests" mutants
(code no test reaches) count as survivors.

    .venv/bin/python scripts/mutation.py [--only crypto,throttle] [--keep] [--show N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
EQUIVALENTS = ROOT / "scripts" / "mutation-equivalents.txt"
AIM = 0.85


@dataclass(frozen=True)
class Target:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS = (
    Target("crypto", ("app/cloudcruise/crypto.py",), ("tests/test_crypto.py",)),
    Target("intervals", ("app/cloudcruise/intervals.py",), ("tests/test_intervals.py",)),
    Target("entry_rules", ("app/services/entry_rules.py",), ("tests/test_entry_rules.py",)),
    Target(
        "audit_chain",
        (
            "app/services/audit_store.py",
            "app/services/audit_checkpoints.py",
            "app/services/audit_recording.py",
            "app/services/audit_verify.py",
            "app/services/audit_prune.py",
        ),
        ("tests/test_audit.py", "tests/test_audit_chain.py"),
    ),
    Target(
        "throttle",
        ("app/services/throttle.py",),
        ("tests/test_auth.py", "tests/test_throttle.py", "tests/test_databases.py"),
    ),
)


def equivalents() -> dict[str, str]:
    out = {}
    if EQUIVALENTS.exists():
        for line in EQUIVALENTS.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, why = line.partition("\t")
                out[name.strip()] = why.strip()
    return out


def scratch_copy(target: Target) -> Path:
    """The checkout's tracked and new files, in a temporary folder, set up for ``target``."""
    work = Path(tempfile.mkdtemp(prefix=f"mutation-{target.name}-"))
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        source = ROOT / name
        if source.is_file():
            destination = work / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    tests = [t for t in target.tests if (work / t).exists()]
    config = (
        "\n[tool.mutmut]\n"
        f"source_paths = {json.dumps(list(target.modules))}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        # PostgreSQL variants (marker) are the same logic on another backend: SQLite is enough
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not postgresql"]\n'
        'also_copy = ["app/", "templates/", "static/", "tests/", "scripts/"]\n'
    )
    with open(work / "pyproject.toml", "a") as fh:
        fh.write(config)
    return work


def run_target(target: Target, keep: bool, show: int) -> dict:
    work = scratch_copy(target)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([str(MUTMUT), "run"], cwd=work, env=env, capture_output=True, text=True)
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=work, env=env, capture_output=True)
    stats_file = work / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        raise SystemExit(f"mutmut produced no results for {target.name}; see {work}")
    stats = json.loads(stats_file.read_text())
    listing = subprocess.run(
        [str(MUTMUT), "results"], cwd=work, env=env, capture_output=True, text=True
    ).stdout
    known = equivalents()
    survivors, equivalent = [], []
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name or status not in ("survived", "no tests", "timeout", "suspicious"):
            continue
        (equivalent if name in known else survivors).append((name, status))
    details = []
    for name, status in survivors[:show]:
        diff = subprocess.run(
            [str(MUTMUT), "show", name], cwd=work, env=env, capture_output=True, text=True
        ).stdout
        details.append(f"{name} ({status})\n{diff.strip()}")
    total = stats["total"]
    killed = stats["killed"]
    counted = total - len(equivalent)
    result = {
        "target": target.name,
        "modules": target.modules,
        "mutants": total,
        "killed": killed,
        "equivalent": len(equivalent),
        "survivors": [f"{n} ({s})" for n, s in survivors],
        "score": killed / counted if counted else 1.0,
        "seconds": round(time.monotonic() - started),
        "details": details,
    }
    if keep:
        result["scratch"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated target names")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument("--show", type=int, default=40, help="survivor diffs shown per module")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    targets = [t for t in TARGETS if not wanted or t.name in wanted]
    results = []
    for target in targets:
        print(f"== {target.name}: {', '.join(target.modules)}", flush=True)
        result = run_target(target, args.keep, args.show)
        results.append(result)
        for detail in result["details"]:
            print(detail, "\n")
        if len(result["survivors"]) > args.show:
            print(f"… and {len(result['survivors']) - args.show} more survivors\n")
    print(
        f"{'module':<14} {'mutants':>8} {'killed':>7} {'equiv.':>7} {'left':>5} {'score':>7}  time"
    )
    ok = True
    for r in results:
        left = len(r["survivors"])
        print(
            f"{r['target']:<14} {r['mutants']:>8} {r['killed']:>7} {r['equivalent']:>7} "
            f"{left:>5} {r['score']:>6.1%}  {r['seconds']} s"
        )
        ok &= r["score"] >= AIM
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"aim: every module at least {AIM:.0%} — {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
