"""The r4 emulator on the wire: shapes, auth, 404s, v3 envelopes, controls, CLI."""

from __future__ import annotations

import base64
import json
import re

import pytest
import requests
from r4_helpers import FINANCE, PAYMENTS, PRODUCTION, spawn_r4_cli

from app.sandbox.r4 import start_r4_sandbox
from app.sandbox.r4.crypto import open_envelope


def get(box, path: str, key: str | None = "box", **kw) -> requests.Response:
    headers = {} if key is None else {"X-API-Key": box.api_key if key == "box" else key}
    return requests.get(box.base_url + path, headers=headers, timeout=10, **kw)


def test_base_url_and_list_shape(r4box):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/machine", r4box.base_url)
    r = get(r4box, "/vault")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    vault = r.json()["vaults"][0]
    assert set(vault) == {"id", "name", "isEncrypted", "encryptionKeyId",
                          "dataClassification", "itemCount", "createdAt"}  # fmt: skip
    detail = get(r4box, f"/vault/{vault['id']}").json()
    assert set(detail) == set(vault) | {"createdBy"}
    assert get(r4box, f"/vaults/{vault['id']}").json() == detail  # read-only alias


@pytest.mark.parametrize("key", [None, "rk_000000000000.AAAAAAAAAAAAAAAAAAAAAAAA", ""])
def test_missing_or_wrong_key_is_401(r4box, key):
    r = get(r4box, "/vault", key=key)
    assert r.status_code == 401
    message = "Invalid or missing API key in the X-API-Key header."
    assert r.json() == {"error": {"code": "unauthorized", "message": message}}
    assert requests.post(r4box.root_url + "/_sandbox/bump/x", timeout=5).status_code == 401


