"""QoderClient against the emulator: listing, detail, both shapes, filters, archive."""

from __future__ import annotations

import re

import pytest
from qoder_helpers import CRED_ID_RE, TIME_RE, VAULT_ID_RE, flat_body

from app.qoder import Credential, QoderClient, Vault
from app.upstream_errors import AuthError, ConflictError, NotFoundError, ValidationError

SEEDED_ACTIVE = [  # newest first
    "Staging MCP",
    "Production MCP",
    "Staging Playground",
    "Support Desk",
    "Clinical Operations",
    "Revenue Cycle",
    "Engineering MCP",
]


# ------------------------------------------------------------------ vaults
@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_list_vaults_hides_archived_by_default(qoder, qbox, shape):
    qbox.shape = shape
    page = qoder.list_vaults()
    assert [v.display_name for v in page.data] == SEEDED_ACTIVE
    assert page.has_more is False
    assert page.first_id == page.data[0].id and page.last_id == page.data[-1].id
    for vault in page.data:
        assert isinstance(vault, Vault) and vault.status == "active" and not vault.archived
        assert re.fullmatch(VAULT_ID_RE, vault.id)
        assert re.fullmatch(TIME_RE, vault.created_at) and re.fullmatch(TIME_RE, vault.updated_at)
        assert vault.archived_at is None
    assert page.data[-1].metadata == {"team": "platform", "env": "prod"}


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_include_archived_and_status_in_both_shapes(qoder, qbox, raw, seeded, shape):
    qbox.shape = shape
    page = qoder.list_vaults(include_archived=True)
    assert len(page.data) == 8
    legacy = next(v for v in page.data if v.display_name == "Legacy Integrations")
    assert legacy.status == "archived" and legacy.archived
    assert legacy.archived_at == legacy.updated_at == "2026-04-16T09:00:00.000000Z"
    wire = raw.get(f"/vaults/{legacy.id}").json()
    if shape == "nested":  # G3: no status on the wire, derived from archived_at
        assert "status" not in wire and wire["archived_at"] == legacy.archived_at
        active = raw.get(f"/vaults/{seeded['Support Desk']}").json()
        assert active["archived_at"] is None
    else:
        assert wire["status"] == "archived"
        active = raw.get(f"/vaults/{seeded['Support Desk']}").json()
        assert active["status"] == "active" and "archived_at" not in active


def test_list_vaults_name_filter_is_a_case_insensitive_substring(qoder):
    assert [v.display_name for v in qoder.list_vaults(name="REVENUE").data] == ["Revenue Cycle"]
    assert {v.display_name for v in qoder.list_vaults(name="o").data} == {
        "Production MCP",
        "Staging Playground",
        "Support Desk",
        "Clinical Operations",
    }
    assert qoder.list_vaults(name="legacy").data == []
    assert [v.display_name for v in qoder.list_vaults(name="legacy", include_archived=True).data]


def test_get_vault_matches_the_listing(qoder, seeded):
    listed = {v.id: v for v in qoder.list_vaults(include_archived=True).data}
    for vault_id in seeded.values():
        assert qoder.get_vault(vault_id) == listed[vault_id]


def test_unknown_vault_is_not_found(qoder):
    missing = "vault_" + "0" * 32
    with pytest.raises(NotFoundError) as info:
        qoder.get_vault(missing)
    assert info.value.status == 404 and info.value.message == f"Vault '{missing}' was not found."
    with pytest.raises(NotFoundError):
        qoder.list_credentials(missing)
    with pytest.raises(NotFoundError):
        qoder.get_credential(missing, "vcred_" + "0" * 32)


def test_ids_with_odd_characters_are_escaped_into_the_path(qoder):
    with pytest.raises(NotFoundError):
        qoder.get_vault("../vaults?x=1#y")
    with pytest.raises(ValueError):
        qoder.get_vault("")


