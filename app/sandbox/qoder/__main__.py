"""``python -m app.sandbox.qoder``: serve the emulated Qoder vaults API until stopped.

Prints ``QODER_BASE_URL=<url>`` and, when the sandbox chose the token itself,
``QODER_PAT=...`` (ready to paste into ``.env``). Exit codes: 0 stopped by
SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from app.sandbox.common.cli import EmulatorCommand

from .server import RunningQoderSandbox, start_qoder_sandbox


class QoderCommand(EmulatorCommand[RunningQoderSandbox]):
    """Serve a local emulator of the Qoder Cloud Agents vaults API."""

    prog, title, env = "python -m app.sandbox.qoder", "Qoder vaults sandbox", "QODER"
    default_port, data_file = 5003, "qoder-sandbox.db"

    def start(self, args: argparse.Namespace, **where: Any) -> RunningQoderSandbox:
        settings = {"shape": args.shape, "limit_over_100": args.limit_over_100}
        return start_qoder_sandbox(**where, pat=args.pat, seed=not args.no_seed, **settings)

    def options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--pat", help="access token clients must send (generated if omitted)")
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

    def secrets(self, running: RunningQoderSandbox) -> Iterator[tuple[str, str]]:
        if running.generated_pat:
            yield "PAT", running.pat

    def details(self, running: RunningQoderSandbox) -> str:
        return f"shape {running.shape}, "


main = QoderCommand().main

if __name__ == "__main__":
    sys.exit(main())
