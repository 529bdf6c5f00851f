"""``python -m app.sandbox.qoder``: serve the emulated Qoder vaults API until stopped.

Prints ``QODER_BASE_URL=<url>`` and, when the sandbox chose the token itself,
``QODER_PAT=...`` (ready to paste into ``.env``). Exit codes: 0 stopped by
SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from app.sandbox.common.cli import add_data_argument, emulator_parser, serve_until_signalled

from .server import RunningQoderSandbox, start_qoder_sandbox

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT / "instance" / "qoder-sandbox.db"
DEFAULT_PORT = 5003


def _parser() -> argparse.ArgumentParser:
    parser = emulator_parser(
        "python -m app.sandbox.qoder",
        "Serve a local emulator of the Qoder Cloud Agents vaults API.",
        DEFAULT_PORT,
    )
    parser.add_argument("--pat", help="access token clients must send (generated if omitted)")
    add_data_argument(parser, DEFAULT_DATA)
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


def _banner(sandbox: RunningQoderSandbox) -> Iterator[str]:
    yield f"QODER_BASE_URL={sandbox.base_url}"
    if sandbox.generated_pat:
        yield f"QODER_PAT={sandbox.pat}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return serve_until_signalled(
        parser,
        args,
        lambda: start_qoder_sandbox(
            args.data,
            host=args.host,
            port=args.port,
            pat=args.pat,
            shape=args.shape,
            seed=not args.no_seed,
            limit_over_100=args.limit_over_100,
        ),
        _banner,
        lambda sandbox: (
            f"Qoder vaults sandbox serving {sandbox.base_url} (shape {sandbox.shape}, "
            f"data: {args.data}); Ctrl+C to stop"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
