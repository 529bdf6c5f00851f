"""Shared fixtures.

* ``sandbox``: the CloudCruise emulator on a real loopback socket, one per test worker,
  rate limits off (they have their own tests), faults cleared after every test.
* ``app`` / ``client``: the console with a fresh SQLite file per test, talking to ``sandbox``.
* ``auth``: signs in through the real login route (flask-login#586: no test login shortcut).
* ``live_server``: the console served over HTTP for the Playwright tests (tests/browser).
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import Upstream

_counter = itertools.count()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    from app.sandbox import start_sandbox

    data = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    running = start_sandbox(data=data, host="127.0.0.1", port=0, seed=40, rate_limits=None)
    yield running
    running.stop()


from tests.state import OTHER_BOXES as _OTHERS  # noqa: E402  (see tests/state.py)


@pytest.fixture(scope="session")
def other_vaults(tmp_path_factory: pytest.TempPathFactory):
    """The Qoder and r4 emulators, one each per test worker; apps made after this use them."""
    from app.sandbox.qoder import start_qoder_sandbox
    from app.sandbox.r4 import start_r4_sandbox

    folder = tmp_path_factory.mktemp("other-vaults")
    qoder = start_qoder_sandbox(folder / "qoder.db", port=0)
    r4 = start_r4_sandbox(folder / "r4.db", port=0)
    _OTHERS.update(qoder=qoder, r4=r4)
    yield _OTHERS
    qoder.stop()
    r4.stop()
    _OTHERS.clear()


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").faults.clear()
    for box in _OTHERS.values():
        box.faults.clear()


def unique(prefix: str = "test") -> str:
    """A permissioned_user_id no other test uses."""
    import os

    return f"{prefix}-{os.getpid()}-{next(_counter)}"


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


def make_app(tmp_path: Path, sandbox, log_stream: io.StringIO | None = None, **overrides):
    config = {
        "ENV": {},  # ignore the developer's environment
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "TESTING": True,
        "UPSTREAM": Upstream(
            sandbox=True,
            base_url=sandbox.base_url,
            api_key=sandbox.api_key,
            encryption_key=sandbox.encryption_key,
        ),
        "UPSTREAM_RETRIES": 2,
        "UPSTREAM_READ_TIMEOUT": 5,
        # real Argon2id, cheaper profile: the suite signs in hundreds of times
        "ARGON2_MEMORY_KIB": 8192,
        "ARGON2_TIME_COST": 1,
        "LOG_STREAM": log_stream,
        # no background syncs behind a test's back; tests of freshness set their own
        "SYNC_SECONDS": 3600,
    }
    if _OTHERS:
        from app.config import OtherVault

        config["OTHER_VAULTS"] = {
            "qoder": OtherVault(True, _OTHERS["qoder"].base_url, _OTHERS["qoder"].pat),
            "r4": OtherVault(True, _OTHERS["r4"].base_url, _OTHERS["r4"].api_key),
        }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(tmp_path: Path, sandbox, other_vaults, log_stream: io.StringIO):
    application = make_app(tmp_path, sandbox, log_stream)
    yield application
    application.extensions["upstream"].close()


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    """Create operators and sign in through the real login form (CSRF included)."""

    PASSWORD = "correct horse battery staple"

    def __init__(self, app, client) -> None:
        self.app = app
        self.client = client

    def create(self, username: str = "alice", role: str = "admin", password: str | None = None):
        from app.services import operators

        with self.app.app_context():
            existing = operators.find(username)
            if existing is None:
                operators.create(username, role, password or self.PASSWORD)

    def csrf_token(self, path: str = "/login") -> str:
        import re

        html = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
            r'"X-CSRFToken": "([^"]+)"', html
        )
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str = "alice", role: str = "admin", password: str | None = None):
        self.create(username, role, password)
        token = self.csrf_token("/login")
        return self.client.post(
            "/login",
            data={
                "username": username,
                "password": password or self.PASSWORD,
                "csrf_token": token,
            },
        )

    def logout(self):
        token = self.csrf_token("/entries")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(app, client) -> AuthActions:
    return AuthActions(app, client)


class LiveServer:
    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    server.stop()


class RecordingUpstream:
    """A real HTTP hop in front of the sandbox that records every request it forwards, so
    tests can assert on exactly what the console sent over the wire."""

    def __init__(self, sandbox) -> None:
        import requests
        from werkzeug.wrappers import Request, Response

        self.sandbox = sandbox
        self.requests: list[dict] = []
        session = requests.Session()

        @Request.application
        def forward(request: Request) -> Response:
            body = request.get_data()
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "args": dict(request.args),
                    "json": request.get_json(silent=True),
                }
            )
            upstream = session.request(
                request.method,
                sandbox.base_url + request.full_path.rstrip("?"),
                data=body,
                headers={k: v for k, v in request.headers if k.lower() != "host"},
                timeout=30,
            )
            excluded = {"content-encoding", "transfer-encoding", "connection", "content-length"}
            headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in excluded]
            return Response(upstream.content, upstream.status_code, headers)

        self.server = make_server("127.0.0.1", 0, forward, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def writes(self, method: str = "PUT") -> list[dict]:
        return [r for r in self.requests if r["method"] == method]

    def list_fetches(self) -> int:
        """How many times the whole vault was read (GET /vault without a key)."""
        return sum(
            1 for r in self.requests if (r["method"], r["path"], r["args"]) == ("GET", "/vault", {})
        )

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def recorder(sandbox):
    rec = RecordingUpstream(sandbox)
    yield rec
    rec.stop()


@pytest.fixture
def recorded_app(tmp_path, sandbox, recorder):
    application = make_app(
        tmp_path,
        sandbox,
        UPSTREAM=Upstream(
            sandbox=True,
            base_url=recorder.base_url,
            api_key=sandbox.api_key,
            encryption_key=sandbox.encryption_key,
        ),
    )
    yield application
    application.extensions["upstream"].close()


@pytest.fixture
def editor(recorded_app):
    """A signed-in editor's client of ``recorded_app`` (its upstream calls are recorded)."""
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login("ed", "editor")
    return client


# ---------------------------------------------------------------- PostgreSQL (tests/postgres.py)

_pg_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real, throwaway PostgreSQL server for this test worker (one per xdist worker process).

    Missing binaries FAIL the test (``make test`` installs Debian's postgresql), never skip.
    """
    from tests.postgres import PostgresCluster

    cluster = PostgresCluster.start(tmp_path_factory.mktemp("postgres"))
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> Iterator[str]:
    """The SQLAlchemy URL (superuser) of a fresh, empty database only this test uses."""
    import os

    name = f"test_{os.getpid()}_{next(_pg_databases)}"
    pg_cluster.create_database(name)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)  # WITH (FORCE): the test's leftover connections end too
