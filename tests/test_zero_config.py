"""Zero configuration: no keys in the environment, so the console starts all three emulators
itself, lazily, on loopback ports, with their data in the instance folder, and stops them."""

from __future__ import annotations

import requests

from app import create_app
from tests.conftest import AuthActions


def test_no_keys_starts_every_emulator_on_first_use_and_close_stops_them(tmp_path):
    app = create_app(
        {
            "ENV": {},
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "ARGON2_MEMORY_KIB": 8192,
            "ARGON2_TIME_COST": 1,
        }
    )
    connections = [app.extensions["upstream"], *app.extensions["other_vaults"].values()]
    assert all(c.is_sandbox for c in connections)
    assert all(c._sandbox is None for c in connections)  # nothing started by create_app

    client = app.test_client()
    AuthActions(app, client).login("zed", "viewer")
    entries = client.get("/entries").get_data(as_text=True)
    assert "Sandbox" in entries and "CloudCruise, Qoder, r4" in entries
    assert "Showing <strong>1–" in entries  # the seeded workspace
    assert "Engineering MCP" in client.get("/qoder").get_data(as_text=True)
    assert "Production" in client.get("/r4").get_data(as_text=True)

    urls = [c.client().base_url for c in connections]
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    instance = tmp_path / "instance"
    assert (instance / "sandbox.db").exists()
    assert (instance / "qoder-sandbox.db").exists() and (instance / "r4-sandbox.db").exists()

    for connection in connections:
        connection.close()
    for url in urls:
        try:
            requests.get(url, timeout=2)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{url} still answers after close()")
