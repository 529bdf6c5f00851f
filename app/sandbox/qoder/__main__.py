"""``python -m app.sandbox.qoder``: serve the emulated Qoder vaults API until stopped.

Prints ``QODER_BASE_URL=<url>`` and, when the sandbox chose the token itself,
``QODER_PAT=...`` (ready to paste into ``.env``). Exit codes: 0 stopped by
SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from pathlib import Path

from .server import start_qoder_sandbox

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT / "instance" / "qoder-sandbox.db"
DEFAULT_PORT = 5003


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.sandbox.qoder",
        description="Serve a local emulator of the Qoder Cloud Agents vaults API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--pat", help="access token clients must send (generated if omitted)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"SQLite file (default {DEFAULT_DATA})"
    )
    parser.add_argument(
        "--shape",
        choices=("flat", "nested"),
        default="nested",
        help="credential shape: flat (G2) or nested auth (G3, default)",
    )
    parser.add_argument(
        "--limit-over-100",
        choices=("error", "cap"),
        default="error",
        help="limit > 100: 400 invalid_request_error (default) or capped at 100",
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="do not seed a new data file with sample vaults"
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
        sandbox = start_qoder_sandbox(
            args.data,
            host=args.host,
            port=args.port,
            pat=args.pat,
            shape=args.shape,
            seed=not args.no_seed,
            limit_over_100=args.limit_over_100,
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

    # SIGINT/SIGTERM arrive through the signal wakeup fd (see app/sandbox/__main__.py).
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    try:
        print(f"QODER_BASE_URL={sandbox.base_url}")
        if sandbox.generated_pat:
            print(f"QODER_PAT={sandbox.pat}")
        sys.stdout.flush()
        print(
            f"Qoder vaults sandbox serving {sandbox.base_url} (shape {sandbox.shape}, "
            f"data: {args.data}); Ctrl+C to stop",
            file=sys.stderr,
            flush=True,
        )
        os.read(wake_read, 1)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