# ------------------------------------------------------------------ credentials
def test_list_credentials_newest_first_with_parsed_fields(qoder, seeded):
    page = qoder.list_credentials(seeded["Revenue Cycle"])
    assert [c.mcp_server_url for c in page.data] == [
        "https://mcp.linear.app/sse",
        "https://mcp.notion.com/mcp",
        "https://mcp.stripe.com/",
        "https://mcp.internal.acme-health.com/claims",
        "https://mcp.internal.acme-health.com/billing",
    ]  # remittance is archived
    created = [c.created_at for c in page.data]
    assert created == sorted(created, reverse=True)
    for cred in page.data:
        assert isinstance(cred, Credential) and re.fullmatch(CRED_ID_RE, cred.id)
        assert cred.vault_id == seeded["Revenue Cycle"] and cred.status == "active"
        assert cred.shape == "nested" and cred.protocol is None and cred.kind == "mcp_server"
        assert cred.type in ("static_bearer", "mcp_oauth") and cred.display_name is None


def test_flat_shape_gives_protocol_and_status(qoder, qbox, seeded):
    qbox.shape = "flat"
    page = qoder.list_credentials(seeded["Engineering MCP"], limit=100, include_archived=True)
    assert {c.shape for c in page.data} == {"flat"}
    by_url = {c.mcp_server_url: c for c in page.data}
    assert by_url["https://mcp.linear.app/sse"].protocol == "sse"
    assert by_url["https://mcp.notion.com/mcp"].protocol == "streamable_http"
    assert by_url["https://mcp.notion.com/mcp"].type == "mcp_oauth"
    assert by_url["https://mcp.linear.app/sse"].type == "static_bearer"
    assert sum(c.status == "archived" for c in page.data) == 4
    assert all((c.archived_at is not None) == c.archived for c in page.data)


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_environment_variable_credentials(qoder, qbox, seeded, shape):
    qbox.shape = shape
    page = qoder.list_credentials(seeded["Clinical Operations"])
    env = [c for c in page.data if c.kind == "environment_variable"]
    assert sorted(c.mcp_server_url for c in env) == ["EHR_API_KEY", "PAGERDUTY_TOKEN"]
    assert {c.type for c in env} == {"environment_variable"}
    assert {c.protocol for c in env} == {None}
    one = qoder.get_credential(seeded["Clinical Operations"], env[0].id)
    assert one == env[0] and one.shape == shape


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_get_credential_equals_the_listed_one(qoder, qbox, seeded, shape):
    qbox.shape = shape
    vault_id = seeded["Support Desk"]
    for cred in qoder.list_credentials(vault_id).data:
        assert qoder.get_credential(vault_id, cred.id) == cred


def test_credential_of_another_vault_is_not_found(qoder, seeded):
    cred = qoder.list_credentials(seeded["Support Desk"]).data[0]
    with pytest.raises(NotFoundError) as info:
        qoder.get_credential(seeded["Revenue Cycle"], cred.id)
    assert info.value.message == f"Credential '{cred.id}' was not found."


def test_credential_name_filter_matches_the_url_case_insensitively(qoder, seeded):
    eng = seeded["Engineering MCP"]
    assert [c.mcp_server_url for c in qoder.list_credentials(eng, name="LINEAR").data] == [
        "https://mcp.linear.app/sse"
    ]
    internal = qoder.list_credentials(eng, name="internal.acme", limit=100).data
    assert len(internal) == 24  # 26 internal services, two of them archived
    assert (
        len(
            qoder.list_credentials(eng, name="internal.acme", include_archived=True, limit=100).data
        )
        == 26
    )
    env = qoder.list_credentials(seeded["Clinical Operations"], name="pagerduty").data
    assert [c.mcp_server_url for c in env] == ["PAGERDUTY_TOKEN"]


def test_created_at_range_is_inclusive(qoder, seeded):
    eng = seeded["Engineering MCP"]
    every = qoder.list_credentials(eng, limit=100, include_archived=True).data
    low, high = every[30].created_at, every[10].created_at
    inside = qoder.list_credentials(
        eng, limit=100, include_archived=True, created_gte=low, created_lte=high
    ).data
    assert [c.id for c in inside] == [c.id for c in every[10:31]]
    only_newer = qoder.list_credentials(eng, limit=100, created_gte=every[5].created_at).data
    assert [c.id for c in only_newer] == [c.id for c in every[:6] if not c.archived]
    assert qoder.list_credentials(eng, created_gte=high, created_lte=low).data == []
    # an offset is honoured: 12:30+01:00 is 11:30Z, after the first two credentials
    first_two = qoder.list_credentials(eng, created_lte="2026-03-02T12:30:00+01:00").data
    assert [c.mcp_server_url for c in first_two] == [
        "https://mcp.notion.com/mcp",
        "https://mcp.linear.app/sse",
    ]


