"""GET /vault/tfa-code (authenticator, email inbox, unsupported methods) and the
read-only secret-provider endpoints."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from sandbox_helpers import bound

from app.sandbox import computed, tfa

SECRET = pyotp.random_base32()


def code_for(api, entry):
    params = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    return api.get("/vault/tfa-code", params=params)


def test_authenticator_code_matches_pyotp(api):
    entry = api.create(tfa_method="AUTHENTICATOR", tfa_secret=api.enc(SECRET))
    before = pyotp.TOTP(SECRET).now()
    r = code_for(api, entry)
    after = pyotp.TOTP(SECRET).now()
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["type"] == "authenticator" and body["code"] in (before, after)
    assert set(body) == {"type", "code", "expires_in_seconds"}
    assert 1 <= body["expires_in_seconds"] <= 30
    assert body["expires_in_seconds"] == pytest.approx(30 - time.time() % 30, abs=1.5)


def test_totp_accepts_80_bit_secrets():
    # pyotp refuses secrets under 112 bits, authenticator apps do not
    long_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    for moment in (59, 1111111109, 2000000000):
        assert tfa.totp_at(long_secret, moment) == pyotp.TOTP(long_secret).at(moment)
    assert tfa.totp_at("JBSWY3DPEHPK3PXP", 59).isdigit()


def test_email_code_needs_a_fresh_received_code(api, box):
    entry = api.create(tfa_method="EMAIL")
    r = code_for(api, entry)
    assert r.status_code == 404 and r.headers["Cache-Control"] == "no-store"
    assert r.json()["message"] == "No fresh 2FA code has been received"
    recorded = api.post(
        "/_sandbox/email-codes",
        json={
            "permissioned_user_id": entry["permissioned_user_id"],
            "domain": entry["domain"],
            "code": "482913",
        },
    )
    assert recorded.status_code == 201
    r = code_for(api, entry)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json() == {
        "type": "email",
        "code": "482913",
        "received_at": recorded.json()["received_at"],
    }


def test_stale_email_codes_are_not_returned(api, box):
    entry = api.create(tfa_method="EMAIL")
    eleven_minutes_ago = computed.format_ts(computed.utcnow() - timedelta(minutes=11))
    nine_minutes_ago = computed.format_ts(computed.utcnow() - timedelta(minutes=9))
    with box.store.write() as db:
        db.add_email_code(entry["id"], "111111", eleven_minutes_ago)
    assert code_for(api, entry).status_code == 404
    with box.store.write() as db:
        db.add_email_code(entry["id"], "222222", nine_minutes_ago)
    assert code_for(api, entry).json()["code"] == "222222"


def test_seeded_simulated_inboxes_always_have_a_fresh_code(seeded):
    api = bound(seeded)
    entries = [e for e in api.get("/vault").json() if e["tfa_method"] == "EMAIL"]
    answers = [code_for(api, e) for e in entries]
    fresh = [r for r in answers if r.status_code == 200]
    assert fresh and len(fresh) < len(answers)  # some inboxes receive codes, others do not
    now = computed.utcnow()
    for r in fresh:
        body = r.json()
        assert body["code"].isdigit() and len(body["code"]) == 6
        age = now - computed.parse_ts(body["received_at"])
        assert timedelta(0) <= age <= timedelta(minutes=5, seconds=20)


def test_simulated_inbox_is_deterministic_per_slot():
    slot_start = 3_000_000.0  # a multiple of the 300 s period
    code, received = tfa.simulated_inbox_code("entry-1", slot_start + 30)
    assert slot_start < received <= slot_start + 20
    assert tfa.simulated_inbox_code("entry-1", slot_start + 299) == (code, received)
    next_code, next_received = tfa.simulated_inbox_code("entry-1", slot_start + 330)
    assert next_received > slot_start + 300 and next_code != code
    # before this slot's code arrives, the previous one is the latest
    assert tfa.simulated_inbox_code("entry-1", slot_start + 1)[1] < slot_start
    assert tfa.simulated_inbox_code("entry-2", slot_start + 30) != (code, received)


@pytest.mark.parametrize(
    ("method", "fragment"),
    [("SMS", "SMS"), ("MAGIC_LINK", "Magic-link"), (None, "no 2FA method")],
)
def test_unsupported_methods_are_409(api, method, fragment):
    entry = api.create(**({"tfa_method": method} if method else {}))
    r = code_for(api, entry)
    assert r.status_code == 409
    assert fragment in r.json()["message"]


def test_tfa_code_errors(api):
    r = api.get("/vault/tfa-code", params={"permissioned_user_id": "a"})
    assert r.status_code == 400
    assert r.json()["message"] == "Both permissioned_user_id and domain are required"
    r = api.get("/vault/tfa-code", params={"permissioned_user_id": "a", "domain": "https://a.com"})
    assert r.status_code == 404 and r.json()["message"] == "Vault entry not found"


def test_provider_backed_authenticator_uses_the_item_secret(api, box):
    provider = api.get("/secret-providers").json()[0]
    with box.store.read() as db:
        rows = db.conn.execute(
            "SELECT data FROM provider_items WHERE provider_id = ?", (provider["id"],)
        )
        items = [__import__("json").loads(r[0]) for r in rows]
    with_totp = next(i for i in items if i.get("totp_secret"))
    without = next(i for i in items if not i.get("totp_secret"))
    entry = api.create(
        tfa_method="AUTHENTICATOR", secret_provider_id=provider["id"], secret_ref=with_totp["ref"]
    )
    assert code_for(api, entry).json()["code"] in (
        pyotp.TOTP(with_totp["totp_secret"]).now(),
        pyotp.TOTP(with_totp["totp_secret"]).at(time.time() - 1),
    )
    other = api.create(
        tfa_method="AUTHENTICATOR", secret_provider_id=provider["id"], secret_ref=without["ref"]
    )
    assert code_for(api, other).status_code == 409


def test_email_code_control_endpoint_validation(api):
    r = api.post("/_sandbox/email-codes", json={"permissioned_user_id": "x"})
    assert r.status_code == 400
    assert r.json()["message"] == [
        "domain must be a non-empty string",
        "code must be a non-empty string",
    ]
    r = api.post(
        "/_sandbox/email-codes",
        json={"permissioned_user_id": "x", "domain": "https://a.com", "code": "1"},
    )
    assert r.status_code == 404


# -- secret providers ----------------------------------------------------------------------
def test_secret_providers_list(api, box):
    providers = api.get("/secret-providers").json()
    assert len(providers) == 2
    for p in providers:
        assert list(p) == [
            "id", "workspace_id", "provider_type", "name", "config_hint",
            "cache_ttl_seconds", "created_at", "updated_at",
        ]  # fmt: skip
        assert p["provider_type"] == "1password"
        assert p["workspace_id"] == box.workspace.workspace_id
        assert len(p["config_hint"]["token_last4"]) == 4
        assert isinstance(p["cache_ttl_seconds"], int)


def test_secret_provider_items(api):
    first, second = api.get("/secret-providers").json()
    items = api.get(f"/secret-providers/{first['id']}/items").json()
    assert len(items) == 10
    assert {i["vaultName"] for i in items} == {"Engineering", "RCM Shared"}
    for item in items:
        assert set(item) == {"id", "title", "ref", "vaultName"}  # no secrets
        assert item["ref"] == f"op://{item['vaultName']}/{item['id']}"
    assert api.get(f"/secret-providers/{second['id']}/items").json() == []
    r = api.get("/secret-providers/00000000-0000-4000-8000-000000000000/items")
    assert r.status_code == 404 and r.json()["message"] == "Secret provider not found"
