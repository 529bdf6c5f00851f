"""The throwaway PostgreSQL server of tests/postgres.py and its fixtures work, and leave nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.postgres import PostgresCluster, _wait_gone

ROOT = Path(__file__).resolve().parent.parent


def test_sqlalchemy_round_trip_on_a_real_postgresql(pg_url):
    assert pg_url.startswith("postgresql+psycopg://postgres:")
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"))
            conn.execute(text("INSERT INTO notes (body) VALUES ('b'), ('a'), ('É'), ('Z')"))
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT body FROM notes ORDER BY body")).scalars().all()
            version = conn.execute(text("SHOW server_version")).scalar_one()
            full = conn.execute(text("SELECT version()")).scalar_one()
            encoding = conn.execute(text("SHOW server_encoding")).scalar_one()
            upper = conn.execute(text("SELECT upper('é')")).scalar_one()
    finally:
        engine.dispose()
    assert rows == ["Z", "a", "b", "É"]  # byte (code point) order
    assert int(version.split(".")[0]) >= 13 and full.startswith("PostgreSQL ")
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    assert encoding == "UTF8" and upper == "É"


def test_each_test_database_is_its_own(pg_cluster, pg_url):
    other = f"other_{os.getpid()}"
    pg_cluster.create_database(other)
    try:
        first, second = create_engine(pg_url), create_engine(pg_cluster.url(other))
        with first.begin() as conn:
            conn.execute(text("CREATE TABLE only_here (x int)"))
        with second.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('only_here')")).scalar() is None
            assert conn.execute(text("SELECT current_database()")).scalar() == other
        # dropping a database with someone still connected works (FORCE), as pg_url does
        held = second.connect()
        first.dispose()
    finally:
        pg_cluster.drop_database(other)
    with pytest.raises(DBAPIError, match="terminat|closed|connection"):
        held.execute(text("SELECT 1"))
    held.invalidate()
    second.dispose()
    assert pg_cluster.execute("SELECT 1 FROM pg_database WHERE datname = %s", params=[other]) == []


def test_roles_log_in_with_their_password_only(pg_cluster, pg_url):
    role = f"app_{os.getpid()}"
    pg_cluster.create_role(role, "s3cret pass/@:")  # URL-special characters are escaped
    try:
        engine = create_engine(pg_cluster.url(pg_url.rsplit("/", 1)[1], role, "s3cret pass/@:"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == role
        engine.dispose()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(
                host=pg_cluster.host, port=pg_cluster.port, user=role, password="wrong"
            ).close()
    finally:
        pg_cluster.execute(f'DROP ROLE "{role}"')


def _refused(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except OSError:
            return True
        return False


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        return sock.getsockname()[0]


def test_listens_on_127_0_0_1_only(pg_cluster):
    assert pg_cluster.execute("SHOW listen_addresses") == [("127.0.0.1",)]
    assert not _refused("127.0.0.1", pg_cluster.port)
    assert _refused("127.0.0.2", pg_cluster.port)  # the rest of 127/8 too
    assert _refused("::1", pg_cluster.port)
    outward = _outward_address()
    if outward and not outward.startswith("127."):
        assert _refused(outward, pg_cluster.port)
    # the Unix socket is in the private cluster directory, not /var/run/postgresql
    assert pg_cluster.execute("SHOW unix_socket_directories") == [(str(pg_cluster.directory),)]


def test_fast_throwaway_settings(pg_cluster):
    settings = dict(
        pg_cluster.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
            params=[["fsync", "synchronous_commit", "full_page_writes", "max_connections"]],
        )
    )
    assert settings == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }


def test_stop_ends_the_server_and_removes_everything(tmp_path):
    cluster = PostgresCluster.start(tmp_path)
    pid, port, directory = cluster.pid, cluster.port, cluster.directory
    assert cluster.execute("SELECT 1") == [(1,)]
    assert directory.is_dir()
    cluster.stop()
    assert _wait_gone(pid, 0)
    assert not directory.exists()
    assert _refused("127.0.0.1", port)
    cluster.stop()  # twice is fine


def test_a_killed_owner_leaves_nothing_running(tmp_path):
    """kill -9 of the process that started a cluster (no stop(), no teardown): the watchdog
    shuts the server down and deletes its directory."""
    script = (
        "import sys, time\n"
        "from tests.postgres import PostgresCluster\n"
        "c = PostgresCluster.start(sys.argv[1])\n"
        "print(c.pid, c.port, c.directory, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        pid, port, directory = owner.stdout.readline().split()
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 20
    while Path(directory).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _wait_gone(int(pid), 0)
    assert not Path(directory).exists()
    assert _refused("127.0.0.1", int(port))
