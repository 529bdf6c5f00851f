"""The CloudCruise client against the sandbox over a real loopback socket.

Faults are injected in the sandbox (server side), so the client's real transport, retry
policy and parsing are what is under test.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyotp
import pytest
from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters

from app.cloudcruise import CloudCruiseClient, crypto
from app.upstream_errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from tests.conftest import unique


@pytest.fixture
def cc(sandbox):
    client = CloudCruiseClient(
        sandbox.base_url, sandbox.api_key, sandbox.encryption_key, read_timeout=2, backoff=0.01
    )
    yield client
    client.close()


@pytest.fixture
def sdk(sandbox):
    return CloudCruise(
        CloudCruiseParams(
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            encryption_key=sandbox.encryption_key,
        )
    )


def _new(cc, **extra):
    fields = {
        "permissioned_user_id": unique("client"),
        "domain": "https://portal.example-health.com",
        "user_name": "ann@example.com",
        "password": "S3cret!pass",
        "user_alias": "Ann – billing",
    }
    fields.update(extra)
    return cc.create_entry(fields)


def test_list_returns_the_seeded_entries_with_secrets_hidden(cc):
    entries = cc.list_entries()
    assert len(entries) >= 40
    with_password = [e for e in entries if e.has_secret("password")]
    assert with_password
    entry = with_password[0]
    assert entry["password"] is None  # ciphertext is not reachable through the mapping
    assert "password" not in repr(entry) or "<redacted>" in repr(entry)
    assert crypto.looks_encrypted(entry.ciphertext("password"))


def test_created_entry_is_encrypted_on_the_wire_and_readable_by_the_sdk(cc, sdk):
    entry = _new(cc)
    assert entry.id and entry.created_at and entry.updated_at
    [fetched] = sdk.vault.get(
        GetVaultEntriesFilters(permissioned_user_id=entry.permissioned_user_id, domain=entry.domain)
    )
    assert fetched.user_name == "ann@example.com"
    assert fetched.password == "S3cret!pass"
    raw = sdk.vault.get(
        GetVaultEntriesFilters(
            permissioned_user_id=entry.permissioned_user_id,
            domain=entry.domain,
            decryptCredentials=False,
        )
    )[0]
    assert crypto.looks_encrypted(raw.password) and raw.password != "S3cret!pass"


def test_get_one_update_partial_and_decrypt(cc):
    entry = _new(cc, tfa_method="EMAIL")
    one = cc.get_entry(entry.permissioned_user_id, entry.domain)
    assert one.id == entry.id and one.tfa_method == "EMAIL"
    updated = cc.update_entry({"id": entry.id, "password": "N3w-pass", "persist_cookies": True})
    assert updated.persist_cookies is True
    assert updated.user_alias == "Ann – billing"  # untouched fields survive a partial PUT
    assert cc.decrypt_secret(updated, "password") == "N3w-pass"
    assert cc.decrypt_secret(updated, "user_name") == "ann@example.com"
    assert updated.updated_at != entry.updated_at


def test_unknown_response_fields_are_kept(cc):
    entry = cc.list_entries()[0]
    # fields the SDK's dataclass would drop are still there
    for name in ("tfa_email", "effective_expires_at", "proxy_string", "site_identifier"):
        assert name in entry


def test_delete_then_not_found(cc):
    entry = _new(cc)
    cc.delete_entry(entry.permissioned_user_id, entry.domain)
    with pytest.raises(NotFoundError):
        cc.get_entry(entry.permissioned_user_id, entry.domain)
    with pytest.raises(NotFoundError):
        cc.delete_entry(entry.permissioned_user_id, entry.domain)


def test_duplicate_create_is_a_conflict(cc):
    entry = _new(cc)
    with pytest.raises(ConflictError):
        cc.create_entry(
            {"permissioned_user_id": entry.permissioned_user_id, "domain": entry.domain}
        )


def test_validation_errors_are_mapped_to_fields(cc):
    with pytest.raises(ValidationError) as info:
        cc.create_entry(
            {"permissioned_user_id": unique(), "domain": "not a url", "max_concurrency": 0}
        )
    assert "domain" in info.value.field_errors
    assert "max_concurrency" in info.value.field_errors
    assert info.value.status == 400


def test_clear_browser_state(cc):
    entry = _new(
        cc,
        cookies=[
            {"name": "sid", "value": "v", "domain": ".example-health.com", "path": "/",
             "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
             "storeId": "0", "sameSite": "lax"}
        ],
        local_storage={"k": "v"},
    )  # fmt: skip
    assert entry.session_data_set_at
    assert cc.clear_browser_state(entry.permissioned_user_id, entry.domain) is True
    cleared = cc.get_entry(entry.permissioned_user_id, entry.domain)
    assert cleared.cookies == [] and cleared.local_storage == {}
    assert cleared.session_data_set_at is None


def test_tfa_code_for_an_authenticator_entry_is_the_real_totp(cc):
    secret = pyotp.random_base32()
    entry = _new(cc, tfa_method="AUTHENTICATOR", tfa_secret=secret)
    code = cc.get_tfa_code(entry.permissioned_user_id, entry.domain)
    assert code.type == "authenticator"
    assert code.code in {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}
    assert 0 < code.expires_in_seconds <= 30
    assert code.code not in repr(code)


def test_tfa_code_for_sms_is_a_conflict(cc):
    entry = _new(cc, tfa_method="SMS")
    with pytest.raises(ConflictError):
        cc.get_tfa_code(entry.permissioned_user_id, entry.domain)


def test_secret_providers_and_items(cc):
    providers = cc.list_secret_providers()
    assert providers and providers[0]["provider_type"] == "1password"
    with_items = [p for p in providers if cc.list_provider_items(p["id"])]
    assert with_items
    items = cc.list_provider_items(with_items[0]["id"])
    assert all(item["ref"].startswith("op://") for item in items)
    with pytest.raises(NotFoundError):
        cc.list_provider_items("00000000-0000-4000-8000-000000000000")


def test_wrong_api_key_is_an_auth_error(sandbox):
    client = CloudCruiseClient(sandbox.base_url, "sk_wrong", sandbox.encryption_key)
    with pytest.raises(AuthError):
        client.list_entries()


def test_ciphertext_made_with_another_key_is_rejected(sandbox):
    client = CloudCruiseClient(sandbox.base_url, sandbox.api_key, "ab" * 32)
    with pytest.raises(AuthError):
        client.create_entry(
            {"permissioned_user_id": unique(), "domain": "https://x.example.com", "password": "p"}
        )


# ---------------------------------------------------------------- resilience


def test_get_is_retried_after_a_server_error(cc, sandbox):
    sandbox.faults.add("status", status=503, method="GET", path="/vault", times=2)
    assert cc.list_entries()
    assert sandbox.faults.list() == []  # both faults were consumed by retries


def test_get_gives_up_after_the_retry_budget(cc, sandbox):
    sandbox.faults.add("status", status=502, method="GET", path="/vault", times=5)
    with pytest.raises(UnavailableError) as info:
        cc.list_entries()
    assert info.value.status == 502 and info.value.kind == "server"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_writes_are_never_retried_on_server_errors(cc, sandbox, method):
    entry = _new(cc)
    sandbox.faults.add("status", status=500, method=method, path="/vault", times=2)
    with pytest.raises(UnavailableError):
        if method == "POST":
            cc.create_entry({"permissioned_user_id": unique(), "domain": "https://a.example.com"})
        else:
            cc.update_entry({"id": entry.id, "user_alias": "changed"})
    remaining = sandbox.faults.list()
    assert len(remaining) == 1 and remaining[0]["times"] == 1  # exactly one attempt


def test_a_short_429_is_retried_even_for_writes(cc, sandbox):
    sandbox.faults.add(
        "status", status=429, method="POST", path="/vault", headers={"Retry-After": "1"}
    )
    started = time.monotonic()
    entry = _new(cc)
    assert entry.id
    assert time.monotonic() - started >= 0.9  # Retry-After was honoured


def test_a_long_429_is_handed_to_the_operator_with_the_wait(cc, sandbox):
    sandbox.faults.add("status", status=429, method="GET", headers={"Retry-After": "40"})
    with pytest.raises(RateLimitedError) as info:
        cc.list_entries()
    assert info.value.retry_after == 40


def test_read_timeout(cc, sandbox):
    sandbox.faults.add("slow_read", delay=4, method="GET", path="/secret-providers", times=3)
    with pytest.raises(UnavailableError) as info:
        cc.list_secret_providers()
    assert info.value.kind == "timeout"


def test_dropped_connection(cc, sandbox):
    sandbox.faults.add("drop", method="POST", path="/vault")
    with pytest.raises(UnavailableError) as info:
        cc.create_entry({"permissioned_user_id": unique(), "domain": "https://b.example.com"})
    assert info.value.kind == "connection"


def test_connection_refused():
    client = CloudCruiseClient("http://127.0.0.1:9", "k", "ab" * 32, retries=0)
    with pytest.raises(UnavailableError) as info:
        client.list_entries()
    assert info.value.kind == "connection"


@pytest.mark.parametrize("kind", ["malformed", "content_type"])
def test_garbage_bodies(cc, sandbox, kind):
    sandbox.faults.add(kind, method="GET", path="/vault")
    with pytest.raises(UnavailableError) as info:
        cc.list_entries()
    assert info.value.kind == "malformed"


def test_oversized_body_is_refused(sandbox):
    small = CloudCruiseClient(
        sandbox.base_url, sandbox.api_key, sandbox.encryption_key, max_response_bytes=100_000
    )
    sandbox.faults.add("oversized", size=2_000_000, method="GET", path="/vault")
    with pytest.raises(UnavailableError, match="too large"):
        small.list_entries()


def test_unexpected_shape_is_malformed(cc, sandbox):
    sandbox.faults.add("status", status=200, body={"unexpected": True}, path="/secret-providers")
    # a dict is tolerated as a one-element list but a provider without id is dropped
    assert cc.list_secret_providers() == []
    sandbox.faults.add("status", status=200, body=["not", "entries"], path="/vault")
    with pytest.raises(UnavailableError):
        cc.list_entries()


def test_client_repr_and_errors_do_not_leak_keys(sandbox):
    client = CloudCruiseClient(sandbox.base_url, sandbox.api_key, sandbox.encryption_key)
    assert sandbox.api_key not in repr(client)
    assert client.key_hint == "…" + sandbox.api_key[-4:]


def test_a_timeout_before_the_headers_is_a_timeout_too(sandbox):
    """Found by the Qoder tests: a header-phase read timeout arrives wrapped in MaxRetryError."""
    client = CloudCruiseClient(
        sandbox.base_url, sandbox.api_key, sandbox.encryption_key, read_timeout=0.3, retries=0
    )
    sandbox.faults.add("latency", delay=1.0, method="GET", path="/secret-providers")
    with pytest.raises(UnavailableError) as info:
        client.list_secret_providers()
    assert info.value.kind == "timeout"


# ---------------------------------------------------------------- "no such entry" answers


class _EmptyVault(BaseHTTPRequestHandler):
    """Answers every ``GET /vault`` with 200 and the body under test."""

    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def empty_vault():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyVault)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "body", [b"[]", b"{}", b"null", b""], ids=["list", "object", "null", "none"]
)
def test_an_empty_answer_for_one_key_is_not_found_not_malformed(empty_vault, body):
    """Divergence 1: some deployments answer an unknown key with 200 and an empty body."""
    _EmptyVault.body = body
    base_url = f"http://127.0.0.1:{empty_vault.server_address[1]}"
    with CloudCruiseClient(base_url, "sk_test_key_0001", "ab" * 32, retries=0) as client:
        with pytest.raises(NotFoundError) as info:
            client.get_entry("ann", "https://portal.example.com")
        assert info.value.message == "The vault entry no longer exists."
        assert not isinstance(info.value, UnavailableError)
        if body == b"[]":
            assert client.list_entries() == []  # the whole vault may well be empty
