"""Processes a test starts (console hosts, CLI runs, sync workers): each in its own session,
logged to a file, reported on failure, and stopped with everything it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(nothing at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class Processes:
    """Processes started by a fixture or test, each in its own session (process group);
    :meth:`stop_all` ends them and anything they started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(
        self, name: str, cmd: list[str], env: dict[str, str], stdin: str | None = None
    ) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE if stdin is not None else
                subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        self.started.append((name, proc, log))
        return proc

    def log(self, proc: subprocess.Popen) -> Path:
        return next(log for _, p, log in self.started if p is proc)

    def output(self, proc: subprocess.Popen) -> str:
        return self.log(proc).read_text(errors="replace")

    def wait(self, procs: list[subprocess.Popen], seconds: float) -> list[int]:
        deadline = time.monotonic() + seconds
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running after {seconds:g} s:\n{self.report(procs)}")
        return [proc.returncode for proc in procs]

    def report(self, procs: list[subprocess.Popen] | None = None) -> str:
        chosen = [s for s in self.started if procs is None or s[1] in procs]
        return "\n".join(
            f"--- {name} (pid {proc.pid}, exit {proc.poll()}):\n{tail(log)}"
            for name, proc, log in chosen
        )

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # anything left in the group (a gunicorn worker whose master died first)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for _name, proc, _log in reversed(self.started):
            self.stop(proc)
