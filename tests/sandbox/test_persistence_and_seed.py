"""The store survives restarts; keys are kept or replaced; seed data is deterministic."""

from __future__ import annotations

import collections
import json
import time
from urllib.parse import urlsplit

import pytest
from sandbox_helpers import bound

from app.cloudcruise.crypto import decrypt_value, generate_key
from app.sandbox import start_sandbox
from app.sandbox.entries import VaultService
from app.sandbox.seed import seed_store
from app.sandbox.store import Store
from app.sandbox.workspace import open_workspace


def test_restart_keeps_entries_and_keys_and_does_not_reseed(tmp_path):
    data = tmp_path / "nested" / "dir" / "sandbox.db"
    first = start_sandbox(data, seed=5, rate_limits=None)
    assert first.generated_keys and first.seeded
    assert first.api_key.startswith("sk_sandbox_") and len(first.api_key) == len("sk_sandbox_") + 32
    assert len(first.encryption_key) == 64
    api = bound(first)
    created = api.create(password=api.enc("kept"))
    before = api.get("/vault").json()
    first.stop()

    second = start_sandbox(data, seed=50, rate_limits=None)
    try:
        assert not second.seeded
        assert (second.api_key, second.encryption_key) == (first.api_key, first.encryption_key)
        assert second.workspace.workspace_id == first.workspace.workspace_id
        api = bound(second)
        after = api.get("/vault").json()
        assert after == before and len(after) == 6
        got = api.one(created["permissioned_user_id"], created["domain"]).json()
        assert decrypt_value(got["password"], second.encryption_key) == "kept"
    finally:
        second.stop()


def test_explicit_keys_are_used_and_replace_stored_ones(tmp_path):
    data = tmp_path / "s.db"
    key = generate_key()
    with start_sandbox(data, api_key="sk_test_given", encryption_key=key.upper(), seed=0) as box:
        assert (box.api_key, box.encryption_key) == ("sk_test_given", key)  # normalised hex
        assert not box.generated_keys
        assert bound(box).get("/vault").status_code == 200
    new_key = generate_key()
    with start_sandbox(data, api_key="sk_test_new", encryption_key=new_key, seed=0) as box:
        assert (box.api_key, box.encryption_key) == ("sk_test_new", new_key)
        api = bound(box)
        assert api.get("/vault").status_code == 200
        api.key = "sk_test_given"
        assert api.get("/vault").status_code == 401
    with start_sandbox(data, seed=0) as box:  # no keys given: the stored ones stay
        assert (box.api_key, box.encryption_key) == ("sk_test_new", new_key)
        assert not box.generated_keys


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        start_sandbox(tmp_path / "a.db", encryption_key="not-hex")
    with pytest.raises(ValueError):
        start_sandbox(tmp_path / "b.db", api_key="has space")
    with pytest.raises(ValueError):
        start_sandbox(tmp_path / "c.db", seed=-1)


def test_seed_is_deterministic(tmp_path):
    def plaintexts(n, name):
        store = Store(tmp_path / name)
        workspace = open_workspace(store)
        seed_store(store, workspace, n)
        with store.read() as db:
            rows = db.conn.execute("SELECT data FROM entries ORDER BY id").fetchall()
        store.close()
        import json

        out = []
        for (data,) in rows:
            entry = json.loads(data)
            for name in ("user_name", "password", "tfa_secret"):
                if entry[name]:
                    entry[name] = decrypt_value(entry[name], workspace.encryption_key)
            for name in ("created_at", "updated_at", "session_data_set_at", "last_used_at"):
                entry.pop(name, None)  # relative to the seeding time
            for name in ("workspace_id", "organization_id", "user_id", "proxy_value", "cookies"):
                entry.pop(name, None)  # workspace ids / fresh ciphertexts / cookie expiries
            out.append(entry)
        return out

    assert plaintexts(30, "a.db") == plaintexts(30, "b.db")
    big = plaintexts(45, "c.db")
    small_ids = {e["id"] for e in plaintexts(30, "d.db")}
    assert small_ids < {e["id"] for e in big}


def test_seed_covers_every_method_mode_and_state(seeded):
    entries = bound(seeded).get("/vault").json()
    assert len(entries) == 40
    assert len({(e["permissioned_user_id"], e["domain"]) for e in entries}) == 40
    tfa = collections.Counter(e["tfa_method"] for e in entries)
    assert set(tfa) == {"AUTHENTICATOR", "EMAIL", "SMS", "MAGIC_LINK", None}
    modes = collections.Counter(e["proxy_setting"] for e in entries)
    assert set(modes) == {"random", "static", "country", "custom", None}
    assert sum("proxy" in e for e in entries) >= 2  # legacy {enable, target_ip}
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 86400))
    expiries = [e["effective_expires_at"] for e in entries if e["effective_expires_at"]]
    assert any(x < now for x in expiries)  # expired
    assert any(now < x < tomorrow for x in expiries)  # expiring within 24 h
    assert any(x > tomorrow for x in expiries)  # active
    assert any(not e["session_data_set_at"] for e in entries)  # no session data
    assert any(e["secret_provider_id"] and e["user_name"] is None for e in entries)
    assert any(e["allow_multiple_sessions"] and e["max_concurrency"] for e in entries)
    names = {c["name"] for e in entries for c in e["cookies"]}
    assert {"session_id", "XSRF-TOKEN"} & names
    assert any(e["local_storage"] for e in entries)
    assert any(
        "-" in e["permissioned_user_id"] and len(e["permissioned_user_id"]) == 36 for e in entries
    )


def test_seeded_secrets_decrypt_and_authenticator_secrets_are_valid(seeded):
    import pyotp

    api = bound(seeded)
    for entry in api.get("/vault").json():
        for name in ("user_name", "password"):
            if entry[name]:
                assert isinstance(decrypt_value(entry[name], seeded.encryption_key), str)
        if entry["tfa_method"] == "AUTHENTICATOR" and entry["tfa_secret"]:
            secret = decrypt_value(entry["tfa_secret"], seeded.encryption_key)
            params = {
                "permissioned_user_id": entry["permissioned_user_id"],
                "domain": entry["domain"],
            }
            code = api.get("/vault/tfa-code", params=params).json()["code"]
            assert code in (pyotp.TOTP(secret).now(), pyotp.TOTP(secret).at(time.time() - 2))
        if entry["proxy_setting"] == "custom":
            url = urlsplit(decrypt_value(entry["proxy_value"], seeded.encryption_key))
            assert url.password and url.password not in entry["proxy_string"]
            assert entry["proxy_string"] == f"{url.hostname}:{url.port}"


def test_listing_10000_entries_returns_them_all_as_valid_json(tmp_path):
    # Speed is measured by bench/list_page.py, never asserted in a test.
    store = Store(tmp_path / "big.db")
    workspace = open_workspace(store)
    seed_store(store, workspace, 10_000)
    service = VaultService(store, workspace)
    body = service.list_json()
    store.close()
    entries = json.loads(body)
    assert len(entries) == 10_000
    assert len({(e["permissioned_user_id"], e["domain"]) for e in entries}) == 10_000
