"""The official ``cloudcruise`` SDK, pointed at a standalone sandbox process, round-trips."""

from __future__ import annotations

import pyotp
import pytest
from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters, VaultEntryInput
from sandbox_helpers import spawn_cli

from app.cloudcruise.crypto import decrypt_value

DOMAIN = "https://provider.availity.com"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    cli = spawn_cli("--data", str(tmp_path_factory.mktemp("sdk") / "s.db"), "--seed", "0")
    assert cli.values.get("CLOUDCRUISE_BASE_URL"), cli.stderr
    yield cli
    assert cli.stop() == 0


@pytest.fixture(scope="module")
def sdk(standalone):
    return CloudCruise(
        CloudCruiseParams(
            api_key=standalone.values["CLOUDCRUISE_API_KEY"],
            base_url=standalone.base_url,
            encryption_key=standalone.values["CLOUDCRUISE_ENCRYPTION_KEY"],
        )
    )


def test_create_get_update_delete_round_trip(sdk, standalone):
    secret = pyotp.random_base32()
    created = sdk.vault.create(
        VaultEntryInput(
            domain=DOMAIN,
            permissioned_user_id="sdk-user-1",
            user_name="billing@clinic.example",
            password="Tr0ub4dor&3",
            tfa_method="AUTHENTICATOR",
            tfa_secret=secret,
            user_alias="Dr. Patel – billing",
            proxy_setting="custom",
            proxy_value="socks5://agent:pw@45.77.112.9:1080",
            expiry_time_from_session_data_set="7 days 00:00:00",
            cookies=[{"name": "session_id", "value": "abc", "domain": "provider.availity.com"}],
        )
    )
    # the SDK decrypts the response: what was sent comes back
    assert created.user_name == "billing@clinic.example"
    assert created.password == "Tr0ub4dor&3"
    assert created.tfa_secret == secret
    assert created.proxy_value == "socks5://agent:pw@45.77.112.9:1080"
    assert created.proxy_string == "45.77.112.9:1080"  # the assigned proxy, ip:port
    assert created.expiry_time_from_session_data_set == "7 days"
    assert created.id and created.tfa_email == (
        "info+sdk-user-1+provider-availity-com@cloudcruise.com"
    )

    everything = sdk.vault.get()
    assert created.id in [e.id for e in everything]
    assert next(e for e in everything if e.id == created.id).user_name == "billing@clinic.example"
    (one,) = sdk.vault.get(GetVaultEntriesFilters(permissioned_user_id="sdk-user-1", domain=DOMAIN))
    assert one.password == "Tr0ub4dor&3" and one.id == created.id
    (raw,) = sdk.vault.get(
        GetVaultEntriesFilters(
            permissioned_user_id="sdk-user-1", domain=DOMAIN, decryptCredentials=False
        )
    )
    key = standalone.values["CLOUDCRUISE_ENCRYPTION_KEY"]
    assert raw.password != "Tr0ub4dor&3" and decrypt_value(raw.password, key) == "Tr0ub4dor&3"

    updated = sdk.vault.update(
        VaultEntryInput(domain=DOMAIN, permissioned_user_id="sdk-user-1", password="n3w-pass")
    )
    assert updated.password == "n3w-pass"
    assert updated.user_name == "billing@clinic.example"  # merge keeps the rest
    assert updated.user_alias == "Dr. Patel – billing"

    before = pyotp.TOTP(secret).now()
    code = sdk.vault.get_tfa_code("sdk-user-1", DOMAIN)
    after = pyotp.TOTP(secret).now()
    assert code.type == "authenticator" and code.code in (before, after)
    assert 1 <= code.expires_in_seconds <= 30

    sdk.vault.delete({"domain": DOMAIN, "permissioned_user_id": "sdk-user-1"})
    assert created.id not in [e.id for e in sdk.vault.get()]
    with pytest.raises(RuntimeError, match="Vault entry not found"):
        sdk.vault.get(GetVaultEntriesFilters(permissioned_user_id="sdk-user-1", domain=DOMAIN))


def test_secret_providers_round_trip(sdk):
    providers = sdk.secret_providers.list()
    assert [p.provider_type for p in providers] == ["1password", "1password"]
    items = sdk.secret_providers.list_items(providers[0].id)
    assert len(items) == 10 and all(i.ref.startswith("op://") for i in items)
    assert sdk.secret_providers.list_items(providers[1].id) == []
    bound = sdk.vault.create(
        VaultEntryInput(
            domain="https://app.gusto.com",
            permissioned_user_id="sdk-provider-1",
            secret_provider_id=providers[0].id,
            secret_ref=items[0].ref,
            secret_cache_ttl_seconds=300,
        )
    )
    assert bound.secret_ref == items[0].ref and bound.user_name is None


def test_sdk_errors_carry_the_server_message(sdk):
    with pytest.raises(RuntimeError) as info:
        sdk.vault.create(VaultEntryInput(domain="http://localhost:3000", permissioned_user_id="x"))
    assert "domain must not be localhost" in str(info.value)
    sdk.vault.create(VaultEntryInput(domain=DOMAIN, permissioned_user_id="sdk-dup"))
    with pytest.raises(RuntimeError, match="already exists"):
        sdk.vault.create(VaultEntryInput(domain=DOMAIN, permissioned_user_id="sdk-dup"))
    wrong_key = CloudCruise(
        CloudCruiseParams(api_key="sk_wrong", base_url=sdk._base_url, encryption_key="ab" * 32)
    )
    with pytest.raises(RuntimeError, match="Unauthorized"):
        wrong_key.vault.get()
