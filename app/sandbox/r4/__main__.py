"""``python -m app.sandbox.r4``: serve the emulated r4 Machine Vault API until stopped.

Prints ``R4_BASE_URL=<url>`` and, when the emulator chose the key, ``R4_API_KEY=...``
(ready to paste into ``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve,
2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from pathlib import Path

from .server import start_r4_sandbox

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT / "instance" / "r4-sandbox.db"
DEFAULT_PORT = 5003


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.sandbox.r4",
        description="Serve a local emulator of the r4.dev Machine Vault API (read side).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--api-key", help="X-API-Key clients must send (generated if omitted)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"SQLite file (default {DEFAULT_DATA})"
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="do not seed the demo vaults into a new store"
    )
    return parser


def _ignore(signum: int, frame: object) -> None:
    """Python-level no-op; the wakeup fd tells ``main`` that a signal arrived."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        sandbox = start_r4_sandbox(
            args.data, host=args.host, port=args.port, api_key=args.api_key, seed=not args.no_seed
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

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    try:
        print(f"R4_BASE_URL={sandbox.base_url}")
        if sandbox.generated_key:
            print(f"R4_API_KEY={sandbox.api_key}")
        sys.stdout.flush()
        print(
            f"r4 vault sandbox serving {sandbox.base_url} (data: {args.data}); Ctrl+C to stop",
            file=sys.stderr,
            flush=True,
        )
        os.read(wake_read, 1)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
