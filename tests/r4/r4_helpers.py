"""Helpers for the r4 tests (imported by the test modules and conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = "Production – agents"
STAGING = "Staging"
FINANCE = "Finance"
LEGACY = "Legacy import"
PAYMENTS = "Payments"
VAULT_NAMES = [PRODUCTION, STAGING, FINANCE, LEGACY, PAYMENTS]


@dataclass
class Cli:
    proc: subprocess.Popen
    stdout: str
    stderr: str
    values: dict[str, str] = field(default_factory=dict)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()


def spawn_r4_cli(*args: str) -> Cli:
    """Start ``python -m app.sandbox.r4 --host 127.0.0.1 --port 0 ARGS``; read its banner
    (stdout is flushed before the "serving" line goes to stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox.r4", "--host", "127.0.0.1", "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    stderr = proc.stderr.readline()
    if "serving" not in stderr:
        out, err = proc.communicate(timeout=10)
        return Cli(proc, out, stderr + err)
    os.set_blocking(proc.stdout.fileno(), False)
    stdout = proc.stdout.read() or ""
    values = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    return Cli(proc, stdout, stderr, values)
