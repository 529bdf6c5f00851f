"""The emulators' ``python -m`` entry point: one :class:`EmulatorCommand` subclass per
emulator declares its own flags, how to start it and what its banner says; the ``--host`` /
``--port`` / ``--data`` flags, the error messages and exit codes, and serving until
SIGINT/SIGTERM are shared.

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot serve, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

#: where the emulators keep their data files by default
INSTANCE_DIR = Path(__file__).resolve().parents[3] / "instance"


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Serving(Stoppable, Protocol):
    base_url: str


R = TypeVar("R", bound=Stoppable)
E = TypeVar("E", bound=Serving)


class EmulatorCommand(Generic[E]):
    """``python -m <prog>``: serve one emulator until stopped. A subclass per emulator sets
    the class attributes and :meth:`start` (and :meth:`options`, :meth:`secrets`,
    :meth:`check`, :meth:`details` where it has any); its docstring is the description.

    Prints ``<ENV>_BASE_URL=<url>`` and ``<ENV>_<NAME>=<value>`` for each secret the
    emulator chose itself, ready to paste into ``.env``; then a "serving" line on stderr.
    """

    prog: ClassVar[str]
    #: "CloudCruise vault sandbox": the serving line's subject
    title: ClassVar[str]
    #: prefix of the banner's variables: ``CLOUDCRUISE``, ``QODER``, ``R4``
    env: ClassVar[str]
    default_port: ClassVar[int]
    #: file name in ``instance/``
    data_file: ClassVar[str]

    def start(self, args: argparse.Namespace, **where: Any) -> E:
        """Start the emulator at ``where`` (``data``, ``host``, ``port``) with the parsed
        arguments; ``ValueError`` means bad arguments."""
        raise NotImplementedError

    def options(self, parser: argparse.ArgumentParser) -> None:
        """Add the emulator's own flags (``--host``, ``--port``, ``--data`` are there)."""

    def check(self, parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
        """Refuse bad arguments with ``parser.error``."""

    def secrets(self, running: E) -> Iterable[tuple[str, str]]:
        """``(NAME, value)`` of the secrets the emulator generated."""
        return ()

    def details(self, running: E) -> str:
        """Extra details for the serving line (``"shape nested, "``)."""
        return ""

    @property
    def default_data(self) -> Path:
        return INSTANCE_DIR / self.data_file

    def parser(self) -> argparse.ArgumentParser:
        description = " ".join((self.__doc__ or "").split())
        parser = emulator_parser(self.prog, description, self.default_port)
        add_data_argument(parser, self.default_data)
        self.options(parser)
        return parser

    def banner(self, running: E) -> Iterator[str]:
        yield f"{self.env}_BASE_URL={running.base_url}"
        for name, value in self.secrets(running):
            yield f"{self.env}_{name}={value}"

    def main(self, argv: list[str] | None = None) -> int:
        parser = self.parser()
        args = parser.parse_args(argv)
        self.check(parser, args)
        return serve_until_signalled(
            parser,
            args,
            lambda: self.start(args, data=args.data, host=args.host, port=args.port),
            self.banner,
            lambda running: (
                f"{self.title} serving {running.base_url} ({self.details(running)}"
                f"data: {args.data}); Ctrl+C to stop"
            ),
        )


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
