"""R4Client against the emulator over loopback: reads, value hygiene, typed errors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from r4_helpers import (
    FINANCE,
    PRODUCTION,
    PRODUCTION_SECRETS,
    STAGING,
    STAGING_SECRETS,
    VAULT_NAMES,
)

from app.r4 import FieldInfo, ItemDetail, ItemList, ItemSummary, R4Client, SignerKey, Vault
from app.upstream_errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)

ITEM_TYPES = {"LOGIN", "API_KEY", "DATABASE", "SSH_KEY", "SERVER", "SECURE_NOTE",
              "CREDIT_CARD", "CUSTOM"}  # fmt: skip
HEX24 = re.compile(r"[0-9a-f]{24}")


def test_list_vaults(r4):
    vaults = r4.list_vaults()
    assert [v.name for v in vaults] == VAULT_NAMES
    for v in vaults:
        assert isinstance(v, Vault) and HEX24.fullmatch(v.id) and v.is_encrypted
        assert HEX24.fullmatch(v.encryption_key_id) and v.created_at.endswith("Z")
        assert v.data_classification in {"PUBLIC", "INTERNAL", "CONFIDENTIAL", "CUI"}
    counts = {v.name: v.item_count for v in vaults}
    assert counts == {PRODUCTION: 25, STAGING: 6, FINANCE: 5, "Legacy import": 4, "Payments": 9,
                      PRODUCTION_SECRETS: 12, STAGING_SECRETS: 12}  # fmt: skip


def test_get_vault_matches_the_list(r4, r4box):
    listed = {v.id: v for v in r4.list_vaults()}
    prod = r4.get_vault(r4box.vault_id(PRODUCTION))
    assert prod == listed[prod.id]


def test_list_items(r4, r4box):
    items = r4.list_items(r4box.vault_id(PRODUCTION))
    assert isinstance(items, ItemList)
    assert items.vault_id == r4box.vault_id(PRODUCTION) and items.vault_name == PRODUCTION
    assert items.count == len(items.items) == 25
    assert items.current_dek_version == 2 and items.data_classification == "CONFIDENTIAL"
    assert {i.type for i in items.items} == ITEM_TYPES
    for item in items.items:
        assert isinstance(item, ItemSummary) and HEX24.fullmatch(item.id)
        assert all(w.startswith("https://") for w in item.websites)
        assert 2 <= item.field_count <= 6 and item.group_id is None
    assert sum(bool(i.websites) for i in items.items) >= 20
    cp = items.summary_checkpoint
    assert set(cp) == {"checkpoint", "signerUserKeyPairId", "signature"}
    assert cp["checkpoint"]["version"] == 26 and cp["checkpoint"]["groups"] == []


def test_item_detail_keeps_no_field_value(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    for summary in r4.list_items(vault_id).items[:8]:
        raw = requests.get(
            f"{r4box.base_url}/vault/{vault_id}/items/{summary.id}",
            headers={"X-API-Key": r4box.api_key},
            timeout=5,
        ).json()
        values = [f["value"] for f in raw["fields"]]
        assert all(json.loads(v)["v"] == 3 for v in values)
        detail = r4.get_item(vault_id, summary.id)
        assert isinstance(detail, ItemDetail) and detail.id == summary.id
        assert (detail.name, detail.type, detail.websites) == (
            summary.name, summary.type, summary.websites,
        )  # fmt: skip
        assert len(detail.fields) == summary.field_count
        assert [f.order for f in detail.fields] == list(range(len(detail.fields)))
        assert all(isinstance(f, FieldInfo) and f.has_value for f in detail.fields)
        assert "value" not in {f.name for f in dataclasses.fields(FieldInfo)}
        everything = repr(detail) + json.dumps(dataclasses.asdict(detail), ensure_ascii=False)
        for value in values:
            envelope = json.loads(value)
            for part in (value, envelope["iv"], envelope["t"], envelope["d"]):
                assert part not in everything
        assert '"v": 3' not in everything and '"v":3' not in everything


def test_public_keys(r4, r4box):
    keys = r4.public_keys(r4box.vault_id(PRODUCTION))
    assert {k.type for k in keys} == {"USER_KEY_PAIR", "AGENT_ENCRYPTION_KEY"}
    for key in keys:
        assert isinstance(key, SignerKey) and HEX24.fullmatch(key.id)
        assert key.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqh")
        public = serialization.load_pem_public_key(key.public_key_pem.encode())
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert key.fingerprint == hashlib.sha256(der).hexdigest() and public.key_size == 2048


def test_public_keys_accepts_other_plausible_shapes(r4, r4box):
    vault_id = r4box.vault_id(PRODUCTION)
    real = r4.public_keys(vault_id)[0]
    path = f"/api/v1/machine/vault/{vault_id}/public-keys"
    alt = {"encryptionKeyId": real.id, "publicKeyPem": real.public_key_pem,
           "signerType": "AGENT_ENCRYPTION_KEY"}  # fmt: skip
    for body in ([alt], {"publicKeys": [alt]}, {"signers": [alt]}):
        r4box.faults.add("status", status=200, path=path, body=body)
        assert r4.public_keys(vault_id) == [
            SignerKey(real.id, "AGENT_ENCRYPTION_KEY", real.public_key_pem, None)
        ]


def test_key_is_never_shown(r4box, make_client):
    client = make_client(r4box)
    key = r4box.api_key
    assert re.fullmatch(r"rk_[0-9a-f]{12}\.[A-Za-z0-9]{24}", key)
    assert client.key_hint == "…" + key[-4:]
    assert key not in repr(client) and key[:-4] not in repr(client)
    with pytest.raises(ValueError, match="R4_API_KEY"):
        R4Client(r4box.base_url, "  ")
    assert make_client(r4box, key="short").key_hint == "…"


# -- errors -----------------------------------------------------------------------------------
def test_wrong_key_is_an_auth_error(r4box, make_client):
    wrong = "rk_000000000000.wrongwrongwrongwrongwron"
    with pytest.raises(AuthError) as info:
        make_client(r4box, key=wrong).list_vaults()
    assert info.value.message == "r4 rejected the API key (R4_API_KEY)."
    assert info.value.status == 401 and info.value.code == "unauthorized"
    assert wrong not in str(info.value) and r4box.api_key not in str(info.value)


def test_unknown_vault_and_item_are_not_found(r4, r4box):
    missing = "0" * 24
    with pytest.raises(NotFoundError) as info:
        r4.get_vault(missing)
    assert info.value.code == "vault_not_found" and missing in info.value.message
    with pytest.raises(NotFoundError):
        r4.list_items(missing)
    with pytest.raises(NotFoundError):
        r4.public_keys("../vault")  # quoted: never escapes the path
    with pytest.raises(NotFoundError) as info:
        r4.get_item(r4box.vault_id(PRODUCTION), missing)
    assert info.value.code == "vault_item_not_found"
    assert info.value.message == (
        f'The vault item "{missing}" was not found or this API key has no access to it.'
    )


@pytest.mark.parametrize(
    ("fault", "error", "check"),
    [
        ({"status": 403, "body": {"error": {"code": "agent_scope_required", "message":
          "This endpoint needs an AGENT key."}}}, AuthError,
         lambda e: e.message == "r4 refused the request (agent_scope_required): "
                                "This endpoint needs an AGENT key."),
        ({"status": 409}, ConflictError, lambda e: e.status == 409),
        ({"status": 400}, ValidationError, lambda e: e.code == "bad_request"),
        ({"status": 429, "headers": {"Retry-After": "40"}}, RateLimitedError,
         lambda e: e.retry_after == 40 and "Retry in 40 s" in e.message),
        ({"status": 503}, UnavailableError,
         lambda e: e.kind == "server" and e.status == 503
                   and e.message.startswith("r4 answered 503")),
        ({"status": 500, "body": "<html>oops</html>"}, UnavailableError,
         lambda e: e.kind == "server" and e.status == 500),
        ({"status": 200, "body": {"nope": 1}}, UnavailableError, lambda e: e.kind == "malformed"),
        ({"status": 200, "body": {"vaults": [{"id": 5}]}}, UnavailableError,
         lambda e: e.kind == "malformed"),
        ({"kind": "malformed"}, UnavailableError, lambda e: e.kind == "malformed"),
        ({"kind": "content_type"}, UnavailableError, lambda e: e.kind == "malformed"),
        ({"kind": "drop"}, UnavailableError, lambda e: e.kind == "connection"),
        ({"kind": "slow_read", "delay": 2}, UnavailableError, lambda e: e.kind == "timeout"),
    ],
    ids=["403", "409", "400", "429", "503", "500-html", "shape", "bad-vault", "malformed",
         "html", "drop", "slow"],
)  # fmt: skip
def test_faults_map_to_typed_errors(r4box, make_client, fault, error, check):
    r4box.faults.add(fault.pop("kind", "status"), path="/api/v1/machine/vault", **fault)
    with pytest.raises(error) as info:
        make_client(r4box, read_timeout=0.5).list_vaults()
    assert check(info.value), info.value.message
    assert r4box.api_key not in info.value.message


def test_oversized_answers_are_refused(r4box, make_client):
    r4box.faults.add("oversized", size=200_000)
    with pytest.raises(UnavailableError) as info:
        make_client(r4box, max_response_bytes=100_000).list_vaults()
    assert info.value.kind == "malformed" and "too large" in info.value.message


def test_a_transient_5xx_on_a_read_is_retried(r4box, make_client):
    r4box.faults.add("status", status=503, times=2)
    assert len(make_client(r4box, retries=2).list_vaults()) == 7


def test_an_answer_for_another_vault_is_malformed(r4, r4box):
    prod, staging = r4box.vault_id(PRODUCTION), r4box.vault_id(STAGING)
    r4box.faults.add("status", status=200, path=f"/api/v1/machine/vault/{prod}/items",
                     body={"vaultId": staging, "vaultName": "x", "items": []})  # fmt: skip
    with pytest.raises(UnavailableError, match="another vault"):
        r4.list_items(prod)
