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


def test_a_full_scenario_leaves_no_secret_in_the_logs(app, client, auth, sandbox, log_stream):
    """Create, reveal, view codes, edit every secret field, bulk change, export: then search the
    log for every plaintext and ciphertext involved."""
    import re

    from tests.entries_support import csrf, fetch, form_fields, hx, index_sync, make_entry

    auth.login("scenario", "admin")
    token = csrf(client)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret=secret,
                       proxy_setting="custom", proxy_value="socks5://u:Pr0xyPw@proxy.example.net:1080",
                       allow_multiple_sessions=True)  # fmt: skip
    index_sync(client, token)
    before = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    for field in ("password", "user_name", "tfa_secret", "proxy_value"):
        hx(client, "POST", f"/entries/{entry.id}/secrets/{field}/reveal", token,
           data={"password": auth.PASSWORD})  # fmt: skip
    hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    edits = {
        "credentials": {"password": "Edited-Pass-77", "user_name": "edited@example.com"},
        "twofactor": {"tfa_secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"},
        "proxy": {"proxy_value": "http://v:Pr0xyPw2@proxy2.example.net:8080"},
        "session": {"cookies_action": "replace",
                    "cookies": '[{"name": "sid", "value": "CookieVal99", "domain": ".e.com"}]'},
    }  # fmt: skip
    for section, changes in edits.items():
        html = hx(client, "GET", f"/entries/{entry.id}/sections/{section}/edit").get_data(True)
        data = form_fields(html, f"form-{section}")
        data.update(changes)
        assert (
            hx(
                client, "POST", f"/entries/{entry.id}/sections/{section}", token, data=data
            ).status_code
            == 200
        )
    client.post("/entries/bulk/apply", data={"csrf_token": token, "kind": "concurrency",
                "ids": entry.id, "allow_multiple_sessions": "keep", "max_concurrency_action": "set",
                "max_concurrency": "4", "prevent_concurrency_during_login": "keep"})  # fmt: skip
    client.post("/audit/export", data={"csrf_token": token, "format": "jsonl"}).get_data()
    after = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    forbidden = {
        secret, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", "Pr0xyPw", "Pr0xyPw2", "Edited-Pass-77",
        "edited@example.com", "Corr3ct-Horse!", "CookieVal99", auth.PASSWORD,
        before.password, before.user_name, before.tfa_secret, before.proxy_value,
        after.password, after.user_name, after.tfa_secret, after.proxy_value,
    }  # fmt: skip
    text = log_stream.getvalue()
    assert re.search(r'"action": "entry.credentials.update"', text)  # the scenario was logged
    assert [s for s in forbidden if s and s in text] == []
