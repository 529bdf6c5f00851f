"""Click-to-edit sections: partial PUTs on the wire, conflicts, validation, upstream errors."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from cloudcruise.vault.types import VaultEntryInput

from app.cloudcruise import crypto
from tests.conftest import AuthActions
from tests.entries_support import (
    csrf,
    fetch,
    form_fields,
    hx,
    make_entry,
    save_section,
    sdk_for,
    section_form,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_edit_form_is_a_fragment_for_htmx_and_a_page_without(editor, sandbox):
    entry = make_entry(sandbox)
    part = hx(editor, "GET", f"/entries/{entry.id}/sections/proxy/edit")
    full = editor.get(f"/entries/{entry.id}/sections/proxy/edit")
    assert part.status_code == full.status_code == 200
    assert (
        part.get_data(as_text=True).lstrip().startswith('<section class="card" id="section-proxy"')
    )
    assert "<html" in full.get_data(as_text=True) and 'id="form-proxy"' in full.get_data(True)
    assert "HX-Request" in part.headers["Vary"]
    view = hx(editor, "GET", f"/entries/{entry.id}/sections/proxy").get_data(as_text=True)
    assert 'id="form-proxy"' not in view and "Edit proxy" in view


def test_viewers_cannot_edit(client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("vi", "viewer")
    token = csrf(client)
    assert hx(client, "GET", f"/entries/{entry.id}/sections/proxy/edit").status_code == 403
    assert (
        save_section(client, entry.id, "proxy", {"proxy_setting": "random"}, token).status_code
        == 403
    )
    assert "Edit proxy" not in client.get(f"/entries/{entry.id}").get_data(as_text=True)


def test_save_sends_only_the_changed_fields(editor, sandbox, recorder):
    entry = make_entry(sandbox, allow_multiple_sessions=True, max_concurrency=2)
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    assert data["max_concurrency"] == "2" and data["allow_multiple_sessions"] == "y"
    data["max_concurrency"] = "5"
    response = save_section(editor, entry.id, "concurrency", data, token)
    assert response.status_code == 200
    [put] = recorder.writes("PUT")
    assert put["json"] == {
        "id": entry.id,
        "permissioned_user_id": entry.permissioned_user_id,
        "domain": entry.domain,
        "max_concurrency": 5,
    }
    html = response.get_data(as_text=True)
    assert 'id="form-concurrency"' not in html and ">5<" in html  # back in view mode
    assert "Saved concurrency: Max concurrent sessions." in response.headers["HX-Trigger"]
    assert "entry-changed" in response.headers["HX-Trigger"]
    # header badges refresh too, out of band
    assert re.search(r'<div hx-swap-oob="true" [^>]*id="entry-head"', html)
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).max_concurrency == 5


def test_unchanged_save_sends_nothing(editor, sandbox, recorder):
    entry = make_entry(sandbox)
    token = csrf(editor)
    response = save_section(
        editor, entry.id, "concurrency", section_form(editor, entry.id, "concurrency"), token
    )
    assert response.status_code == 200 and "Nothing changed." in response.headers["HX-Trigger"]
    assert recorder.writes("PUT") == []


def test_credentials_are_encrypted_and_empty_means_keep(editor, sandbox, recorder):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "credentials")
    assert "password" not in data or data["password"] == ""  # never prefilled
    data.update(password="N3w pass phrase!", user_name="")
    assert save_section(editor, entry.id, "credentials", data, token).status_code == 200
    [put] = recorder.writes("PUT")
    assert set(put["json"]) == {"id", "permissioned_user_id", "domain", "password"}
    assert crypto.looks_encrypted(put["json"]["password"])
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.password == "N3w pass phrase!" and stored.user_name == "ann@example.com"


@pytest.mark.parametrize(
    ("mode", "value", "encrypted"),
    [
        ("custom", "socks5://agent:s3cret@proxy.example.net:1080", True),
        ("static", "203.0.113.77", False),
        ("country", "DE", False),
    ],
)
def test_proxy_value_is_encrypted_only_for_custom(
    editor, sandbox, recorder, mode, value, encrypted
):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "proxy")
    data.update(proxy_setting=mode, proxy_value=value)
    response = save_section(editor, entry.id, "proxy", data, token)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    [put] = recorder.writes("PUT")
    assert put["json"]["proxy_setting"] == mode
    sent = put["json"]["proxy_value"]
    assert crypto.looks_encrypted(sent) is encrypted
    if encrypted:
        assert crypto.decrypt_value(sent, sandbox.encryption_key) == value
        assert value not in response.get_data(as_text=True)
    else:
        assert sent == value
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.proxy_value == value and stored.proxy_string  # assigned proxy shown after
    assert stored.proxy_string in response.get_data(as_text=True)


def test_custom_url_left_empty_keeps_the_stored_one(editor, sandbox, recorder):
    entry = make_entry(
        sandbox, proxy_setting="custom", proxy_value="http://u:p@proxy.example.net:8080"
    )
    token = csrf(editor)
    data = section_form(editor, entry.id, "proxy")
    assert data["proxy_setting"] == "custom" and data.get("proxy_value", "") == ""
    response = save_section(editor, entry.id, "proxy", data, token)
    assert "Nothing changed." in response.headers["HX-Trigger"]
    assert recorder.writes("PUT") == []


def test_two_factor_secret_replace_and_remove(editor, sandbox, recorder):
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret=SECRET)
    token = csrf(editor)
    new_secret = pyotp.random_base32()
    preview = hx(editor, "POST", f"/entries/{entry.id}/tfa-preview", token,
                 data={"tfa_secret": new_secret}).get_data(as_text=True)  # fmt: skip
    codes = {pyotp.TOTP(new_secret).at(time.time() + d) for d in (-30, 0, 30)}
    assert any(code in preview for code in codes) and new_secret not in preview
    data = section_form(editor, entry.id, "twofactor")
    data["tfa_secret"] = new_secret
    assert save_section(editor, entry.id, "twofactor", data, token).status_code == 200
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).tfa_secret == new_secret
    # the API documents no way to remove a method or a stored secret: no "None" to choose,
    # and a crafted request is refused beside the field with nothing sent
    page = editor.get(f"/entries/{entry.id}/sections/twofactor/edit").get_data(as_text=True)
    assert 'value="none"' not in page and "remove_tfa_secret" not in page
    data = section_form(editor, entry.id, "twofactor")
    writes = len(recorder.writes("PUT"))
    refused = save_section(editor, entry.id, "twofactor", dict(data, tfa_method="none"), token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "no documented way to remove a two-factor method" in html
    assert 'id="tfa_method-error"' in html and len(recorder.writes("PUT")) == writes
    data.update(tfa_method="EMAIL")
    assert save_section(editor, entry.id, "twofactor", data, token).status_code == 200
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.tfa_method == "EMAIL" and stored.tfa_secret == new_secret
    assert "tfa_secret" not in recorder.writes("PUT")[-1]["json"]


def test_session_persistence_blobs_replace_and_clear(editor, sandbox, recorder):
    entry = make_entry(sandbox, local_storage={"old": "1"}, persist_cookies=False)
    token = csrf(editor)
    data = section_form(editor, entry.id, "session")
    data.update(
        persist_cookies="y",
        expiry_time_from_last_use="2 hours",
        expiry_time_from_session_data_set="",
        cookies_action="replace",
        cookies='[{"name": "sid", "value": "v", "domain": ".example.com", "path": "/"}]',
        local_storage_action="clear",
    )
    response = save_section(editor, entry.id, "session", data, token)
    assert response.status_code == 200, response.get_data(as_text=True)[:600]
    [put] = recorder.writes("PUT")
    sent = put["json"]
    assert sent["persist_cookies"] is True and sent["expiry_time_from_last_use"] == "02:00:00"
    assert sent["cookies"][0]["name"] == "sid" and sent["local_storage"] == {}
    assert "session_storage" not in sent and "persist_local_storage" not in sent
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert stored.local_storage == {} and stored.cookies[0]["name"] == "sid"
    bad = dict(data, cookies_action="replace", cookies="{not json")
    refused = save_section(editor, entry.id, "session", bad, token)
    assert refused.status_code == 422 and "Not valid JSON" in refused.get_data(as_text=True)


def test_validation_errors_stay_in_the_section_with_input_kept(editor, sandbox, recorder):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    data.update(max_concurrency="0", allow_multiple_sessions="y")
    response = save_section(editor, entry.id, "concurrency", data, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section class="card" id="section-concurrency"')
    assert "Allow at least 1 concurrent session" in html and 'value="0"' in html
    assert recorder.writes("PUT") == []


def test_conflict_shows_theirs_and_yours_then_save_mine_anyway(editor, sandbox, recorder):
    entry = make_entry(sandbox, allow_multiple_sessions=True, max_concurrency=2)
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    # someone else changes the entry through the official SDK meanwhile
    sdk_for(sandbox).vault.update(
        VaultEntryInput(domain=entry.domain, permissioned_user_id=entry.permissioned_user_id,
                        max_concurrency=9)
    )  # fmt: skip
    data["max_concurrency"] = "4"
    conflict = save_section(editor, entry.id, "concurrency", data, token)
    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert "Someone changed this entry while you were editing." in html
    row = re.search(r"<td>Max concurrent sessions</td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", html)
    assert row and row.groups() == ("9", "4")
    assert recorder.writes("PUT") == []
    assert "Save mine anyway" in html and "Discard mine" in html
    again = dict(data, updated_at=re.search(r'name="updated_at"[^>]*value="([^"]+)"', html)[1])
    saved = save_section(editor, entry.id, "concurrency", again, token)
    assert saved.status_code == 200
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).max_concurrency == 4


def test_conflict_on_stored_browser_state_shows_sizes_never_values(editor, sandbox, recorder):
    entry = make_entry(sandbox, local_storage={"auth_token": "stored-token-value"})
    token = csrf(editor)
    data = section_form(editor, entry.id, "session")
    sdk_for(sandbox).vault.update(
        VaultEntryInput(domain=entry.domain, permissioned_user_id=entry.permissioned_user_id,
                        cookies=[{"name": "sid", "value": "their-cookie-value",
                                  "domain": ".example.com", "path": "/"}])
    )  # fmt: skip
    data.update(
        cookies_action="replace",
        cookies='[{"name": "sid", "value": "my-cookie-value", "domain": ".example.com"}]',
        local_storage_action="clear",
    )
    conflict = save_section(editor, entry.id, "session", data, token)
    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409 and "Someone changed this entry" in html
    table = html[
        html.index("conflict-table") : html.index("</table>", html.index("conflict-table"))
    ]
    assert "their-cookie-value" not in table and "stored-token-value" not in table
    assert "my-cookie-value" not in table
    assert re.search(r"Cookies</td>\s*<td><span[^>]*>1 cookie</span>", table)
    assert re.search(r"replace with 1 cookie", table)
    assert re.search(
        r"Local storage</td>\s*<td><span[^>]*>1 key</span></td>\s*<td><span[^>]*>clear", table
    )
    assert recorder.writes("PUT") == []


@pytest.mark.parametrize(
    ("fault", "expected", "applied"),
    [
        ({"kind": "status", "status": 503}, "CloudCruise answered 503", False),
        ({"kind": "status", "status": 500}, "CloudCruise answered 500", False),
        (
            {"kind": "status", "status": 429, "headers": {"Retry-After": "30"}},
            "Retry in 30 s",
            False,
        ),
        ({"kind": "status", "status": 401}, "rejected the API key or the encryption key", False),
        ({"kind": "drop"}, "may or may not have been applied", False),
        # garbage, a dropped connection or a timeout after sending: the write may or may not
        # have happened (the emulator's slow_read applies it first), and the console says so
        ({"kind": "malformed"}, "may or may not have been applied", False),
        ({"kind": "slow_read", "delay": 7}, "may or may not have been applied", True),
    ],
    ids=["503", "500", "429", "401", "dropped", "garbage", "timeout"],
)
def test_upstream_errors_keep_the_form_and_explain(client, auth, sandbox, fault, expected, applied):
    editor = client  # straight to the sandbox: its faults must reach the console unchanged
    auth.login("ed", "editor")
    entry = make_entry(sandbox, allow_multiple_sessions=True)
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    data["max_concurrency"] = "7"
    kind = fault.pop("kind")
    sandbox.faults.add(kind, method="PUT", path="/vault", **fault)
    response = save_section(editor, entry.id, "concurrency", data, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected in html and 'value="7"' in html and 'id="form-concurrency"' in html
    stored = fetch(sandbox, entry.permissioned_user_id, entry.domain).max_concurrency
    assert stored == (7 if applied else None)


def test_entry_deleted_meanwhile_says_so(editor, sandbox):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "concurrency")
    sdk_for(sandbox).vault.delete(
        {"domain": entry.domain, "permissioned_user_id": entry.permissioned_user_id}
    )
    response = save_section(editor, entry.id, "concurrency", data, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "no longer exists" in html and "Back to entries" in html


def test_without_javascript_the_form_posts_and_redirects(recorded_app, sandbox):
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login("nojs", "editor")
    entry = make_entry(sandbox, allow_multiple_sessions=True)
    page = client.get(f"/entries/{entry.id}/sections/concurrency/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    updated_at = re.search(r'name="updated_at" type="hidden" value="([^"]+)"', page)[1]
    response = client.post(
        f"/entries/{entry.id}/sections/concurrency",
        data={"csrf_token": token, "updated_at": updated_at, "allow_multiple_sessions": "y",
              "max_concurrency": "3"},
    )  # fmt: skip
    assert response.status_code == 303
    assert "Saved concurrency" in client.get(response.headers["Location"]).get_data(as_text=True)
    bad = client.post(
        f"/entries/{entry.id}/sections/concurrency",
        data={"csrf_token": token, "max_concurrency": "-1", "allow_multiple_sessions": "y"},
    )
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)


def test_provider_bind_and_unbind(editor, sandbox, recorder):
    sdk = sdk_for(sandbox)
    provider = next(p for p in sdk.secret_providers.list() if sdk.secret_providers.list_items(p.id))
    item = sdk.secret_providers.list_items(provider.id)[0]
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "provider")
    data.update(binding="provider", secret_provider_id=provider.id, secret_ref=item.ref,
                secret_cache_ttl_seconds="300")  # fmt: skip
    response = save_section(editor, entry.id, "provider", data, token)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    sent = recorder.writes("PUT")[-1]["json"]
    assert sent["secret_provider_id"] == provider.id and "password" not in sent
    bound = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert bound.secret_ref == item.ref and bound.secret_cache_ttl_seconds == 300
    # the API documents no way to unbind (null is documented for three other fields only):
    # refused beside the choice, with nothing sent and the binding kept
    data = section_form(editor, entry.id, "provider")
    data.update(binding="stored", user_name="back@example.com", password="Back-in-vault-1")
    writes = len(recorder.writes("PUT"))
    refused = save_section(editor, entry.id, "provider", data, token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="binding-error"' in html
    assert "no documented way to unbind a secret provider" in html
    assert len(recorder.writes("PUT")) == writes
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).secret_ref == item.ref


def test_a_secret_asked_for_again_cannot_be_dropped_silently(editor, sandbox, recorder):
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "credentials")
    data.update(user_alias="x" * 300, password="Brand-new-pass-1")  # alias too long: refused
    refused = save_section(editor, entry.id, "credentials", data, token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Brand-new-pass-1" not in html
    again = form_fields(html, "form-credentials")
    assert again["retype"] == "New password" and again.get("password", "") == ""
    again["user_alias"] = "Fixed alias"
    blocked = save_section(editor, entry.id, "credentials", again, token)
    assert blocked.status_code == 422
    assert "Enter the new password again (it was not saved), or Cancel." in blocked.get_data(True)
    assert recorder.writes("PUT") == []
    again["password"] = "Brand-new-pass-1"
    assert save_section(editor, entry.id, "credentials", again, token).status_code == 200
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).password == "Brand-new-pass-1"


def test_binding_a_provider_refreshes_the_credentials_section_too(editor, sandbox):
    sdk = sdk_for(sandbox)
    provider = next(p for p in sdk.secret_providers.list() if sdk.secret_providers.list_items(p.id))
    item = sdk.secret_providers.list_items(provider.id)[0]
    entry = make_entry(sandbox)
    token = csrf(editor)
    data = section_form(editor, entry.id, "provider")
    data.update(binding="provider", secret_provider_id=provider.id, secret_ref=item.ref)
    html = save_section(editor, entry.id, "provider", data, token).get_data(as_text=True)
    assert re.search(r'<section hx-swap-oob="true" [^>]*id="section-credentials"', html)
    assert "Resolved from 1Password at run time" in html
