"""``python -m app.sandbox``: serve the emulated CloudCruise vault API until stopped.

Prints ``CLOUDCRUISE_BASE_URL=<url>`` and, for keys the sandbox chose itself,
``CLOUDCRUISE_API_KEY=...`` / ``CLOUDCRUISE_ENCRYPTION_KEY=...`` (ready to paste into
``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from .common.cli import add_data_argument, emulator_parser, serve_until_signalled
from .ratelimit import DEFAULT_RATE_LIMITS
from .server import RunningSandbox, start_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT / "instance" / "sandbox.db"
DEFAULT_PORT = 5001


def _parser() -> argparse.ArgumentParser:
    parser = emulator_parser(
        "python -m app.sandbox",
        "Serve a local emulator of the CloudCruise vault REST API.",
        DEFAULT_PORT,
    )
    parser.add_argument("--api-key", help="API key clients must send (generated if omitted)")
    parser.add_argument(
        "--encryption-key", help="workspace key, 64 hex characters (generated if omitted)"
    )
    add_data_argument(parser, DEFAULT_DATA)
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


def _banner(sandbox: RunningSandbox) -> Iterator[str]:
    yield f"CLOUDCRUISE_BASE_URL={sandbox.base_url}"
    if sandbox.workspace.generated_api_key:
        yield f"CLOUDCRUISE_API_KEY={sandbox.api_key}"
    if sandbox.workspace.generated_encryption_key:
        yield f"CLOUDCRUISE_ENCRYPTION_KEY={sandbox.encryption_key}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    return serve_until_signalled(
        parser,
        args,
        lambda: start_sandbox(
            args.data,
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            encryption_key=args.encryption_key,
            seed=args.seed,
            rate_limits=None if args.no_rate_limit else DEFAULT_RATE_LIMITS,
        ),
        _banner,
        lambda sandbox: (
            f"CloudCruise vault sandbox serving {sandbox.base_url} (data: {args.data}); "
            "Ctrl+C to stop"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
