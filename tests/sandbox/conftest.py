"""Fixtures for the sandbox's own tests: every test talks to it over a real loopback socket.

* ``box``: a fresh, empty sandbox (seed 0, no rate limits) on its own file and port;
* ``seeded``: one seeded sandbox (40 entries) per module, for read-only checks;
* ``api``: a tiny HTTP helper bound to ``box`` (``api.get("/vault")``), with ``api.enc``.

Helpers (``uid``, ``spawn_cli``, ``Api``) live in ``sandbox_helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import Api, bound

from app.sandbox import RunningSandbox, start_sandbox


@pytest.fixture
def box(tmp_path: Path) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path / "sandbox.db", seed=0, rate_limits=None)
    yield running
    running.stop()


@pytest.fixture
def api(box: RunningSandbox) -> Api:
    return bound(box)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(
        tmp_path_factory.mktemp("seeded") / "sandbox.db", seed=40, rate_limits=None
    )
    yield running
    running.stop()
