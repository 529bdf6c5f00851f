"""Zero-trust verification of what the emulator serves: the five seeded outcomes,
rollbacks, bumps and tampering, through the real client over loopback."""

from __future__ import annotations

import dataclasses

import pytest
import requests
from r4_helpers import FINANCE, LEGACY, PAYMENTS, PRODUCTION, STAGING

from app.r4 import (
    ItemSummary,
    Scheme,
    rollback_check,
    verify_checkpoint,
    verify_item_detail,
    verify_item_list,
)

NOT_IN_DIRECTORY = "signer key not in the vault's signer directory"


def control(box, method: str, path: str, **kw) -> requests.Response:
    return requests.request(
        method, box.root_url + path, headers={"X-API-Key": box.api_key}, timeout=10, **kw
    )


def read(client, vault_id: str):
    listing = client.list_items(vault_id)
    return listing, verify_item_list(listing, client.public_keys(vault_id))


def test_production_verifies_list_and_every_item(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    keys = r4.public_keys(vault_id)
    listing, verdict = read(r4, vault_id)
    assert verdict.status == "verified" and verdict.version == 26
    assert verdict.signer == listing.summary_checkpoint["signerUserKeyPairId"]
    assert verdict.signer in {k.id for k in keys if k.type == "USER_KEY_PAIR"}
    for item in listing.items:
        detail = verify_item_detail(r4.get_item(vault_id, item.id), keys)
        assert detail.status == "verified" and detail.version == 1, item.name


def test_staging_is_signed_by_the_agent_key(r4, r4box):
    vault_id = r4box.vault_id(STAGING)
    listing, verdict = read(r4, vault_id)
    assert verdict.verified and verdict.version == 7
    agent = [k for k in r4.public_keys(vault_id) if k.type == "AGENT_ENCRYPTION_KEY"]
    assert listing.summary_checkpoint["signerEncryptionKeyId"] == agent[0].id == verdict.signer


def test_finance_serves_items_that_differ_from_the_signature(r4, r4box):
    vault_id = r4box.vault_id(FINANCE)
    keys = r4.public_keys(vault_id)
    listing, verdict = read(r4, vault_id)
    assert (verdict.status, verdict.reason) == (
        "unverified", "items differ from the signed checkpoint",
    )  # fmt: skip
    assert verdict.version is None and verdict.signer is None
    # the signature itself is fine: only the served listing was changed
    assert verify_checkpoint(listing.summary_checkpoint, keys, vault_id).verified
    first, *rest = listing.items
    assert verify_item_detail(r4.get_item(vault_id, first.id), keys).reason == (
        "item differs from the signed checkpoint"
    )
    assert all(verify_item_detail(r4.get_item(vault_id, i.id), keys).verified for i in rest)


def test_legacy_is_signed_by_a_key_outside_the_directory(r4, r4box):
    vault_id = r4box.vault_id(LEGACY)
    keys = r4.public_keys(vault_id)
    listing, verdict = read(r4, vault_id)
    assert verdict.status == "unverified" and verdict.reason.startswith(NOT_IN_DIRECTORY)
    assert listing.summary_checkpoint["signerUserKeyPairId"] not in {k.id for k in keys}
    detail = verify_item_detail(r4.get_item(vault_id, listing.items[0].id), keys)
    assert detail.reason.startswith(NOT_IN_DIRECTORY)


def test_payments_rolls_back_after_the_first_read(fresh, make_client):
    client = make_client(fresh)
    vault_id = fresh.vault_id(PAYMENTS)
    first, v1 = read(client, vault_id)
    assert v1.verified and v1.version == 12 and rollback_check(v1, None) == "verified"
    highest = v1.version
    second, v2 = read(client, vault_id)
    assert v2.verified and v2.version == 9  # validly signed, just old
    assert rollback_check(v2, highest) == "rollback"
    resurrected = {i.name for i in second.items} - {i.name for i in first.items}
    assert resurrected == {"Stripe live key (revoked)"}
    _, v3 = read(client, vault_id)
    assert v3.version == 9 and rollback_check(v3, highest) == "rollback"


def test_rollback_control_serves_an_older_valid_checkpoint(fresh, make_client):
    client = make_client(fresh)
    vault_id = fresh.vault_id(PRODUCTION)
    _, latest = read(client, vault_id)
    assert latest.version == 26
    r = control(fresh, "POST", f"/_sandbox/rollback/{vault_id}")
    assert r.status_code == 200 and r.json() == {
        "vaultId": vault_id, "servedVersion": 25, "latestVersion": 26,
    }  # fmt: skip
    listing, old = read(client, vault_id)
    assert old.verified and old.version == 25 and len(listing.items) == 24
    assert rollback_check(old, latest.version) == "rollback"
    assert control(fresh, "POST", f"/_sandbox/rollback/{vault_id}", json={"version": 1}).ok
    listing, oldest = read(client, vault_id)
    assert oldest.verified and oldest.version == 1 and listing.items == []
    for bad in (26, 99, 0):
        r = control(fresh, "POST", f"/_sandbox/rollback/{vault_id}", json={"version": bad})
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_older_checkpoint"
    assert control(fresh, "DELETE", f"/_sandbox/rollback/{vault_id}").ok
    assert read(client, vault_id)[1].version == 26


def test_bump_adds_an_item_and_a_higher_verified_version(fresh, make_client):
    client = make_client(fresh)
    vault_id = fresh.vault_id(PRODUCTION)
    before, v26 = read(client, vault_id)
    r = control(fresh, "POST", f"/_sandbox/bump/{vault_id}")
    assert r.status_code == 200 and r.json()["version"] == 27
    after, v27 = read(client, vault_id)
    assert v27.verified and v27.version == 27 and rollback_check(v27, v26.version) == "verified"
    assert [i.id for i in after.items] == [i.id for i in before.items] + [r.json()["itemId"]]
    keys = client.public_keys(vault_id)
    assert verify_item_detail(client.get_item(vault_id, r.json()["itemId"]), keys).verified
    assert client.get_vault(vault_id).item_count == 26


def test_bump_ends_a_rollback(fresh, make_client):
    client = make_client(fresh)
    vault_id = fresh.vault_id(PAYMENTS)
    read(client, vault_id)
    assert read(client, vault_id)[1].version == 9
    control(fresh, "POST", f"/_sandbox/bump/{vault_id}")
    _, verdict = read(client, vault_id)
    assert verdict.verified and verdict.version == 13 and rollback_check(verdict, 12) == "verified"


def test_tamper_control_signature_and_items(fresh, make_client):
    client = make_client(fresh)
    vault_id = fresh.vault_id(STAGING)
    keys = client.public_keys(vault_id)
    item_id = client.list_items(vault_id).items[0].id
    r = control(fresh, "POST", f"/_sandbox/tamper/{vault_id}", json={"mode": "signature"})
    assert r.json() == {"vaultId": vault_id, "tamper": "signature"}
    assert read(client, vault_id)[1].reason == "signature does not match"
    assert verify_item_detail(client.get_item(vault_id, item_id), keys).reason == (
        "signature does not match"
    )
    control(fresh, "POST", f"/_sandbox/tamper/{vault_id}", json={"mode": "items"})
    assert read(client, vault_id)[1].reason == "items differ from the signed checkpoint"
    control(fresh, "POST", f"/_sandbox/tamper/{vault_id}", json={"mode": None})
    assert read(client, vault_id)[1].verified
    r = control(fresh, "POST", f"/_sandbox/tamper/{vault_id}", json={"mode": "other"})
    assert r.status_code == 400


def test_served_metadata_outside_the_signature_is_unverified(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    keys = r4.public_keys(vault_id)
    listing = r4.list_items(vault_id)
    extra = ItemSummary("f" * 24, "Unsigned", "LOGIN", ["https://evil.example"], None, None, 2)
    staging = r4.list_items(r4box.vault_id(STAGING))
    detail = r4.get_item(vault_id, listing.items[0].id)
    cases = {
        "items differ from the signed checkpoint": [
            dataclasses.replace(listing, items=[*listing.items, extra], count=26),
            dataclasses.replace(listing, items=listing.items[1:], count=24),
            dataclasses.replace(listing, count=99),
        ],
        "vault name differs from the signed checkpoint": [
            dataclasses.replace(listing, vault_name="Production (approved)")
        ],
        "data classification differs from the signed checkpoint": [
            dataclasses.replace(listing, data_classification="PUBLIC")
        ],
        "DEK version differs from the signed checkpoint": [
            dataclasses.replace(listing, current_dek_version=1)
        ],
        "checkpoint is for another vault": [
            dataclasses.replace(listing, summary_checkpoint=staging.summary_checkpoint)
        ],
        "checkpoint is not a vault summary checkpoint": [
            dataclasses.replace(listing, summary_checkpoint=detail.detail_checkpoint)
        ],
        "no checkpoint": [dataclasses.replace(listing, summary_checkpoint=None)],
    }
    for reason, variants in cases.items():
        for variant in variants:
            assert verify_item_list(variant, keys).reason == reason
    assert verify_item_list(listing, keys).verified  # reordering is not a change:
    assert verify_item_list(dataclasses.replace(listing, items=listing.items[::-1]), keys).verified


def test_item_detail_metadata_outside_the_signature_is_unverified(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    keys = r4.public_keys(vault_id)
    first, second = r4.list_items(vault_id).items[:2]
    detail = r4.get_item(vault_id, first.id)
    other = r4.get_item(vault_id, second.id)
    renamed = dataclasses.replace(detail.fields[0], name="Password (do not rotate)")
    cases = {
        "item differs from the signed checkpoint": dataclasses.replace(detail, websites=[]),
        "fields differ from the signed checkpoint": dataclasses.replace(
            detail, fields=[renamed, *detail.fields[1:]]
        ),
        "checkpoint is for another item": dataclasses.replace(
            detail, detail_checkpoint=other.detail_checkpoint
        ),
        "checkpoint is not an item detail checkpoint": dataclasses.replace(
            detail, detail_checkpoint=r4.list_items(vault_id).summary_checkpoint
        ),
    }
    for reason, variant in cases.items():
        assert verify_item_detail(variant, keys).reason == reason


@pytest.mark.parametrize("salt", ["max", 20])
def test_a_client_assuming_another_salt_length_still_verifies(r4, r4box, salt):
    """The salt length is only used to sign; verifying accepts any (test_checkpoint_salt)."""
    vault_id = r4box.vault_id(PRODUCTION)
    listing = r4.list_items(vault_id)
    verdict = verify_item_list(listing, r4.public_keys(vault_id), Scheme(salt_length=salt))
    assert verdict.verified


def test_verify_checkpoint_binds_served_items_and_item_when_given(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    keys = r4.public_keys(vault_id)
    listing = r4.list_items(vault_id)
    summary = listing.summary_checkpoint
    assert verify_checkpoint(summary, keys, vault_id, items=listing.items).verified
    assert verify_checkpoint(summary, keys, vault_id, items=listing.items[1:]).reason == (
        "items differ from the signed checkpoint"
    )
    detail = r4.get_item(vault_id, listing.items[3].id)
    assert verify_checkpoint(detail.detail_checkpoint, keys, vault_id, item=detail).verified
    moved = dataclasses.replace(detail, websites=["https://evil.example"])
    assert verify_checkpoint(detail.detail_checkpoint, keys, vault_id, item=moved).reason == (
        "item differs from the signed checkpoint"
    )
    assert verify_checkpoint(detail.detail_checkpoint, keys, vault_id, items=[]).reason == (
        "checkpoint is not a vault summary checkpoint"
    )
    finance = r4box.vault_id(FINANCE)
    served = r4.list_items(finance)
    verdict = verify_checkpoint(
        served.summary_checkpoint, r4.public_keys(finance), finance, items=served.items
    )
    assert verdict.reason == "items differ from the signed checkpoint"
