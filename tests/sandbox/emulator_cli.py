"""Run an emulator's ``python -m`` entry point as a child process and read its banner.

Shared by the CloudCruise, Qoder and r4 tests (import it as ``tests.sandbox.emulator_cli``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    proc: subprocess.Popen
    stdout: str
    stderr: str
    #: The banner's ``NAME=value`` lines.
    values: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The banner's ``…_BASE_URL`` value (``CLOUDCRUISE_BASE_URL``, ``QODER_BASE_URL``…)."""
        [url] = [value for name, value in self.values.items() if name.endswith("_BASE_URL")]
        return url

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()


def spawn_emulator(module: str, *args: str) -> Cli:
    """Start ``python -m MODULE --host 127.0.0.1 --port 0 ARGS`` and read its banner.

    The banner (stdout) is flushed before the "serving" line goes to stderr, so once
    that line (or EOF, on failure) arrives all of stdout can be read without blocking.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    stderr = proc.stderr.readline()
    if "serving" not in stderr:  # failed to start: collect everything
        out, err = proc.communicate(timeout=10)
        return Cli(proc, out, stderr + err)
    os.set_blocking(proc.stdout.fileno(), False)
    stdout = proc.stdout.read() or ""
    values = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    return Cli(proc, stdout, stderr, values)