def test_not_found_bodies_are_the_documented_ones(r4box):
    prod = r4box.vault_id(PRODUCTION)
    for vault_id in ("0" * 24, "not-an-id"):
        r = get(r4box, f"/vault/{vault_id}/items")
        assert r.status_code == 404 and r.json() == {"error": {
            "code": "vault_not_found",
            "message": f'The vault with ID "{vault_id}" was not found or you do not have access '
                       "to it.",
        }}  # fmt: skip
    r = get(r4box, f"/vault/{prod}/items/{'1' * 24}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "vault_item_not_found"
    # an item of another vault is "not found" in this one
    finance_item = get(r4box, f"/vault/{r4box.vault_id(FINANCE)}/items").json()["items"][0]["id"]
    assert get(r4box, f"/vault/{prod}/items/{finance_item}").status_code == 404
    r = get(r4box, f"/vault/{prod}/fields/{'1' * 24}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "vault_field_not_found"
    r = get(r4box, "/nope", key=None)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_field_values_are_v3_aes_gcm_envelopes_under_the_vault_dek(r4box):
    prod = r4box.vault_id(PRODUCTION)
    listing = get(r4box, f"/vault/{prod}/items").json()
    assert set(listing) == {"vaultId", "vaultName", "dataClassification", "currentDekVersion",
                            "summaryCheckpoint", "items", "vaultItemGroups", "count"}  # fmt: skip
    item = get(r4box, f"/vault/{prod}/items/{listing['items'][0]['id']}").json()
    dek = r4box.model.dek(prod)
    for f in item["fields"]:
        assert isinstance(f["value"], str)
        envelope = json.loads(f["value"])
        assert set(envelope) == {"v", "iv", "t", "d"} and envelope["v"] == 3
        assert len(base64.b64decode(envelope["iv"])) == 12
        assert len(base64.b64decode(envelope["t"])) == 16
        assert open_envelope(f["value"], dek)  # decryptable under the emulator's DEK only
        one = get(r4box, f"/vault/{prod}/fields/{f['id']}").json()
        assert one["value"] == f["value"] and one["vaultItemId"] == item["id"]
        assert one["fieldInstanceId"] in f["fieldInstanceIds"]
        assert one["detailCheckpoint"] == item["detailCheckpoint"]
    cp = item["detailCheckpoint"]["checkpoint"]
    assert cp["vaultItemId"] == item["id"] and cp["vaultId"] == prod
    assert [f["id"] for f in cp["fields"]] == [f["id"] for f in item["fields"]]
    assert all("value" not in f for f in cp["fields"])


def test_fault_control_endpoints(r4box):
    headers = {"X-API-Key": r4box.api_key}
    fault = {"kind": "status", "status": 503, "path": "/api/v1/machine/vault"}
    r = requests.post(r4box.root_url + "/_sandbox/faults", headers=headers, timeout=5, json=fault)
    assert r.status_code == 201 and r.json()["kind"] == "status"
    assert (
        len(requests.get(r4box.root_url + "/_sandbox/faults", headers=headers, timeout=5).json())
        == 1
    )
    r = get(r4box, "/vault")
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert get(r4box, "/vault").status_code == 200  # consumed
    r = requests.post(r4box.root_url + "/_sandbox/faults", headers=headers, timeout=5,
                      json={"kind": "nope"})  # fmt: skip
    assert r.status_code == 400 and "kind must be one of" in r.json()["error"]["message"]
    assert requests.get(r4box.root_url + "/_sandbox/health", timeout=5).json() == {"status": "ok"}


def test_restart_keeps_key_and_data_and_does_not_reseed(tmp_path):
    data = tmp_path / "r4.db"
    with start_r4_sandbox(data) as first:
        key, ids = first.api_key, [first.vault_id(n) for n in (PRODUCTION, PAYMENTS)]
        assert first.seeded and first.generated_key
    with start_r4_sandbox(data) as second:
        assert not second.seeded and second.generated_key and second.api_key == key
        assert [second.vault_id(n) for n in (PRODUCTION, PAYMENTS)] == ids
        assert len(get(second, "/vault").json()["vaults"]) == 7
    with start_r4_sandbox(data, api_key="given-key") as third:
        assert third.api_key == "given-key" and not third.generated_key
    with pytest.raises(ValueError):
        start_r4_sandbox(tmp_path / "other.db", api_key="has space")


def test_no_seed_serves_an_empty_account(tmp_path):
    with start_r4_sandbox(tmp_path / "empty.db", seed=False) as box:
        assert get(box, "/vault").json() == {"vaults": []}


def test_cli_prints_its_generated_key_and_serves(tmp_path):
    cli = spawn_r4_cli("--data", str(tmp_path / "sub" / "r4.db"))
    try:
        base, key = cli.values["R4_BASE_URL"], cli.values["R4_API_KEY"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/machine", base), cli.stderr
        assert re.fullmatch(r"rk_[0-9a-f]{12}\.[A-Za-z0-9]{24}", key)
        assert cli.stdout.splitlines() == [f"R4_BASE_URL={base}", f"R4_API_KEY={key}"]
        r = requests.get(base + "/vault", headers={"X-API-Key": key}, timeout=5)
        assert [v["name"] for v in r.json()["vaults"]][0] == PRODUCTION
    finally:
        assert cli.stop() == 0


def test_cli_with_a_given_key_does_not_print_it(tmp_path):
    cli = spawn_r4_cli("--data", str(tmp_path / "r4.db"), "--api-key", "rk_given", "--no-seed")
    try:
        assert set(cli.values) == {"R4_BASE_URL"} and "rk_given" not in cli.stdout + cli.stderr
        r = requests.get(cli.values["R4_BASE_URL"] + "/vault", headers={"X-API-Key": "rk_given"},
                         timeout=5)  # fmt: skip
        assert r.json() == {"vaults": []}
    finally:
        assert cli.stop() == 0


def test_cli_bad_key_exits_2(tmp_path):
    cli = spawn_r4_cli("--data", str(tmp_path / "r4.db"), "--api-key", "a b")
    assert cli.proc.wait(timeout=10) == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.startswith("error: The API key must be")