def test_bad_timestamp_is_a_validation_error_on_the_field(qoder, seeded):
    with pytest.raises(ValidationError) as info:
        qoder.list_credentials(seeded["Revenue Cycle"], created_gte="last tuesday")
    assert info.value.status == 400 and info.value.code == "invalid_request_error"
    assert list(info.value.field_errors) == ["created_at[gte]"]
    assert info.value.general_errors == []


# ------------------------------------------------------------------ archive
@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_archive_then_conflict_on_the_second_archive(wqoder, wbox, wraw, shape):
    wbox.shape = shape
    vault = wraw.new_vault(
        "Archive test",
        [flat_body("https://mcp.linear.app/sse"), flat_body("https://mcp.notion.com/mcp")],
    )
    cred_id = vault["credentials"][0]["id"]
    before = wqoder.get_credential(vault["id"], cred_id)
    assert before.status == "active" and before.archived_at is None

    archived = wqoder.archive_credential(vault["id"], cred_id)
    assert archived.status == "archived" and archived.shape == shape
    assert archived.archived_at == archived.updated_at and archived.updated_at > before.updated_at
    assert wqoder.get_credential(vault["id"], cred_id) == archived

    with pytest.raises(ConflictError) as info:
        wqoder.archive_credential(vault["id"], cred_id)
    assert info.value.status == 409 and info.value.message == "This credential is already archived."
    assert info.value.code == "conflict_error"

    listed = wqoder.list_credentials(vault["id"]).data
    assert [c.id for c in listed] == [vault["credentials"][1]["id"]]
    assert cred_id in {
        c.id for c in wqoder.list_credentials(vault["id"], include_archived=True).data
    }


def test_archive_unknown_credential_is_not_found(wqoder, wraw):
    vault = wraw.new_vault("Archive 404")
    with pytest.raises(NotFoundError):
        wqoder.archive_credential(vault["id"], "vcred_" + "f" * 32)


# ------------------------------------------------------------------ auth and hygiene
def test_wrong_pat_is_an_auth_error_without_the_token(qbox):
    wrong = "qpat_wrong_token_123456789"
    client = QoderClient(qbox.base_url, wrong, retries=0)
    with pytest.raises(AuthError) as info:
        client.list_vaults()
    assert info.value.status == 401
    assert info.value.message == "Qoder rejected the access token (QODER_PAT)."
    assert wrong not in str(info.value) and wrong not in repr(info.value)


def test_client_validates_arguments_before_sending(qoder, qbox):
    qbox.faults.add("status", status=500, times=None)  # nothing may reach the server
    for bad in (0, 101, -1, True, 2.5, "20"):
        with pytest.raises(ValueError, match="limit"):
            qoder.list_vaults(limit=bad)
    with pytest.raises(ValueError, match="mutually exclusive"):
        qoder.list_vaults(after_id="vault_" + "1" * 32, before_id="vault_" + "2" * 32)
    with pytest.raises(ValueError, match="mutually exclusive"):
        qoder.list_credentials("vault_x", after_id="a", before_id="b")
    with pytest.raises(ValueError):
        qoder.list_credentials("vault_x", created_gte="")
    assert len(qbox.faults.list()) == 1 and qbox.faults.list()[0]["times"] is None


def test_repr_and_hint_never_show_the_pat(qbox, qoder, seeded):
    assert qbox.pat not in repr(qoder) and "redacted" in repr(qoder)
    assert qoder.key_hint == "…" + qbox.pat[-4:]
    assert QoderClient(qbox.base_url, "short").key_hint == "…"
    page = qoder.list_credentials(seeded["Engineering MCP"])
    assert qbox.pat not in repr(page) and qbox.pat not in str(vars(qoder.http))
    with pytest.raises(ValueError):
        QoderClient(qbox.base_url, "  ")
