"""``python -m app.sandbox.r4``: serve the emulated r4 Machine Vault API until stopped.

Prints ``R4_BASE_URL=<url>`` and, when the emulator chose the key, ``R4_API_KEY=...``
(ready to paste into ``.env``). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve,
2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from app.sandbox.common.cli import EmulatorCommand

from .server import RunningR4Sandbox, start_r4_sandbox


class R4Command(EmulatorCommand[RunningR4Sandbox]):
    """Serve a local emulator of the r4.dev Machine Vault API (read side)."""

    prog, title, env = "python -m app.sandbox.r4", "r4 vault sandbox", "R4"
    default_port, data_file = 5003, "r4-sandbox.db"

    def start(self, args: argparse.Namespace, **where: Any) -> RunningR4Sandbox:
        return start_r4_sandbox(**where, api_key=args.api_key, seed=not args.no_seed)

    def options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key", help="X-API-Key clients must send (generated if omitted)")
        parser.add_argument(
            "--no-seed", action="store_true", help="do not seed the demo vaults into a new store"
        )

    def secrets(self, running: RunningR4Sandbox) -> Iterator[tuple[str, str]]:
        if running.generated_key:
            yield "API_KEY", running.api_key


main = R4Command().main

if __name__ == "__main__":
    sys.exit(main())
