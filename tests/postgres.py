"""A throwaway PostgreSQL server for the tests: Debian's binaries, a private cluster, no service.

``make test`` installs Debian's ``postgresql`` package; this module never uses the package's
own cluster (``/var/lib/postgresql``, port 5432) or systemd. It runs ``initdb`` into a fresh
temporary directory and ``pg_ctl start`` on a free loopback port, and :meth:`stop` removes all
of it again::

    cluster = PostgresCluster.start(base_dir)
    cluster.create_database("app")
    engine = sqlalchemy.create_engine(cluster.url("app"))
    ...
    cluster.stop()

The server

* listens on 127.0.0.1 only; its Unix socket sits in the private cluster directory;
* authenticates every connection with SCRAM (``-A scram-sha-256``); the superuser is
  ``postgres`` with a random password (:attr:`password`);
* is UTF-8 with byte-order collation (``LC_COLLATE=C``) and Unicode-aware character classes
  (``LC_CTYPE=C.UTF-8``, so ``upper()``/``ILIKE`` know é/É);
* trades durability for speed (``fsync``, ``synchronous_commit``, ``full_page_writes`` off)
  and allows 200 connections (several gunicorn hosts with pools share it).

As root (CI), ``initdb``/``pg_ctl``/``postgres`` run as the ``postgres`` system user (the
server refuses to run as root) through ``runuser``; the cluster directory then lives in the
system temp dir, because pytest's ``/tmp/pytest-of-root`` is private to root.

Nothing is left running: :meth:`stop` shuts the server down (``-m immediate``) and checks the
postmaster is gone, and a small watchdog process (this file run as a script) does the same if
the owning process dies without calling :meth:`stop` (``kill -9``, a ``timeout``, a crashed
xdist worker).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"
HOST = "127.0.0.1"
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
INSTALL_HINT = (
    "`make test` installs Debian's `postgresql` package "
    "(apt-get install --no-install-recommends postgresql), which provides them"
)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or the ``postgres`` user, as root) are missing."""


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Debian's newest ``/usr/lib/postgresql/<major>/bin`` first (the major differs between
    releases and is not on PATH), else wherever ``pg_ctl`` is on PATH.
    """

    def major(bindir: str) -> int:
        version = Path(bindir).parent.name
        return int(version) if version.isdigit() else -1

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for bindir in candidates:
        if all(os.access(Path(bindir, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(bindir)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
        f"/usr/lib/postgresql/*/bin or on PATH: {INSTALL_HINT}."
    )


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick from the ephemeral range)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One private PostgreSQL server; make it with :meth:`start`, end it with :meth:`stop`."""

    def __init__(self, bindir: Path, directory: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.directory = directory  # everything lives in here: data, socket, log
        self.data_dir = directory / "data"
        self.log_file = directory / "server.log"
        self.run_as = run_as  # the OS user the server runs as (None: this process's user)
        self.host = HOST
        self.port = 0
        self.superuser = SUPERUSER
        self.password = secrets.token_urlsafe(18)
        self.pid = 0  # the postmaster's
        self.version = ""  # server_version, e.g. "15.14 (Debian 15.14-0+deb12u1)"
        self.startup_seconds = 0.0  # initdb + start, for the curious
        self._watchdog: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------------- life cycle

    @classmethod
    def start(cls, base_dir: Path | str | None = None, **settings: Any) -> PostgresCluster:
        """initdb a new cluster in a fresh directory under ``base_dir`` and start it.

        ``base_dir`` defaults to the system temp dir, and as root is always that (the
        ``postgres`` user must be able to reach it). ``settings`` add or override server
        settings (``-c name=value``), e.g. ``log_statement="all"``.

        Raises :class:`PostgresUnavailable` when the binaries are missing: the caller should
        fail, not skip.
        """
        began = time.monotonic()
        bindir = find_bindir()
        run_as = None
        if os.geteuid() == 0:
            run_as = SUPERUSER
            try:
                import pwd

                account = pwd.getpwnam(run_as)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, but there is no `{run_as}` system user to run the "
                    f"server as: {INSTALL_HINT}, and creates that user."
                ) from None
            base_dir = None
        directory = Path(tempfile.mkdtemp(prefix="pg-", dir=base_dir)).resolve()
        if run_as:
            os.chown(directory, account.pw_uid, account.pw_gid)
        cluster = cls(bindir, directory, run_as)
        cluster._start_watchdog()
        try:
            cluster._initdb()
            cluster._start_server({**SERVER_SETTINGS, **settings})
            cluster.version = cluster.execute("SHOW server_version")[0][0]
        except BaseException:
            cluster.stop()
            raise
        cluster.startup_seconds = time.monotonic() - began
        return cluster

    def _initdb(self) -> None:
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            shutil.chown(pwfile, self.run_as)
        try:
            self._run(
                "initdb",
                "--pgdata",
                self.data_dir,
                "--username",
                self.superuser,
                "--pwfile",
                pwfile,
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--lc-collate",
                "C",
                "--no-sync",
            )
        finally:
            pwfile.unlink()

    def _start_server(self, settings: dict[str, str]) -> None:
        # the Unix socket goes in the private directory, or nowhere if its path would be too
        # long for sun_path (pg_ctl -w reads postmaster.pid, it needs no socket)
        socket_dir = str(self.directory) if len(str(self.directory)) < 90 else ""
        settings = {"unix_socket_directories": socket_dir, **settings}
        for attempt in range(5):
            # another process may grab the free port before the server binds it: retry
            self.port = free_port()
            self.log_file.unlink(missing_ok=True)  # so log_tail() is this attempt's
            options = " ".join(
                f"-c {shlex.quote(f'{name}={value}')}"
                for name, value in {**settings, "port": self.port}.items()
            )
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    self.data_dir,
                    "-l",
                    self.log_file,
                    "-o",
                    options,
                )
                break
            except subprocess.CalledProcessError:
                if attempt == 4 or "could not bind" not in self.log_tail():
                    raise
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Shut the server down at once, check the postmaster is gone, delete the directory.

        Safe to call more than once, and on a half-started cluster.
        """
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    "pg_ctl", "stop", "-w", "-t", "30", "-m", "immediate", "-D", self.data_dir
                )
            if self.pid and not _wait_gone(self.pid, 10):
                raise RuntimeError(f"PostgreSQL postmaster {self.pid} still running after stop")
            shutil.rmtree(self.directory, ignore_errors=True)
        finally:
            self._stop_watchdog()

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- using it

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """The SQLAlchemy URL (``postgresql+psycopg://…@127.0.0.1:PORT/database``).

        Defaults to the superuser and its password.
        """
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username=user or self.superuser,
            password=password if user else (password or self.password),
            host=self.host,
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def connect(self, database: str = "postgres", **kwargs: Any):
        """A psycopg connection as the superuser (autocommit), e.g. for ``LISTEN`` or locks."""
        import psycopg

        params = {
            "host": self.host,
            "port": self.port,
            "user": self.superuser,
            "password": self.password,
            "dbname": database,
            "autocommit": True,
            "connect_timeout": 10,
            **kwargs,
        }
        return psycopg.connect(**params)

    def execute(
        self, sql: Any, database: str = "postgres", params: Any = None
    ) -> list[tuple] | None:
        """Run one statement as superuser in autocommit mode (so ``CREATE DATABASE`` works).

        ``sql`` is a string or a ``psycopg.sql.Composable``; returns the rows, or None when the
        statement returns none.
        """
        with self.connect(database) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else None

    def create_database(self, name: str, template: str = "template0", owner: str | None = None):
        """``CREATE DATABASE name`` copied from ``template`` (template0: pristine, UTF-8).

        A database prepared once (tables, migrations) can serve as ``template`` for others;
        nobody may be connected to it while it is copied.
        """
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.execute(statement)

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS … WITH (FORCE)``: leftover connections are terminated."""
        from psycopg import sql

        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def create_role(self, name: str, password: str, login: bool = True) -> None:
        """A role with a password (SCRAM), able to log in unless ``login=False``."""
        from psycopg import sql

        self.execute(
            sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name),
                sql.SQL("LOGIN" if login else "NOLOGIN"),
                sql.Literal(password),
            )
        )

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        return (
            f"<PostgresCluster {self.version or '?'} on {self.host}:{self.port} {self.directory}>"
        )

    # ---------------------------------------------------------------- helpers

    def _run(self, tool: str, *args: Any) -> None:
        command = [str(self.bindir / tool), *map(str, args)]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # no PGDATA/PGPORT/... from the developer's shell; cwd readable by the server user
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C.UTF-8", TZ="UTC")
        result = subprocess.run(
            command, cwd=self.directory, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode,
                command,
                result.stdout,
                f"{result.stderr}\n--- {self.log_file} ---\n{self.log_tail()}",
            )

    def _start_watchdog(self) -> None:
        # The watchdog blocks reading a pipe whose only writer is this process: EOF means we
        # are done (stop() closes it) or dead (the kernel closes it). Its own session keeps it
        # out of Ctrl-C and the process-group kills meant for pytest.
        self._watchdog = subprocess.Popen(
            [sys.executable, __file__, "--watchdog", str(self.directory)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stdin.close()
            try:
                watchdog.wait(timeout=30)
            except subprocess.TimeoutExpired:
                watchdog.kill()


def _wait_gone(pid: int, timeout: float) -> bool:
    """True once process ``pid`` has exited (checked until ``timeout`` seconds).

    A zombie counts as gone: the postmaster is an orphan (pg_ctl daemonises it), so init reaps
    it, which some container inits do only every few seconds, and some never.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _is_postmaster(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return cmdline[0].endswith(b"postgres") and any(str(data_dir).encode() in a for a in cmdline)


def _watchdog(directory: Path) -> None:
    """Wait for EOF on stdin, then kill whatever server still runs in ``directory``, delete it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    data_dir = directory / "data"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        if _is_postmaster(pid, data_dir):
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's "immediate shutdown"
            if not _wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--watchdog" and re.search(r"/pg-", sys.argv[2]):
        _watchdog(Path(sys.argv[2]))
    else:
        sys.exit(f"usage: {sys.argv[0]} --watchdog DIRECTORY (started by PostgresCluster)")
