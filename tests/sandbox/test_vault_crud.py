"""GET / POST / PUT / DELETE /vault and PATCH /vault/clear-browser-state."""

from __future__ import annotations

import re
import time
import uuid

from sandbox_helpers import uid

from app.cloudcruise.crypto import decrypt_value
from app.sandbox.computed import RESPONSE_FIELDS

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DOMAIN = "https://provider.availity.com"
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "Vault entry not found"}
COOKIE = {"name": "session_id", "value": "abc", "domain": "provider.availity.com"}


def test_create_returns_201_and_the_full_entry_in_documented_order(api, box):
    user_name, password = api.enc("billing@clinic.com"), api.enc("S3cret!pw")
    entry = api.create(
        permissioned_user_id="billing-team-03",
        domain=DOMAIN,
        user_name=user_name,
        password=password,
        user_alias="Dr. Patel – billing",
    )
    documented = list(RESPONSE_FIELDS[: RESPONSE_FIELDS.index("proxy_value") + 1])
    assert list(entry) == documented  # no proxy/headers: none stored
    assert uuid.UUID(entry["id"]).version == 4
    assert entry["user_name"] == user_name  # ciphertext verbatim
    assert decrypt_value(entry["password"], api.encryption_key) == "S3cret!pw"
    assert entry["workspace_id"] == box.workspace.workspace_id
    assert entry["organization_id"] == box.workspace.organization_id
    assert entry["user_id"] == box.workspace.user_id
    assert TS.match(entry["created_at"]) and entry["created_at"] == entry["updated_at"]
    assert (
        entry["cookies"] == [] and entry["local_storage"] == {} and entry["session_storage"] == {}
    )
    assert entry["persist_cookies"] is False and entry["allow_multiple_sessions"] is False
    assert entry["max_concurrency"] is None and entry["effective_expires_at"] is None


def test_get_all_returns_an_array_and_get_one_an_object(api):
    first = api.create(domain="https://www.aetna.com")
    second = api.create(domain="https://www.fedex.com/secure-login?lang=en_US")
    everything = api.get("/vault").json()
    assert [e["id"] for e in everything] == [first["id"], second["id"]]
    # the SDK url-encodes the domain (https%3A%2F%2F...)
    one = api.one(second["permissioned_user_id"], second["domain"])
    assert one.status_code == 200
    assert one.json() == second
    assert "%3A%2F%2F" in one.request.url


def test_get_one_that_does_not_exist_is_404(api):
    api.create(permissioned_user_id="a", domain=DOMAIN)
    r = api.one("a", DOMAIN + "/")  # exact match: the trailing slash makes it another domain
    assert r.status_code == 404
    assert r.json() == NOT_FOUND


def test_get_with_only_one_filter_is_400(api):
    for params in (
        {"permissioned_user_id": "a"},
        {"domain": DOMAIN},
        {"domain": "", "permissioned_user_id": "a"},
    ):
        r = api.get("/vault", params=params)
        assert r.status_code == 400
        assert r.json()["message"] == "Both permissioned_user_id and domain must be provided"


def test_duplicate_create_is_409(api):
    api.create(permissioned_user_id="dup", domain=DOMAIN)
    r = api.post("/vault", json={"permissioned_user_id": "dup", "domain": DOMAIN})
    assert r.status_code == 409
    body = r.json()
    assert body["statusCode"] == 409 and body["error"] == "Conflict"
    assert body["code"] == "VAULT_ENTRY_EXISTS" and "dup" in body["message"]
    # same user on another domain and another user on the same domain are fine
    api.create(permissioned_user_id="dup", domain="https://www.aetna.com")
    api.create(permissioned_user_id="dup2", domain=DOMAIN)


def test_put_merges_and_keeps_omitted_fields(api):
    entry = api.create(
        user_name=api.enc("u"), password=api.enc("p"), user_alias="old", max_concurrency=3
    )
    time.sleep(0.002)
    r = api.put(
        "/vault",
        json={
            "permissioned_user_id": entry["permissioned_user_id"],
            "domain": entry["domain"],
            "password": api.enc("new"),
            "persist_cookies": True,
        },
    )
    assert r.status_code == 200
    updated = r.json()
    assert decrypt_value(updated["password"], api.encryption_key) == "new"
    assert updated["user_name"] == entry["user_name"]
    assert updated["user_alias"] == "old" and updated["max_concurrency"] == 3
    assert updated["persist_cookies"] is True
    assert updated["created_at"] == entry["created_at"]
    assert TS.match(updated["updated_at"]) and updated["updated_at"] > entry["updated_at"]
    assert api.one(entry["permissioned_user_id"], entry["domain"]).json() == updated


