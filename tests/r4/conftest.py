"""Fixtures of the r4 tests: the emulator on real loopback sockets, one file per fixture.

* ``r4box``: one seeded emulator per module, for read-only checks (do not read
  ``Payments`` items there: its second read serves the rollback);
* ``fresh``: a seeded emulator per test, for stateful checks (rollback, bump, tamper);
* ``r4``: an :class:`R4Client` on ``r4box`` (no retries, short timeouts);
* ``make_client``: builds clients on any emulator, closed after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.r4 import R4Client
from app.sandbox.r4 import RunningR4Sandbox, start_r4_sandbox


@pytest.fixture(scope="module")
def r4box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningR4Sandbox]:
    running = start_r4_sandbox(tmp_path_factory.mktemp("r4") / "r4.db")
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clear_r4_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "r4box" in request.fixturenames:
        request.getfixturevalue("r4box").faults.clear()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[RunningR4Sandbox]:
    running = start_r4_sandbox(tmp_path / "r4.db")
    yield running
    running.stop()


@pytest.fixture
def make_client() -> Iterator:
    made: list[R4Client] = []

    def make(box: RunningR4Sandbox, key: str | None = None, **kw) -> R4Client:
        kw.setdefault("retries", 0)
        kw.setdefault("read_timeout", 5)
        kw.setdefault("backoff", 0)
        client = R4Client(box.base_url, key if key is not None else box.api_key, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def r4(r4box: RunningR4Sandbox, make_client) -> R4Client:
    return make_client(r4box)
