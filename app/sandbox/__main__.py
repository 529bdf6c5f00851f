"""``python -m app.sandbox``: serve the emulated CloudCruise vault API until stopped.

Prints ``CLOUDCRUISE_BASE_URL=<url>`` and, for keys the sandbox chose itself,
``CLOUDCRUISE_API_KEY=...`` / ``CLOUDCRUISE_ENCRYPTION_KEY=...`` (ready to paste into
``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from pathlib import Path

from .ratelimit import DEFAULT_RATE_LIMITS
from .server import start_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT / "instance" / "sandbox.db"
DEFAULT_PORT = 5001


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.sandbox",
        description="Serve a local emulator of the CloudCruise vault REST API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--api-key", help="API key clients must send (generated if omitted)")
    parser.add_argument(
        "--encryption-key", help="workspace key, 64 hex characters (generated if omitted)"
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"SQLite file (default {DEFAULT_DATA})"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=40,
        metavar="N",
        help="entries seeded on the first start of a new data file (default 40; 0 = empty)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="disable the 500/1s, 1000/15s, 2000/60s limits"
    )
    return parser


def _ignore(signum: int, frame: object) -> None:
    """Python-level no-op; the wakeup fd tells ``main`` that a signal arrived."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        sandbox = start_sandbox(
            args.data,
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            encryption_key=args.encryption_key,
            seed=args.seed,
            rate_limits=None if args.no_rate_limit else DEFAULT_RATE_LIMITS,
        )
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
        print(f"CLOUDCRUISE_BASE_URL={sandbox.base_url}")
        if sandbox.workspace.generated_api_key:
            print(f"CLOUDCRUISE_API_KEY={sandbox.api_key}")
        if sandbox.workspace.generated_encryption_key:
            print(f"CLOUDCRUISE_ENCRYPTION_KEY={sandbox.encryption_key}")
        sys.stdout.flush()
        print(
            f"CloudCruise vault sandbox serving {sandbox.base_url} (data: {args.data}); "
            "Ctrl+C to stop",
            file=sys.stderr,
            flush=True,
        )
        os.read(wake_read, 1)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