def test_put_clears_with_the_documented_values(api):
    """null where the docs give it a meaning, "" for text, false for flags, [] / {} for
    browser state; the other nulls are refused (test_validation)."""
    entry = api.create(
        user_name=api.enc("u"),
        user_alias="alias",
        max_concurrency=2,
        allow_multiple_sessions=True,
        expiry_time_from_last_use="01:30:00",
        cookies=[COOKIE],
    )
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    cleared = {"max_concurrency": None, "expiry_time_from_last_use": None, "user_alias": ""}
    cleared |= {"allow_multiple_sessions": False, "cookies": []}
    updated = api.put("/vault", json={**pair, **cleared}).json()
    assert updated["user_alias"] == "" and updated["user_name"] == entry["user_name"]
    assert updated["max_concurrency"] is None
    assert updated["allow_multiple_sessions"] is False
    assert updated["expiry_time_from_last_use"] is None
    assert updated["cookies"] == [] and updated["session_data_set_at"] is None


def test_put_every_write_bumps_updated_at(api):
    entry = api.create()
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    stamps = [entry["updated_at"]]
    for _ in range(3):
        time.sleep(0.002)
        stamps.append(api.put("/vault", json=pair).json()["updated_at"])
    assert stamps == sorted(set(stamps))


def test_put_by_id_can_rename_and_a_taken_pair_is_409(api):
    entry = api.create(permissioned_user_id="old-name", domain=DOMAIN)
    other = api.create(permissioned_user_id="other", domain=DOMAIN)
    r = api.put("/vault", json={"id": entry["id"], "permissioned_user_id": "new-name"})
    assert r.status_code == 200
    assert r.json()["permissioned_user_id"] == "new-name"
    assert r.json()["tfa_email"] == "info+new-name+provider-availity-com@cloudcruise.com"
    assert api.one("old-name", DOMAIN).status_code == 404
    assert api.one("new-name", DOMAIN).json()["id"] == entry["id"]
    r = api.put("/vault", json={"id": entry["id"], "permissioned_user_id": "other"})
    assert r.status_code == 409 and r.json()["code"] == "VAULT_ENTRY_EXISTS"
    assert api.one("other", DOMAIN).json()["id"] == other["id"]


def test_put_for_a_missing_entry_is_404(api):
    r = api.put("/vault", json={"permissioned_user_id": "ghost", "domain": DOMAIN})
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = api.put("/vault", json={"id": str(uuid.uuid4()), "user_alias": "x"})
    assert r.status_code == 404 and r.json() == NOT_FOUND


def test_put_without_identity_is_400(api):
    r = api.put("/vault", json={"permissioned_user_id": "only"})
    assert r.status_code == 400
    assert r.json()["message"][0].startswith("domain ")
    r = api.put("/vault", json={"id": "not-a-uuid", "domain": DOMAIN})
    assert r.status_code == 400 and r.json()["message"] == ["id must be a UUID"]


def test_delete_removes_the_entry(api):
    entry = api.create()
    pair = {"domain": entry["domain"], "permissioned_user_id": entry["permissioned_user_id"]}
    r = api.delete("/vault", json=pair)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.one(entry["permissioned_user_id"], entry["domain"]).status_code == 404
    r = api.delete("/vault", json=pair)
    assert r.status_code == 404 and r.json() == NOT_FOUND


def test_delete_needs_both_fields(api):
    r = api.delete("/vault", json={"domain": DOMAIN})
    assert r.status_code == 400
    assert r.json()["message"] == ["permissioned_user_id must be provided to delete a vault entry"]
    assert api.delete("/vault").status_code == 400


def test_clear_browser_state(api):
    entry = api.create(
        cookies=[COOKIE],
        local_storage={"token": "abc"},
        session_storage={"tab": "1"},
        persist_cookies=True,
        expiry_time_from_session_data_set="7 days",
    )
    assert entry["session_data_set_at"] and entry["effective_expires_at"]
    pair = {"permissioned_user_id": entry["permissioned_user_id"], "domain": entry["domain"]}
    time.sleep(0.002)
    r = api.patch("/vault/clear-browser-state", json=pair)
    assert r.status_code == 200 and r.json() == {"success": True}
    after = api.one(**pair).json()
    assert (
        after["cookies"] == [] and after["local_storage"] == {} and after["session_storage"] == {}
    )
    assert after["session_data_set_at"] is None and after["effective_expires_at"] is None
    assert after["persist_cookies"] is True  # settings stay
    assert after["expiry_time_from_session_data_set"] == "7 days"
    assert after["updated_at"] > entry["updated_at"]


def test_clear_browser_state_errors(api):
    r = api.patch(
        "/vault/clear-browser-state", json={"permissioned_user_id": "x", "domain": DOMAIN}
    )
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = api.patch("/vault/clear-browser-state", json={"permissioned_user_id": "x"})
    assert r.status_code == 400
    assert r.json()["message"][0].startswith("domain ")


def test_list_is_fast_concatenation_of_stored_json(api, box):
    ids = {api.create(permissioned_user_id=uid(), user_alias=f"n{i}")["id"] for i in range(5)}
    with box.store.read() as db:
        raw = db.entries_json()
    assert isinstance(raw, bytes)
    assert {e["id"] for e in api.get("/vault").json()} == ids
