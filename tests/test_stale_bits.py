"""Small things an operator noticed over a day, each fixed and kept fixed: pages that kept
showing what was no longer true, or said it in the API's words."""

from __future__ import annotations

import re

from tests.entries_support import csrf, hx, make_entry, save_section, sdk_for, section_form


def test_clearing_browser_state_refreshes_the_header_badge(client, auth, sandbox):
    cookie = {"name": "sid", "value": "v", "domain": ".x.com", "path": "/"}
    entry = make_entry(sandbox, cookies=[cookie], expiry_time_from_last_use="7 days")
    auth.login("hbe", "editor")
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    head = page[page.index('id="entry-head"') : page.index("detail-grid")]
    assert "Active" in head
    answer = hx(client, "POST", f"/entries/{entry.id}/clear-state", csrf(client))
    html = answer.get_data(as_text=True)
    header = re.search(r'<div hx-swap-oob="true" [^>]*id="entry-head".*?</div>\s*</div>', html,
                       re.S)  # fmt: skip
    assert header and "Active" not in header[0]


def test_a_renamed_entry_renames_the_tab(editor, sandbox):
    entry = make_entry(sandbox, user_alias="Before rename")
    token = csrf(editor)
    data = dict(section_form(editor, entry.id, "credentials"), user_alias="After rename")
    html = save_section(editor, entry.id, "credentials", data, token).get_data(as_text=True)
    assert "<title>After rename · Vault Console</title>" in html


def test_delete_confirmation_offers_the_id_to_copy(client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("adm", "admin")
    html = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    danger = html[html.index('id="section-danger"') :]
    assert f'id="copy-delete-pid" class="mono copy-source">{entry.permissioned_user_id}<' in danger
    assert 'aria-labelledby="confirm-delete-label"' in danger


def test_a_provider_backed_authenticator_says_where_its_secret_comes_from(client, auth, sandbox):
    sdk = sdk_for(sandbox)
    provider = next(p for p in sdk.secret_providers.list() if sdk.secret_providers.list_items(p.id))
    item = sdk.secret_providers.list_items(provider.id)[0]
    entry = make_entry(sandbox, user_name=None, password=None, tfa_method="AUTHENTICATOR",
                       secret_provider_id=provider.id, secret_ref=item.ref)  # fmt: skip
    auth.login("pbv", "viewer")
    html = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    twofactor = html[html.index('id="section-twofactor"') : html.index('id="section-session"')]
    assert "Resolved from 1Password at run time" in twofactor and "Not set" not in twofactor


def test_the_r4_item_breadcrumb_names_its_vault(client, auth, other_vaults):
    vault_id = other_vaults["r4"].vault_id("Staging")
    auth.login("rbc", "viewer")
    vault = client.get(f"/r4/vaults/{vault_id}").get_data(as_text=True)
    item = re.search(rf'href="(/r4/vaults/{vault_id}/items/[^"]+)"', vault)[1]
    page = client.get(item).get_data(as_text=True)
    assert re.search(rf'<a href="/r4/vaults/{vault_id}">Staging</a> ›', page)


def _chain_line(html: str) -> str:
    """The chain's state as a page says it (the shared ``chain_state`` macro)."""
    found = re.search(r"<strong>(Not verified yet|Chain intact|Chain broken)</strong>\s*"
                      r"<span[^>]*>([^<]*)</span>", html)  # fmt: skip
    assert found, html[:300]
    return " ".join(" ".join(found.groups()).split())


def test_status_states_the_chain_as_the_audit_log_does(app, client, auth):
    auth.create("sta", "admin")
    auth.login("sta", "admin")
    assert _chain_line(client.get("/status").get_data(True)).startswith("Not verified yet")
    assert _chain_line(client.get("/status").get_data(True)) == _chain_line(
        client.get("/audit").get_data(True)
    )
    # once verified (the background walk writes a checkpoint), both say through which event
    from app.services import audit_verify

    client.post("/audit/verify", data={"csrf_token": csrf(client)})
    with app.app_context():
        import time

        deadline = time.monotonic() + 20
        while audit_verify.full_verification_running() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    status, audit = client.get("/status").get_data(True), client.get("/audit").get_data(True)
    assert _chain_line(status).startswith("Chain intact verified through #")
    assert _chain_line(status) == _chain_line(audit)
    assert "0 events verified" not in status


def test_durations_are_asked_for_in_words(editor, sandbox):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = dict(section_form(editor, entry.id, "session"), expiry_time_from_last_use="soonish")
    html = save_section(editor, entry.id, "session", data, token).get_data(as_text=True)
    assert "is not a duration: enter one like 01:30:00" in html
    assert "PostgreSQL" not in html
