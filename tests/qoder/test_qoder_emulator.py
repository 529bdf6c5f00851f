"""The Qoder emulator over raw HTTP: auth, envelope, ids, writes, secrets, persistence."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from qoder_helpers import CRED_ID_RE, TIME_RE, VAULT_ID_RE, Raw, flat_body

from app.qoder import QoderClient
from app.sandbox.qoder import start_qoder_sandbox
from app.sandbox.qoder.seed import seed_rows

INVALID_TOKEN = {
    "type": "error",
    "error": {"type": "authentication_error", "message": "Invalid API key or token."},
}


# ------------------------------------------------------------------ auth and routing
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer qpat_nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_token_is_401(raw, headers):
    r = raw.get("/vaults", auth=False, headers=headers)
    assert r.status_code == 401 and r.json() == INVALID_TOKEN
    assert r.headers["Content-Type"] == "application/json"


def test_x_api_key_instead_of_bearer_is_401(raw, qbox):
    r = raw.get("/vaults", auth=False, headers={"x-api-key": qbox.pat})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert "Bearer" in r.json()["error"]["message"]


def test_bearer_scheme_is_case_insensitive_and_request_id_is_sent(raw, qbox):
    r = raw.get("/vaults", auth=False, headers={"Authorization": f"bearer {qbox.pat}"})
    assert r.status_code == 200 and re.fullmatch(r"req_[0-9a-f]{24}", r.headers["request-id"])


def test_unknown_route_and_wrong_method(raw, seeded):
    r = raw.get("/nothing-here", auth=False)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = raw.request("PUT", "/vaults")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert r.json()["error"]["type"] == "invalid_request_error"
    cred = raw.get(f"/vaults/{seeded['Support Desk']}/credentials").json()["data"][0]["id"]
    r = raw.request("PATCH", f"/vaults/{seeded['Support Desk']}/credentials/{cred}", json={})
    assert r.status_code == 405  # the G3 update is a POST (tests/qoder/test_qoder_update.py)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST", "DELETE"}


def test_error_envelope_for_unknown_vault(raw):
    r = raw.get("/vaults/vault_nope")
    assert r.status_code == 404
    assert r.json() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "Vault 'vault_nope' was not found."},
    }


# ------------------------------------------------------------------ ids and time
def test_ids_and_timestamps_have_the_documented_format(raw, seeded):
    for vault_id in seeded.values():
        assert re.fullmatch(VAULT_ID_RE, vault_id)
        creds = raw.get(f"/vaults/{vault_id}/credentials?include_archived=true&limit=100")
        for cred in creds.json()["data"]:
            assert re.fullmatch(CRED_ID_RE, cred["id"])
            assert re.fullmatch(TIME_RE, cred["created_at"])
            assert re.fullmatch(TIME_RE, cred["updated_at"])


def test_concurrent_creates_get_unique_time_ordered_ids(wraw):
    vault = wraw.new_vault("Concurrent")

    def create(i: int) -> dict:
        return wraw.new_credential(vault["id"], flat_body(f"https://mcp.example.com/c{i}"))

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(create, range(24)))
    ids = [c["id"] for c in made]
    assert len(set(ids)) == 24 and all(i > vault["id"].replace("vault_", "vcred_") for i in ids)
    by_id = sorted(made, key=lambda c: c["id"])
    assert [c["created_at"] for c in by_id] == sorted(c["created_at"] for c in made)
    assert len({c["created_at"] for c in made}) == 24  # strictly increasing clock


def test_seed_is_deterministic_and_consistent():
    vaults, creds = seed_rows()
    assert (vaults, creds) == seed_rows()
    assert len(vaults) == 8 and len(creds) == 80
    assert sum(v["archived_us"] is not None for v in vaults) == 1
    assert sum(c["archived_us"] is not None for c in creds) == 7
    assert {c["auth_type"] for c in creds} == {"static_bearer", "mcp_oauth", "environment_variable"}
    rows = vaults + creds
    assert sorted(rows, key=lambda r: r["created_us"]) == sorted(rows, key=lambda r: r["id"][-32:])


# ------------------------------------------------------------------ writes
def test_create_vault_validation(wraw):
    cases = [
        ({}, "display_name", "Missing required field: display_name"),
        ({"display_name": "  "}, "display_name", None),
        ({"display_name": "x" * 256}, "display_name", None),
        ({"display_name": 5}, "display_name", None),
        ({"display_name": "ok", "metadata": {"a": 1}}, "metadata.a", None),
        ({"display_name": "ok", "metadata": []}, "metadata", None),
        (
            {"display_name": "ok", "credentials": [{"mcp_server_url": "ftp://x"}]},
            "credentials[0].mcp_server_url",
            None,
        ),
    ]
    for body, param, message in cases:
        r = wraw.post("/vaults", json=body)
        assert r.status_code == 400, body
        error = r.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == param, body
        if message:
            assert error["message"] == message
    for raw_body in (b"{nope", b"[1, 2]", b"NaN"):
        r = wraw.post("/vaults", data=raw_body)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_create_vault_returns_201_with_its_credentials(wraw, wbox):
    for shape in ("flat", "nested"):
        wbox.shape = shape
        vault = wraw.new_vault(
            "Created",
            [flat_body("https://mcp.linear.app/sse", protocol="sse")],
            metadata={"team": "qa"},
        )
        assert vault["type"] == "vault" and vault["metadata"] == {"team": "qa"}
        assert len(vault["credentials"]) == 1 and vault["created_at"] == vault["updated_at"]
        cred = vault["credentials"][0]
        if shape == "flat":
            assert vault["status"] == "active" and "archived_at" not in vault
            assert cred["protocol"] == "sse" and cred["status"] == "active"
        else:
            assert "status" not in vault and vault["archived_at"] is None
            assert cred["auth"] == {
                "type": "static_bearer",
                "mcp_server_url": "https://mcp.linear.app/sse",
            }


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (
            {"mcp_server_url": "https://mcp.sentry.dev/mcp", "type": "static_bearer"},
            "access_token",
            "Field 'access_token' is required for static_bearer type.",
        ),
        (
            {
                "mcp_server_url": "https://mcp.sentry.dev/mcp",
                "protocol": "websocket",
                "access_token": "t",
            },
            "protocol",
            None,
        ),
        ({"mcp_server_url": "not a url", "access_token": "t"}, "mcp_server_url", None),
        (
            {"auth": {"type": "static_bearer", "mcp_server_url": "https://a.example.com"}},
            "auth.token",
            "Missing required field: auth.token",
        ),
        ({"auth": {"type": "api_key"}}, "auth.type", None),
        ({"auth": {"mcp_server_url": "https://a.example.com"}}, "auth.type", None),
        (
            {
                "auth": {
                    "type": "mcp_oauth",
                    "mcp_server_url": "https://a.example.com",
                    "access_token": "t",
                    "expires_at": "soon",
                }
            },
            "auth.expires_at",
            None,
        ),
        (
            {
                "auth": {
                    "type": "mcp_oauth",
                    "mcp_server_url": "https://a.example.com",
                    "access_token": "t",
                    "refresh": {"client_id": "c"},
                }
            },
            "auth.refresh.refresh_token",
            None,
        ),
        (
            {
                "auth": {
                    "type": "environment_variable",
                    "secret_name": "9BAD",
                    "secret_value": "v",
                    "networking": {"type": "unrestricted"},
                }
            },
            "auth.secret_name",
            None,
        ),
        (
            {
                "auth": {
                    "type": "environment_variable",
                    "secret_name": "OK",
                    "secret_value": "v",
                    "networking": {"type": "limited", "allowed_hosts": []},
                }
            },
            "auth.networking.allowed_hosts",
            None,
        ),
        (
            {"auth": {"type": "environment_variable", "secret_name": "OK", "secret_value": "v"}},
            "auth.networking",
            None,
        ),
    ],
)
def test_create_credential_validation(wraw, body, param, message):
    vault = wraw.new_vault("Validation")
    r = wraw.post(f"/vaults/{vault['id']}/credentials", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    if message:
        assert r.json()["error"]["message"] == message


def test_credential_conflicts_and_archived_vaults(wraw):
    vault = wraw.new_vault("Conflicts")
    first = wraw.new_credential(vault["id"], flat_body("https://mcp.notion.com/mcp"))
    r = wraw.post(
        f"/vaults/{vault['id']}/credentials", json=flat_body("https://mcp.notion.com/mcp")
    )
    assert r.status_code == 409 and r.json()["error"]["type"] == "conflict_error"
    assert wraw.post(f"/vaults/{vault['id']}/credentials/{first['id']}/archive").status_code == 200
    wraw.new_credential(vault["id"], flat_body("https://mcp.notion.com/mcp"))  # free again

    archived = wraw.post(f"/vaults/{vault['id']}/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    again = wraw.post(f"/vaults/{vault['id']}/archive")
    assert again.status_code == 409 and again.json()["error"]["message"] == (
        "This vault is already archived."
    )
    r = wraw.post(f"/vaults/{vault['id']}/credentials", json=flat_body("https://x.example.com"))
    assert r.status_code == 409
    # credentials of an archived vault stay readable
    assert len(wraw.get(f"/vaults/{vault['id']}/credentials").json()["data"]) == 1
    r = wraw.post("/vaults/vault_missing/credentials", json={})
    assert r.status_code == 404  # the vault is looked up before the body is checked


def test_delete_credential_and_vault(wraw):
    vault = wraw.new_vault(
        "Delete me", [flat_body("https://a.example.com"), flat_body("https://b.example.com")]
    )
    one, two = (c["id"] for c in vault["credentials"])
    r = wraw.delete(f"/vaults/{vault['id']}/credentials/{one}")
    assert r.json() == {"id": one, "type": "vault_credential_deleted"}
    assert wraw.get(f"/vaults/{vault['id']}/credentials/{one}").status_code == 404
    assert wraw.delete(f"/vaults/{vault['id']}/credentials/{one}").status_code == 404
    r = wraw.delete(f"/vaults/{vault['id']}")
    assert r.status_code == 200 and r.json() == {"id": vault["id"], "type": "vault_deleted"}
    assert wraw.get(f"/vaults/{vault['id']}").status_code == 404
    assert wraw.get(f"/vaults/{vault['id']}/credentials/{two}").status_code == 404


def test_nested_mcp_oauth_and_environment_variable_rendering(wraw, wbox):
    vault = wraw.new_vault("Rendering")
    oauth = wraw.new_credential(
        vault["id"],
        {
            "auth": {
                "type": "mcp_oauth",
                "mcp_server_url": "https://mcp.atlassian.com/v1/sse",
                "access_token": "at",
                "expires_at": "2026-12-01T00:00:00Z",
                "refresh": {
                    "refresh_token": "rt",
                    "client_id": "cid",
                    "token_endpoint": "https://auth.atlassian.com/oauth/token",
                    "scope": "read",
                    "token_endpoint_auth": {"type": "client_secret_post", "client_secret": "cs"},
                },
            }
        },
    )
    assert oauth["auth"] == {
        "type": "mcp_oauth",
        "mcp_server_url": "https://mcp.atlassian.com/v1/sse",
        "expires_at": "2026-12-01T00:00:00Z",
        "refresh": {
            "client_id": "cid",
            "token_endpoint": "https://auth.atlassian.com/oauth/token",
            "scope": "read",
            "token_endpoint_auth": {"type": "client_secret_post"},
        },
    }
    env = wraw.new_credential(
        vault["id"],
        {
            "auth": {
                "type": "environment_variable",
                "secret_name": "SNOWFLAKE_PASSWORD",
                "secret_value": "v",
                "networking": {"type": "limited", "allowed_hosts": ["acme.snowflakecomputing.com"]},
                "injection_location": "env",
            },
            "display_name": "ignored",
            "metadata": {"k": "v"},
        },
    )
    assert env["display_name"] is None and env["metadata"] == {"k": "v"}
    assert env["auth"]["secret_name"] == "SNOWFLAKE_PASSWORD"
    assert env["auth"]["networking"]["allowed_hosts"] == ["acme.snowflakecomputing.com"]
    wbox.shape = "flat"
    flat = wraw.get(f"/vaults/{vault['id']}/credentials/{env['id']}").json()
    assert flat["type"] == "environment_variable" and flat["mcp_server_url"] is None
    assert flat["secret_name"] == "SNOWFLAKE_PASSWORD" and flat["protocol"] is None


# ------------------------------------------------------------------ secrets
SECRETS = {
    "flat_token": "SECRET-flat-access-token-111",
    "bearer": "SECRET-nested-bearer-222",
    "oauth": "SECRET-oauth-access-333",
    "refresh": "SECRET-refresh-token-444",
    "client": "SECRET-client-secret-555",
    "env": "SECRET-env-value-666",
}


def test_secrets_are_never_returned_or_stored(wbox, wraw):
    created = [
        wraw.new_vault(
            "Secrets", [flat_body("https://mcp.linear.app/sse", token=SECRETS["flat_token"])]
        )
    ]
    vault_id = created[0]["id"]
    bodies = [
        {
            "auth": {
                "type": "static_bearer",
                "mcp_server_url": "https://mcp.sentry.dev/mcp",
                "token": SECRETS["bearer"],
            }
        },
        {
            "auth": {
                "type": "mcp_oauth",
                "mcp_server_url": "https://mcp.notion.com/mcp",
                "access_token": SECRETS["oauth"],
                "refresh": {
                    "refresh_token": SECRETS["refresh"],
                    "client_id": "c",
                    "token_endpoint": "https://api.notion.com/v1/oauth/token",
                    "token_endpoint_auth": {
                        "type": "client_secret_basic",
                        "client_secret": SECRETS["client"],
                    },
                },
            }
        },
        {
            "auth": {
                "type": "environment_variable",
                "secret_name": "DB_PASSWORD",
                "secret_value": SECRETS["env"],
                "networking": {"type": "unrestricted"},
            }
        },
    ]
    created += [wraw.new_credential(vault_id, body) for body in bodies]
    texts = [repr(created)]
    client = QoderClient(wbox.base_url, wbox.pat)
    for shape in ("flat", "nested"):
        wbox.shape = shape
        listing = wraw.get(f"/vaults/{vault_id}/credentials?include_archived=true")
        texts.append(listing.text)
        for cred in listing.json()["data"]:
            texts.append(wraw.get(f"/vaults/{vault_id}/credentials/{cred['id']}").text)
        page = client.list_credentials(vault_id, include_archived=True)
        texts += [repr(page), repr(client)] + [repr(c) for c in page.data]
    texts.append(wraw.post(f"/vaults/{vault_id}/credentials/{created[1]['id']}/archive").text)
    texts.append(repr(client.archive_credential(vault_id, created[2]["id"])))
    blob = "\n".join(texts)
    for secret in SECRETS.values():
        assert secret not in blob
    assert wbox.pat not in blob
    stored = b"".join(p.read_bytes() for p in wbox.store.path.parent.glob("writes.db*"))
    for secret in SECRETS.values():
        assert secret.encode() not in stored


def test_client_drops_secret_fields_a_server_might_send(qoder, qbox, seeded):
    leaky = {
        "id": "vcred_x",
        "vault_id": seeded["Support Desk"],
        "type": "vault_credential",
        "auth": {
            "type": "mcp_oauth",
            "mcp_server_url": "https://mcp.notion.com/mcp",
            "access_token": "LEAK-1",
            "token": "LEAK-2",
            "refresh": {"refresh_token": "LEAK-3", "client_secret": "LEAK-4"},
        },
        "secret_value": "LEAK-5",
        "metadata": {},
        "archived_at": None,
    }
    path = f"/api/v1/cloud/vaults/{seeded['Support Desk']}/credentials/vcred_x"
    qbox.faults.add("status", status=200, body=leaky, path=path)
    cred = qoder.get_credential(seeded["Support Desk"], "vcred_x")
    assert cred.type == "mcp_oauth" and cred.mcp_server_url == "https://mcp.notion.com/mcp"
    assert "LEAK" not in repr(cred) and "LEAK" not in repr(vars(cred))


# ------------------------------------------------------------------ lifecycle
def test_settings_endpoint_switches_shape(qbox, raw, seeded):
    assert raw.get("/_sandbox/settings").json() == {"shape": "nested", "limit_over_100": "error"}
    assert raw.patch("/_sandbox/settings", json={"shape": "flat"}).json()["shape"] == "flat"
    vault = raw.get(f"/vaults/{seeded['Support Desk']}").json()
    assert vault["status"] == "active" and qbox.shape == "flat"
    assert raw.patch("/_sandbox/settings", json={"shape": "round"}).status_code == 400
    assert raw.patch("/_sandbox/settings", json={"limit_over_100": "x"}).status_code == 400
    assert raw.patch("/_sandbox/settings", json={"shape": "flat"}, auth=False).status_code == 401


def test_restart_keeps_data_and_pat_and_seeds_once(tmp_path):
    data = tmp_path / "q.db"
    with start_qoder_sandbox(data) as box:
        pat, seeded = box.pat, box.seeded
        assert re.fullmatch(r"qpat_[A-Za-z0-9_-]{40}", pat) and box.generated_pat
        Raw(box.base_url, pat).new_vault("Added")
    assert seeded
    with start_qoder_sandbox(data, shape="flat") as box:
        assert box.pat == pat and box.generated_pat and not box.seeded
        names = [v["display_name"] for v in Raw(box.base_url, pat).get("/vaults").json()["data"]]
        assert names[0] == "Added" and len(names) == 8  # newest first; seeded once
    with start_qoder_sandbox(data, pat="qpat_given") as box:
        assert box.pat == "qpat_given" and not box.generated_pat
        assert (
            requests.get(
                box.base_url + "/vaults", timeout=5, headers={"Authorization": f"Bearer {pat}"}
            ).status_code
            == 401
        )


def test_unseeded_store_is_empty_and_bad_arguments_raise(tmp_path):
    with start_qoder_sandbox(tmp_path / "e.db", seed=False) as box:
        body = Raw(box.base_url, box.pat).get("/vaults").json()
        assert body == {"data": [], "first_id": None, "last_id": None, "has_more": False}
    for kwargs in ({"shape": "square"}, {"limit_over_100": "ignore"}, {"pat": "has space"}):
        with pytest.raises(ValueError):
            start_qoder_sandbox(tmp_path / "x.db", **kwargs)
