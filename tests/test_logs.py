"""Application logs are structured JSON and never carry secrets.

A scenario exercises sign-in, listing and writes; afterwards the captured log stream is
searched for every secret involved: the operator password, entry plaintexts, every
ciphertext the sandbox holds, the API key, the encryption key and the session secret.
"""

from __future__ import annotations

import json

from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters

from app import upstream
from tests.conftest import unique


def _all_ciphertexts(sandbox) -> set[str]:
    sdk = CloudCruise(
        CloudCruiseParams(
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            encryption_key=sandbox.encryption_key,
        )
    )
    values = set()
    for entry in sdk.vault.get(GetVaultEntriesFilters(decryptCredentials=False)):
        for name in ("user_name", "password", "tfa_secret", "proxy_value"):
            value = getattr(entry, name)
            if isinstance(value, str) and len(value) >= 56:
                values.add(value)
    return values


def test_logs_are_json_lines_with_request_ids_and_no_secrets(
    app, client, auth, sandbox, log_stream
):
    plaintexts = {"Pl41n-Passw0rd!", "log-test-user@example.com", "JBSWY3DPEHPK3PXP"}
    auth.login("quinn", "admin")
    client.get("/entries")
    client.get("/entries", headers={"HX-Request": "true"})
    client.get("/readyz")
    with app.app_context():
        upstream.client().create_entry(
            {
                "permissioned_user_id": unique("logs"),
                "domain": "https://logs.example.com",
                "user_name": "log-test-user@example.com",
                "password": "Pl41n-Passw0rd!",
                "tfa_method": "AUTHENTICATOR",
                "tfa_secret": "JBSWY3DPEHPK3PXP",
            }
        )
    client.get("/entries")

    text = log_stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line.get("logger") == "app.access" for line in lines)
    assert any(line.get("logger") == "app.cloudcruise" for line in lines)
    assert all("ts" in line and "level" in line for line in lines)
    assert all(line.get("request_id") for line in lines if line["logger"] == "app.access")

    forbidden = plaintexts | _all_ciphertexts(sandbox)
    forbidden |= {auth.PASSWORD, sandbox.api_key, sandbox.encryption_key, app.config["SECRET_KEY"]}
    assert len(forbidden) > 40
    leaked = [secret for secret in forbidden if secret in text]
    assert leaked == []
