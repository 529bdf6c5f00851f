"""The provider registry: everything that lists providers iterates it, so a fourth provider
is its package plus one registry line (here: ``tests/fourth_provider.py``)."""

from __future__ import annotations

import re

import pytest

from app import providers
from app.audit.query import ACTIONS, GROUPS
from app.config import OtherVault, load_config
from tests.conftest import AuthActions, make_app


def test_the_registry_declares_three_providers_in_order():
    assert [p.key for p in providers.all()] == ["cloudcruise", "qoder", "r4"]
    assert providers.primary().key == "cloudcruise"
    assert [p.name for p in providers.all()] == ["CloudCruise", "Qoder", "r4"]


def test_audit_labels_and_groups_come_from_the_providers():
    assert ACTIONS["qoder.credential.archive"] == "Qoder credential archived"
    assert ACTIONS["qoder.credential.rotate"] == "Qoder credential token rotated"
    assert ACTIONS["entry.create"] == "Entry created" and ACTIONS["auth.login"] == "Sign-in"
    assert GROUPS["qoder."] == "All Qoder events" and GROUPS["entry."] == "All entry events"


def test_configuration_is_read_per_provider(tmp_path):
    config = load_config(
        {"QODER_PAT": "qpat_x", "QODER_WORKSPACE_ID": "ws_1", "R4_BASE_URL": "http://r4.local/"},
        tmp_path,
    )
    assert config["UPSTREAM"].sandbox is True
    qoder, r4 = config["OTHER_VAULTS"]["qoder"], config["OTHER_VAULTS"]["r4"]
    assert (qoder.sandbox, qoder.key, qoder.options) == (False, "qpat_x", {"workspace_id": "ws_1"})
    assert (r4.sandbox, r4.base_url, r4.options) == (True, "http://r4.local", {})


def test_the_status_page_has_a_card_per_provider(client, auth):
    auth.login("st-admin", "admin")
    html = client.get("/status").get_data(as_text=True)
    for key, name in (("cloudcruise", "CloudCruise"), ("qoder", "Qoder"), ("r4", "r4")):
        card = html.split(f'id="status-{key}"', 1)[1].split("</section>", 1)[0]
        assert f"<h2>{name} API</h2>" in card and "reachable" in card, key
    assert "Encryption key" in html.split('id="status-cloudcruise"', 1)[1].split("</section>")[0]


@pytest.fixture
def fourth(monkeypatch):
    monkeypatch.setattr(providers, "REGISTRY", (*providers.REGISTRY, "tests.fourth_provider"))
    providers.all.cache_clear()
    yield providers.get("fourth")
    monkeypatch.undo()
    providers.all.cache_clear()


def test_a_fourth_provider_is_one_registry_line(tmp_path, sandbox, other_vaults, fourth):
    assert load_config({}, tmp_path / "cfg")["OTHER_VAULTS"]["fourth"].sandbox is True
    others = {
        "qoder": OtherVault(True, other_vaults["qoder"].base_url, other_vaults["qoder"].pat),
        "r4": OtherVault(True, other_vaults["r4"].base_url, other_vaults["r4"].api_key),
        "fourth": OtherVault(True, None, None),
    }
    app = make_app(tmp_path, sandbox, OTHER_VAULTS=others)
    try:
        client = app.test_client()
        AuthActions(app, client).login("four-admin", "admin")
        page = client.get("/fourth").get_data(as_text=True)
        switch = re.search(r'aria-label="Vault service">(.*?)</span>', page, re.S)[1]
        assert re.findall(r">([^<]+)</a>", switch) == ["CloudCruise", "Qoder", "r4", "Fourth"]
        assert 'href="/fourth" aria-current="page"' in switch
        assert "CloudCruise, Qoder, r4, Fourth are local emulators" in page
        found = client.get("/search?q=zebra").get_data(as_text=True)
        assert 'id="results-fourth"' in found and "fourth item zebra" in found
        assert "Fourth items (name)" in found
        status = client.get("/status").get_data(as_text=True)
        card = status.split('id="status-fourth"', 1)[1].split("</section>", 1)[0]
        assert "<h2>Fourth API</h2>" in card and "not started" in card
        assert app.extensions["other_vaults"]["fourth"].connected is False
        assert providers.audit_actions()["fourth.item.touch"] == "Fourth item touched"
    finally:
        app.extensions["upstream"].close()
