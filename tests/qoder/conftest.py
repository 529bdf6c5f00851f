"""Fixtures for the Qoder client and emulator tests (real loopback sockets, xdist-safe).

* ``qbox``: one seeded emulator per test worker, **read-only by convention**, so listing
  tests can count the seeded data. ``wbox``: one unseeded emulator per worker for tests
  that write (each creates its own vaults).
* After every test that used them, faults are cleared and shape / limit mode reset to
  nested / error.
* ``qoder`` / ``wqoder``: :class:`QoderClient` on ``qbox`` / ``wbox`` (fast retries, short
  timeouts); ``raw`` / ``wraw``: plain HTTP; ``seeded``: display name -> seeded vault id.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qoder_helpers import Raw

from app.qoder import QoderClient
from app.sandbox.qoder import RunningQoderSandbox, start_qoder_sandbox

BOXES = ("qbox", "wbox")


@pytest.fixture(scope="session")
def qbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningQoderSandbox]:
    running = start_qoder_sandbox(tmp_path_factory.mktemp("qoder") / "seeded.db")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def wbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningQoderSandbox]:
    running = start_qoder_sandbox(tmp_path_factory.mktemp("qoder") / "writes.db", seed=False)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _reset_boxes(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in BOXES:
        if name in request.fixturenames:
            box = request.getfixturevalue(name)
            box.faults.clear()
            box.shape = "nested"
            box.limit_over_100 = "error"


def _client(box: RunningQoderSandbox) -> QoderClient:
    return QoderClient(box.base_url, box.pat, read_timeout=5, retries=2, backoff=0.01)


@pytest.fixture
def qoder(qbox: RunningQoderSandbox) -> Iterator[QoderClient]:
    client = _client(qbox)
    yield client
    client.close()


@pytest.fixture
def wqoder(wbox: RunningQoderSandbox) -> Iterator[QoderClient]:
    client = _client(wbox)
    yield client
    client.close()


@pytest.fixture
def raw(qbox: RunningQoderSandbox) -> Raw:
    return Raw(qbox.base_url, qbox.pat, qbox.root_url)


@pytest.fixture
def wraw(wbox: RunningQoderSandbox) -> Raw:
    return Raw(wbox.base_url, wbox.pat, wbox.root_url)


@pytest.fixture(scope="session")
def seeded(qbox: RunningQoderSandbox) -> dict[str, str]:
    r = Raw(qbox.base_url, qbox.pat, qbox.root_url).get(
        "/vaults", params={"include_archived": "true", "limit": 100}
    )
    assert r.status_code == 200
    return {v["display_name"]: v["id"] for v in r.json()["data"]}
