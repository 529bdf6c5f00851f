"""The r4 seed's compare pair, read through :class:`R4Client` over loopback: "Production
Secrets" (side A) and "Staging Secrets" (side B) hold exactly the seeded differences (items
matched by name, case-insensitive and trimmed; type, websites as a set, field count and
group compared), and both vaults' checkpoints verify."""

from __future__ import annotations

from pathlib import Path

from r4_helpers import PRODUCTION_SECRETS, STAGING_SECRETS

from app.r4 import ItemSummary, verify_item_detail, verify_item_list
from app.sandbox.r4 import seed as r4_seed
from app.sandbox.r4.store import R4Store
from app.sandbox.r4.vaults import VaultModel
from tests.compare_support import assert_differs_as_seeded

ATTRIBUTES = ("type", "websites", "field_count", "group")
# The expected comparison, written out here (not derived from the seed's specs).
ONLY_A = {"stripe live key", "pagerduty"}
ONLY_B = {"stripe test key", "mailtrap inbox"}
SAME = {"database url", "sentry dsn", "grafana", "smtp credentials", "github deploy key",
        "status page"}  # fmt: skip
CHANGED = {"feature flags": "type", "admin console": "websites", "redis cache": "field_count",
           "vault unseal key": "group"}  # fmt: skip


def key(name: str) -> str:
    return name.strip().casefold()


def values(item: ItemSummary) -> dict[str, object]:
    return {"type": item.type, "websites": frozenset(item.websites),
            "field_count": item.field_count, "group": item.group_id}  # fmt: skip


def by_key(items: list[ItemSummary]) -> dict[str, ItemSummary]:
    keyed = {key(i.name): i for i in items}
    assert len(keyed) == len(items), "two items of one vault share a name"
    return keyed


def read_pair(r4, r4box) -> tuple[dict[str, ItemSummary], dict[str, ItemSummary]]:
    a = r4.list_items(r4box.vault_id(PRODUCTION_SECRETS))
    b = r4.list_items(r4box.vault_id(STAGING_SECRETS))
    assert (a.vault_name, b.vault_name) == (PRODUCTION_SECRETS, STAGING_SECRETS)
    return by_key(a.items), by_key(b.items)


def test_the_seed_exports_the_expected_comparison():
    assert r4_seed.PRODUCTION_SECRETS_NAME == PRODUCTION_SECRETS
    assert r4_seed.STAGING_SECRETS_NAME == STAGING_SECRETS
    assert set(r4_seed.SECRETS_ONLY_A) == ONLY_A and set(r4_seed.SECRETS_ONLY_B) == ONLY_B
    assert set(r4_seed.SECRETS_SAME) == SAME and r4_seed.SECRETS_CHANGED == CHANGED


def test_seed_returns_the_pair_ids(tmp_path: Path):
    store = R4Store(tmp_path / "r4.db")
    try:
        model = VaultModel(store)
        with store.write() as conn:
            ids = r4_seed.seed(model, conn, "0" * 24)
        assert ids["production_secrets"] == model.vault_id_by_name(PRODUCTION_SECRETS)
        assert ids["staging_secrets"] == model.vault_id_by_name(STAGING_SECRETS)
        assert ids["production"] == model.vault_id_by_name("Production – agents")
    finally:
        store.close()


def test_both_vaults_are_listed_and_their_checkpoints_verify(r4, r4box):
    listed = {v.name: v for v in r4.list_vaults()}
    signers = set()
    for name in (PRODUCTION_SECRETS, STAGING_SECRETS):
        vault_id = r4box.vault_id(name)
        assert listed[name].id == vault_id and listed[name].item_count == 12
        keys = r4.public_keys(vault_id)
        listing = r4.list_items(vault_id)
        verdict = verify_item_list(listing, keys)
        assert verdict.status == "verified", (name, verdict.reason)
        assert verdict.version == 13  # the empty vault's version 1, then one per item
        user_keys = {k.id for k in keys if k.type == "USER_KEY_PAIR"}
        assert verdict.signer == listing.summary_checkpoint["signerUserKeyPairId"] in user_keys
        assert listing.summary_checkpoint["checkpoint"]["groups"] == []
        signers.add(verdict.signer)
        for item in listing.items:
            detail = r4.get_item(vault_id, item.id)
            assert verify_item_detail(detail, keys).verified, (name, item.name)
            # the listing's field count and group are the detail's
            assert len(detail.fields) == item.field_count and detail.group_id == item.group_id
    assert len(signers) == 1  # both signed by the one in-directory user key pair


def test_the_pair_differs_exactly_as_seeded(r4, r4box):
    a, b = read_pair(r4, r4box)
    assert len(a) == len(b) == 12
    assert_differs_as_seeded(a, b, values, ATTRIBUTES, only_a=ONLY_A, only_b=ONLY_B,
                             same=SAME, changed=CHANGED)  # fmt: skip


def test_each_difference_side_by_side(r4, r4box):
    a, b = read_pair(r4, r4box)
    assert (a["feature flags"].type, b["feature flags"].type) == ("CUSTOM", "API_KEY")
    assert a["admin console"].websites == ["https://admin.example.com"]
    assert b["admin console"].websites == ["https://admin.staging.example.com"]
    assert (a["redis cache"].field_count, b["redis cache"].field_count) == (5, 3)
    group_a, group_b = a["vault unseal key"].group_id, b["vault unseal key"].group_id
    assert group_a and group_b and group_a != group_b
    # the same group id on both sides counts as the same group
    assert a["grafana"].group_id == b["grafana"].group_id is not None
    assert a["smtp credentials"].group_id is None and b["smtp credentials"].group_id is None
    # names equal but for case and surrounding spaces: served as written
    assert a["github deploy key"].name == "GitHub Deploy Key"
    assert b["github deploy key"].name == "  github deploy key "
    # the same websites in another order
    status_a, status_b = a["status page"].websites, b["status page"].websites
    assert status_a != status_b and sorted(status_a) == sorted(status_b)
    assert [i.name for i in a.values() if key(i.name) in ONLY_A] == ["Stripe live key",
                                                                     "PagerDuty"]  # fmt: skip


def test_served_items_are_the_seeded_specs(r4, r4box):
    a, b = read_pair(r4, r4box)
    for served, specs in ((a, r4_seed.PRODUCTION_SECRETS), (b, r4_seed.STAGING_SECRETS)):
        assert len(served) == len(specs)
        for spec in specs:
            item = served[key(spec.name)]
            assert (item.name, item.type, item.websites, item.field_count) == (
                spec.name, spec.type, spec.websites, spec.fields,
            )  # fmt: skip
            assert (item.group_id is None) == (spec.group is None), spec.name
