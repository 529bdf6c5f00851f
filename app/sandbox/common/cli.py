"""What the emulators' ``python -m`` entry points share: ``--host``/``--port``/``--data``,
the error messages and exit codes, and serving until SIGINT/SIGTERM.

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeVar


class Stoppable(Protocol):
    def stop(self) -> None: ...


R = TypeVar("R", bound=Stoppable)


def emulator_parser(prog: str, description: str, default_port: int) -> argparse.ArgumentParser:
    """A parser with ``--host`` and ``--port``; add the emulator's own flags after."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=default_port, help=f"port (default {default_port}; 0 = any)"
    )
    return parser


def add_data_argument(parser: argparse.ArgumentParser, default: Path) -> None:
    parser.add_argument(
        "--data", type=Path, default=default, help=f"SQLite file (default {default})"
    )


def _ignore(signum: int, frame: object) -> None:
    """Python-level no-op; the wakeup fd tells ``main`` that a signal arrived."""


def serve_until_signalled(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    start: Callable[[], R],
    banner: Callable[[R], Iterable[str]],
    serving: Callable[[R], str],
) -> int:
    """Check ``--port``, ``start()`` the emulator, print the ``banner`` lines (stdout,
    flushed first) and the ``serving`` line (stderr), then serve until SIGINT/SIGTERM.

    ``start`` raising ``ValueError`` means bad arguments (2); ``sqlite3.Error`` or
    ``OSError`` means it cannot serve (1).
    """
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        running = start()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"error: cannot use the data file {args.data}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1

    # Wait for SIGINT/SIGTERM through the signal wakeup fd: the C-level handler writes to
    # the pipe, so a signal can neither be missed nor interrupt the shutdown half-way
    # (Event.set() in a Python handler can deadlock; raising from one can hit `finally`).
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    try:
        for line in banner(running):
            print(line)
        sys.stdout.flush()
        print(serving(running), file=sys.stderr, flush=True)
        os.read(wake_read, 1)
    finally:
        running.stop()
    return 0
