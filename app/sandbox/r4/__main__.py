"""``python -m app.sandbox.r4``: serve the emulated r4 Machine Vault API until stopped.

Prints ``R4_BASE_URL=<url>`` and, when the emulator chose the key, ``R4_API_KEY=...``
(ready to paste into ``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve,
2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from app.sandbox.common.cli import add_data_argument, emulator_parser, serve_until_signalled

from .server import RunningR4Sandbox, start_r4_sandbox

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT / "instance" / "r4-sandbox.db"
DEFAULT_PORT = 5003


def _parser() -> argparse.ArgumentParser:
    parser = emulator_parser(
        "python -m app.sandbox.r4",
        "Serve a local emulator of the r4.dev Machine Vault API (read side).",
        DEFAULT_PORT,
    )
    parser.add_argument("--api-key", help="X-API-Key clients must send (generated if omitted)")
    add_data_argument(parser, DEFAULT_DATA)
    parser.add_argument(
        "--no-seed", action="store_true", help="do not seed the demo vaults into a new store"
    )
    return parser


def _banner(sandbox: RunningR4Sandbox) -> Iterator[str]:
    yield f"R4_BASE_URL={sandbox.base_url}"
    if sandbox.generated_key:
        yield f"R4_API_KEY={sandbox.api_key}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return serve_until_signalled(
        parser,
        args,
        lambda: start_r4_sandbox(
            args.data, host=args.host, port=args.port, api_key=args.api_key, seed=not args.no_seed
        ),
        _banner,
        lambda sandbox: (
            f"r4 vault sandbox serving {sandbox.base_url} (data: {args.data}); Ctrl+C to stop"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
