"""Token rotation: the emulator's G3 *Update credential* (``POST .../credentials/{id}``) over
raw HTTP, and :meth:`QoderClient.rotate_token` / ``update_credential`` against it; plus the
``qoder-workspace-id`` header, checked on a real local HTTP server that records requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from qoder_helpers import flat_body

from app.qoder import QoderClient
from app.upstream_errors import ConflictError, NotFoundError, UnavailableError, ValidationError

SECRET = "SECRET-rotated-token-777"


def _nested(kind: str, **auth) -> dict:
    base = {"type": kind}
    if kind == "environment_variable":
        base |= {"secret_name": "API_TOKEN", "secret_value": "old-value",
                 "networking": {"type": "unrestricted"}}  # fmt: skip
    elif kind == "mcp_oauth":
        base |= {"mcp_server_url": "https://mcp.notion.com/mcp", "access_token": "old"}
    else:
        base |= {"mcp_server_url": "https://mcp.sentry.dev/mcp", "token": "old"}
    return {"auth": base | auth}


@pytest.fixture
def vault(wraw) -> dict:
    return wraw.new_vault("Rotation")


def _update(wraw, vault_id: str, cred_id: str, body) -> object:
    return wraw.post(f"/vaults/{vault_id}/credentials/{cred_id}", json=body)


# ------------------------------------------------------------------ emulator
def test_update_replaces_the_secret_bumps_updated_at_and_never_echoes_it(wraw, wbox, vault):
    cred = wraw.new_credential(vault["id"], _nested("static_bearer"))
    before = wbox.store.path.read_bytes()
    r = _update(wraw, vault["id"], cred["id"], {"auth": {"type": "static_bearer", "token": SECRET}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["id"] == cred["id"]
        and body["auth"]["mcp_server_url"] == cred["auth"]["mcp_server_url"]
    )
    assert body["updated_at"] > cred["updated_at"] and body["created_at"] == cred["created_at"]
    assert SECRET not in r.text
    stored = b"".join(p.read_bytes() for p in wbox.store.path.parent.glob("writes.db*"))
    assert SECRET.encode() not in stored and stored != before


def test_update_of_a_flat_credential_and_in_the_flat_shape(wraw, wbox, vault):
    cred = wraw.new_credential(vault["id"], flat_body("https://mcp.linear.app/sse"))
    wbox.shape = "flat"
    r = _update(wraw, vault["id"], cred["id"], {"auth": {"type": "static_bearer", "token": "n"}})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert r.json()["mcp_server_url"] == "https://mcp.linear.app/sse"


def test_update_each_type_and_metadata_merge(wraw, vault):
    oauth = wraw.new_credential(
        vault["id"],
        _nested("mcp_oauth", refresh={"refresh_token": "r", "client_id": "c",
                                      "token_endpoint": "https://auth.example.com/token"}),
    )  # fmt: skip
    r = _update(
        wraw,
        vault["id"],
        oauth["id"],
        {
            "auth": {
                "type": "mcp_oauth",
                "access_token": "new",
                "expires_at": "2027-01-01T00:00:00Z",
                "refresh": {"refresh_token": "r2", "scope": "read"},
            },
            "metadata": {"team": "ops", "owner": "ann"},
        },
    )
    assert r.status_code == 200, r.text
    auth = r.json()["auth"]
    assert auth["expires_at"] == "2027-01-01T00:00:00Z" and auth["refresh"]["scope"] == "read"
    assert auth["refresh"]["client_id"] == "c" and "refresh_token" not in auth["refresh"]
    assert r.json()["metadata"] == {"team": "ops", "owner": "ann"}
    r = _update(wraw, vault["id"], oauth["id"], {"metadata": {"owner": None, "tier": "1"}})
    assert r.json()["metadata"] == {"team": "ops", "tier": "1"}
    r = _update(wraw, vault["id"], oauth["id"], {"auth": {"type": "mcp_oauth", "expires_at": None}})
    assert r.json()["auth"]["expires_at"] is None and r.json()["metadata"] == {
        "team": "ops",
        "tier": "1",
    }
    assert _update(wraw, vault["id"], oauth["id"], {"metadata": None}).json()["metadata"] == {}

    env = wraw.new_credential(vault["id"], _nested("environment_variable"))
    r = _update(wraw, vault["id"], env["id"],
                {"auth": {"type": "environment_variable", "secret_value": "v2"}})  # fmt: skip
    assert r.status_code == 200 and r.json()["auth"]["secret_name"] == "API_TOKEN"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, None),
        ({"auth": "token"}, "auth"),
        ({"auth": {"token": "x"}}, "auth.type"),
        ({"auth": {"type": "mcp_oauth", "access_token": "x"}}, "auth.type"),
        ({"auth": {"type": "static_bearer", "token": ""}}, "auth.token"),
        ({"auth": {"type": "static_bearer", "token": 5}}, "auth.token"),
        ({"auth": {"type": "static_bearer", "mcp_server_url": "https://x.example.com"}},
         "auth.mcp_server_url"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": {"k": 5}}, "metadata.k"),
    ],
    ids=["empty", "auth-not-object", "no-type", "other-type", "empty-token", "token-not-string",
         "url-immutable", "metadata-list", "metadata-value"],
)  # fmt: skip
def test_update_validation(wraw, vault, body, param):
    cred = wraw.new_credential(vault["id"], _nested("static_bearer"))
    r = _update(wraw, vault["id"], cred["id"], body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error.get("param") == param


def test_update_refuses_what_cannot_change_on_oauth_and_env_credentials(wraw, vault):
    oauth = wraw.new_credential(vault["id"], _nested("mcp_oauth"))
    r = _update(wraw, vault["id"], oauth["id"],
                {"auth": {"type": "mcp_oauth", "refresh": {"refresh_token": "r"}}})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["param"] == "auth.refresh"
    env = wraw.new_credential(vault["id"], _nested("environment_variable"))
    r = _update(wraw, vault["id"], env["id"],
                {"auth": {"type": "environment_variable", "secret_name": "OTHER"}})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["param"] == "auth.secret_name"


def test_update_of_missing_and_archived_credentials(wraw, vault):
    cred = wraw.new_credential(vault["id"], _nested("static_bearer"))
    body = {"auth": {"type": "static_bearer", "token": "t"}}
    assert _update(wraw, "vault_missing", cred["id"], body).status_code == 404
    assert _update(wraw, vault["id"], "vcred_missing", body).status_code == 404
    assert wraw.post(f"/vaults/{vault['id']}/credentials/{cred['id']}/archive").status_code == 200
    r = _update(wraw, vault["id"], cred["id"], body)
    assert r.status_code == 409 and r.json()["error"] == {
        "type": "conflict_error",
        "message": "Archived credentials cannot be updated.",
    }


# ------------------------------------------------------------------ client
def test_client_rotates_each_type_and_maps_errors(wqoder, wraw, wbox, vault):
    for kind in ("static_bearer", "mcp_oauth", "environment_variable"):
        cred = wraw.new_credential(vault["id"], _nested(kind))
        rotated = wqoder.rotate_token(vault["id"], cred["id"], kind, SECRET)
        assert rotated.id == cred["id"] and rotated.type == kind and not rotated.archived
        assert SECRET not in repr(rotated)
    with pytest.raises(ValidationError) as info:
        wqoder.rotate_token(vault["id"], cred["id"], "static_bearer", SECRET)
    assert info.value.field_errors == {"auth.type": [info.value.message]}
    wraw.post(f"/vaults/{vault['id']}/credentials/{cred['id']}/archive")
    with pytest.raises(ConflictError, match="Archived credentials cannot be updated."):
        wqoder.rotate_token(vault["id"], cred["id"], "environment_variable", SECRET)
    with pytest.raises(NotFoundError):
        wqoder.rotate_token(vault["id"], "vcred_" + "0" * 32, "static_bearer", SECRET)
    with pytest.raises(ValueError):
        wqoder.rotate_token(vault["id"], cred["id"], "static_bearer", "")


def test_a_token_echoed_in_an_error_is_scrubbed_and_the_post_is_not_retried(wqoder, wbox, vault):
    body = {"type": "error", "error": {"type": "invalid_request_error",
            "message": f"Token {SECRET} is malformed.", "param": "auth.token"}}  # fmt: skip
    wbox.faults.add("status", status=400, method="POST", body=body)
    with pytest.raises(ValidationError) as info:
        wqoder.rotate_token(vault["id"], "vcred_" + "1" * 32, "static_bearer", SECRET)
    assert SECRET not in info.value.message and info.value.message == "Token … is malformed."
    assert info.value.field_errors == {"auth.token": ["Token … is malformed."]}
    wbox.faults.add("status", status=503, method="POST", times=2)
    with pytest.raises(UnavailableError) as unavailable:
        wqoder.rotate_token(vault["id"], "vcred_" + "1" * 32, "static_bearer", SECRET)
    assert (
        unavailable.value.message == "Qoder answered 503: The service is temporarily unavailable."
    )
    assert wbox.faults.list()[0]["times"] == 1  # exactly one attempt


# ------------------------------------------------------------------ workspace header
class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"data": [], "first_id": None, "last_id": None, "has_more": False})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/cloud"
    server.shutdown()
    server.server_close()


def test_the_workspace_header_is_sent_only_when_configured(recorder):
    with QoderClient(recorder, "qpat_test_token_1234", workspace_id="ws_42") as client:
        client.list_vaults()
    with QoderClient(recorder, "qpat_test_token_1234") as client:
        client.list_vaults()
    with_ws, without = _Recorder.seen
    assert with_ws["qoder-workspace-id"] == "ws_42"
    assert with_ws["authorization"] == "Bearer qpat_test_token_1234"
    assert "qoder-workspace-id" not in without
    with pytest.raises(ValueError, match="QODER_WORKSPACE_ID"):
        QoderClient(recorder, "qpat_test_token_1234", workspace_id="ws\n42")


def test_the_console_passes_qoder_workspace_id_to_its_client(tmp_path, recorder):
    from app import create_app

    env = {"QODER_PAT": "qpat_test_token_1234", "QODER_BASE_URL": recorder,
           "QODER_WORKSPACE_ID": "ws_from_env"}  # fmt: skip
    app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})
    with app.app_context():
        from app import providers

        client = providers.client("qoder")
        assert client.workspace_id == "ws_from_env"
        client.list_vaults()
    assert _Recorder.seen[-1]["qoder-workspace-id"] == "ws_from_env"
    for connection in app.extensions["providers"].values():
        connection.close()
