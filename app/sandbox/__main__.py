"""``python -m app.sandbox``: serve the emulated CloudCruise vault API until stopped.

Prints ``CLOUDCRUISE_BASE_URL=<url>`` and, for keys the sandbox chose itself,
``CLOUDCRUISE_API_KEY=...`` / ``CLOUDCRUISE_ENCRYPTION_KEY=...`` (ready to paste into
``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from .common.cli import EmulatorCommand
from .ratelimit import DEFAULT_RATE_LIMITS
from .server import RunningSandbox, start_sandbox


class SandboxCommand(EmulatorCommand[RunningSandbox]):
    """Serve a local emulator of the CloudCruise vault REST API."""

    prog, title, env = "python -m app.sandbox", "CloudCruise vault sandbox", "CLOUDCRUISE"
    default_port, data_file = 5001, "sandbox.db"

    def start(self, args: argparse.Namespace, **where: Any) -> RunningSandbox:
        limits = None if args.no_rate_limit else DEFAULT_RATE_LIMITS
        keys = {"api_key": args.api_key, "encryption_key": args.encryption_key}
        return start_sandbox(**where, **keys, seed=args.seed, rate_limits=limits)

    def options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key", help="API key clients must send (generated if omitted)")
        parser.add_argument(
            "--encryption-key", help="workspace key, 64 hex characters (generated if omitted)"
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=40,
            metavar="N",
            help="entries seeded on the first start of a new data file (default 40; 0 = empty)",
        )
        parser.add_argument(
            "--no-rate-limit",
            action="store_true",
            help="disable the 500/1s, 1000/15s, 2000/60s limits",
        )

    def check(self, parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
        if args.seed < 0:
            parser.error("--seed must be 0 or more")

    def secrets(self, running: RunningSandbox) -> Iterator[tuple[str, str]]:
        if running.workspace.generated_api_key:
            yield "API_KEY", running.api_key
        if running.workspace.generated_encryption_key:
            yield "ENCRYPTION_KEY", running.encryption_key


main = SandboxCommand().main

if __name__ == "__main__":
    sys.exit(main())
