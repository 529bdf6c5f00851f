"""Click-to-edit sections of the entry detail page in real Chromium.

Every section (credentials, two-factor, session persistence, concurrency, proxy, secret
provider) turns into a form in place (htmx swap, no page load), saves back to view mode with
a toast, and the change is read back through the official SDK, an independent client.
Cancel / Escape, validation errors, conflicts with a concurrent SDK write, upstream faults
and in-flight double submits are covered too.

422 (validation, upstream failure) and 409 (conflict) are answered on purpose (htmx swaps
them in place); Chromium logs one console error per such response. Nothing else may be
logged: no script errors, no CSP violations.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict

import pyotp
import pytest
from cloudcruise.vault.types import VaultEntryInput
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import fetch, make_entry, sdk_for

UNPROCESSABLE = (
    "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
)
CONFLICT = "Failed to load resource: the server responded with a status of 409 (CONFLICT)"
MARKER = "same document"
CONFLICT_TEXT = "Someone changed this entry while you were editing."


# -- helpers ----------------------------------------------------------------------------
def _open_entry(page: Page, live_server, auth, entry, user: str = "edna") -> None:
    """Sign in as an editor, open the entry's detail page and mark the document."""
    sign_in(page, live_server, auth, user, "editor")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.evaluate(f"window.__marker = {MARKER!r}")


def _same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"


def _card(page: Page, section: str) -> Locator:
    return page.locator(f"#section-{section}")


def _edit(page: Page, section: str) -> Locator:
    """Click the section's Edit link; return its form (swapped in place)."""
    card = _card(page, section)
    url = page.url
    card.get_by_role("link", name=f"Edit {section}").click()
    form = card.locator(f"form#form-{section}")
    expect(form).to_be_visible()
    expect(form.get_by_role("button", name="Save")).to_be_enabled()
    expect(form.get_by_role("link", name="Cancel")).to_be_visible()
    expect(card.get_by_role("link", name=f"Edit {section}")).to_have_count(0)
    assert page.url == url
    _same_document(page)
    return form


def _in_view_mode(page: Page, section: str) -> Locator:
    card = _card(page, section)
    expect(card.locator(f"#form-{section}")).to_have_count(0)
    expect(card.get_by_role("link", name=f"Edit {section}")).to_be_visible()
    return card


def _value(card: Locator, label: str) -> Locator:
    """The <dd> beside the <dt> ``label`` in a section's view mode."""
    return card.locator(f"xpath=.//dt[normalize-space()='{label}']/following-sibling::dd[1]")


def _stored(sandbox, entry):
    return fetch(sandbox, entry.permissioned_user_id, entry.domain)


def _snapshot(sandbox, entry) -> dict:
    """Everything the SDK reads back (decrypted): equal before and after = nothing saved."""
    return asdict(_stored(sandbox, entry))


def _sdk_update(sandbox, entry, **fields) -> None:
    sdk_for(sandbox).vault.update(
        VaultEntryInput(
            domain=entry.domain, permissioned_user_id=entry.permissioned_user_id, **fields
        )
    )


def _toast(page: Page) -> Locator:
    return page.locator("#toasts")


def _provider(sandbox):
    """The seeded 1Password connection that has items, and its items."""
    sdk = sdk_for(sandbox)
    provider = next(p for p in sdk.secret_providers.list() if p.name == "Engineering 1Password")
    items = sdk.secret_providers.list_items(provider.id)
    return provider, items


# -- happy paths, one per section ---------------------------------------------------------
def test_credentials_save_alias_username_and_password(page, live_server, auth, sandbox):
    tag = unique("edcred")
    entry = make_entry(sandbox, permissioned_user_id=tag, user_alias=f"Before {tag}")
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "credentials")
    alias = form.get_by_label("Alias")
    expect(alias).to_have_value(f"Before {tag}")
    expect(alias).to_be_focused()  # autofocus in the swapped-in form
    expect(form.get_by_label("New password")).to_have_value("")  # secrets never prefilled
    expect(form.get_by_label("New username")).to_have_value("")
    alias.fill(f"After {tag}")
    form.get_by_label("New username").fill("new.user@example.com")
    form.get_by_label("New password").fill("N3w pass-phrase!")
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "credentials")
    expect(_value(card, "Alias")).to_have_text(f"After {tag}")
    expect(_toast(page)).to_contain_text("Saved credentials: Password, Alias, Username.")
    # the page header is refreshed out of band
    expect(page.get_by_role("heading", level=1)).to_have_text(f"After {tag}")
    expect(card.get_by_label("password hidden")).to_be_visible()
    assert "N3w pass-phrase!" not in page.content()
    stored = _stored(sandbox, entry)
    assert stored.password == "N3w pass-phrase!"
    assert stored.user_name == "new.user@example.com"
    assert stored.user_alias == f"After {tag}"
    _same_document(page)
    assert page.console_errors == []


def test_two_factor_previews_the_code_then_saves_the_secret(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("edtfa"))
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "twofactor")
    method = form.get_by_label("Two-factor method")
    expect(method).to_have_value("none")
    method.select_option(label="Authenticator app (TOTP)")
    secret = pyotp.random_base32()
    assert len(secret) == 32
    form.get_by_label("New TFA secret").press_sequentially(secret)
    preview = form.locator("#tfa-preview")
    expect(preview).to_have_text(
        re.compile(r"^Current code from this secret: \d{6} \(\d+ s left\)$")
    )
    shown = re.search(r"(\d{6})", preview.inner_text())[1]
    now = time.time()
    assert shown in {pyotp.TOTP(secret).at(now + d) for d in (-30, 0, 30)}
    assert secret not in preview.inner_text()
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "twofactor")
    expect(_value(card, "Two-factor method")).to_have_text("Authenticator app (TOTP)")
    expect(card.get_by_label("TFA secret hidden")).to_be_visible()
    expect(_toast(page)).to_contain_text(
        "Saved two-factor settings: Two-factor method, TFA secret."
    )
    expect(page.locator("#entry-head")).to_contain_text("Authenticator")  # header badge
    assert secret not in page.content()
    stored = _stored(sandbox, entry)
    assert stored.tfa_method == "AUTHENTICATOR" and stored.tfa_secret == secret
    _same_document(page)
    assert page.console_errors == []


def test_session_persistence_flags_expiry_and_cookies(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("edses"))
    _open_entry(page, live_server, auth, entry)
    card = _card(page, "session")
    expect(_value(card, "Expire after last use")).to_have_text("No expiry")
    form = _edit(page, "session")
    form.get_by_label("Cookies", exact=True).check()
    form.get_by_label("Local storage", exact=True).check()
    expect(form.get_by_label("Session storage", exact=True)).not_to_be_checked()
    form.get_by_label("Expire after last use").press_sequentially("2 hours")
    expect(form.locator("#expiry_time_from_last_use-preview")).to_have_text("= 2 h")
    cookies = form.get_by_role("group", name=re.compile(r"^Stored cookies"))
    cookies.get_by_label("Replace with").check()
    cookie = {"name": f"sid-{entry.permissioned_user_id}", "value": "v",
              "domain": ".example-health.com", "path": "/"}  # fmt: skip
    form.get_by_label("Cookies (JSON)").fill(json.dumps([cookie]))
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "session")
    expect(_value(card, "Expire after last use")).to_have_text(re.compile(r"^2 h\s+02:00:00$"))
    persist = _value(card, "Persist")
    expect(persist).to_contain_text("✓ Cookies")
    expect(persist).to_contain_text("✓ Local storage")
    expect(persist).to_contain_text("✕ Session storage")
    expect(card.locator("td.mono").first).to_have_text(cookie["name"])
    expect(_toast(page)).to_contain_text(
        "Saved session persistence: Cookies, Expire after last use, Persist cookies, "
        "Persist local storage."
    )
    stored = _stored(sandbox, entry)
    assert stored.persist_cookies is True and stored.persist_local_storage is True
    assert not stored.persist_session_storage
    assert stored.expiry_time_from_last_use == "02:00:00"
    assert [c["name"] for c in stored.cookies] == [cookie["name"]]
    _same_document(page)
    assert page.console_errors == []


def test_concurrency_allows_multiple_sessions_with_a_limit(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("edcon"))
    _open_entry(page, live_server, auth, entry)
    expect(_value(_card(page, "concurrency"), "Allow multiple sessions")).to_have_text("No")
    form = _edit(page, "concurrency")
    form.get_by_label("Allow multiple sessions").check()
    form.get_by_label("Max concurrent sessions").fill("4")
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "concurrency")
    expect(_value(card, "Allow multiple sessions")).to_have_text("Yes")
    expect(_value(card, "Max concurrent sessions")).to_have_text("4")
    expect(_toast(page)).to_contain_text(
        "Saved concurrency: Allow multiple sessions, Max concurrent sessions."
    )
    stored = _stored(sandbox, entry)
    assert stored.allow_multiple_sessions is True and stored.max_concurrency == 4
    # the History section reloads after the change (entry-changed event)
    expect(page.locator("#entry-history")).to_contain_text("max_concurrency")
    _same_document(page)
    assert page.console_errors == []


def test_proxy_custom_url_is_saved_encrypted_and_never_shown(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("edprx"))
    url = "socks5://agent:s3cret-pw@proxy.example.net:1080"
    _open_entry(page, live_server, auth, entry)
    expect(_value(_card(page, "proxy"), "Proxy mode")).to_have_text("No proxy")
    form = _edit(page, "proxy")
    form.get_by_label("Proxy mode").select_option(label="Custom proxy URL")
    expect(form.get_by_text(re.compile(r"^Custom: a proxy URL such as"))).to_be_visible()
    form.get_by_label("Proxy value").fill(url)
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "proxy")
    expect(_value(card, "Proxy mode")).to_have_text("Custom proxy URL")
    expect(card.get_by_label("proxy URL hidden")).to_be_visible()
    expect(_value(card, "Assigned proxy")).to_have_text(
        "proxy.example.net:1080"
    )  # host:port, never the credentials
    expect(_toast(page)).to_contain_text("Saved proxy: Proxy mode, Proxy value.")
    expect(page.locator("#entry-head")).to_contain_text("Custom")
    assert "s3cret-pw" not in page.content()
    stored = _stored(sandbox, entry)
    assert stored.proxy_setting == "custom" and stored.proxy_value == url
    _same_document(page)
    assert page.console_errors == []


def test_provider_binds_to_a_1password_item_through_the_pickers(page, live_server, auth, sandbox):
    provider, items = _provider(sandbox)
    item = items[0]
    entry = make_entry(sandbox, permissioned_user_id=unique("edpvd"))
    _open_entry(page, live_server, auth, entry)
    expect(_card(page, "provider")).to_contain_text("Not bound to a secret provider")
    form = _edit(page, "provider")
    stored_radio = form.get_by_label("Stored in the vault")
    expect(stored_radio).to_be_checked()
    connection = form.get_by_label("Provider connection")
    expect(connection).to_be_hidden()  # only shown for the provider binding
    form.get_by_label("A 1Password item").check()
    expect(connection).to_be_visible()
    expect(form.get_by_label("Password", exact=True)).to_be_hidden()  # stored-only fields
    item_picker = form.get_by_label("1Password item", exact=True)
    expect(item_picker.locator("option")).to_have_text(["Choose an item…"])
    connection.select_option(label="Engineering 1Password")
    # the item picker is reloaded for the chosen connection
    label = f"{item.title} ({item.vaultName})" if item.vaultName else item.title
    expect(item_picker.locator("option")).to_have_count(len(items) + 1)
    item_picker.select_option(label=label)
    form.get_by_label("Cache time (seconds)").fill("300")
    form.get_by_role("button", name="Save").click()

    card = _in_view_mode(page, "provider")
    expect(_value(card, "Provider connection")).to_have_text(provider.id)
    expect(_value(card, "Item reference")).to_have_text(item.ref)
    expect(_value(card, "Cache time")).to_have_text("300 s")
    expect(page.locator("#entry-head")).to_contain_text("1Password")
    expect(_toast(page)).to_contain_text(
        "Saved secret provider: Cache time, Provider connection, Item reference."
    )
    stored = _stored(sandbox, entry)
    assert stored.secret_provider_id == provider.id and stored.secret_ref == item.ref
    assert stored.secret_cache_ttl_seconds == 300
    _same_document(page)
    assert page.console_errors == []


# -- Cancel and Escape restore the view without saving ------------------------------------
def _change_credentials(form: Locator) -> None:
    form.get_by_label("Alias").fill("Should not be saved")
    form.get_by_label("New password").fill("Not-saved-1!")


def _change_twofactor(form: Locator) -> None:
    form.get_by_label("Two-factor method").select_option(label="SMS code")


def _change_session(form: Locator) -> None:
    form.get_by_label("Cookies", exact=True).check()
    form.get_by_label("Expire after last use").fill("3 days")


def _change_concurrency(form: Locator) -> None:
    form.get_by_label("Allow multiple sessions").check()
    form.get_by_label("Max concurrent sessions").fill("8")


def _change_proxy(form: Locator) -> None:
    form.get_by_label("Proxy mode").select_option(label="Country (managed)")
    form.get_by_label("Proxy value").fill("DE")


def _change_provider(form: Locator) -> None:
    form.get_by_label("A 1Password item").check()
    form.get_by_label("Provider connection").select_option(label="Engineering 1Password")
    form.get_by_label("Cache time (seconds)").fill("60")


CHANGES: dict[str, Callable[[Locator], None]] = {
    "credentials": _change_credentials,
    "twofactor": _change_twofactor,
    "session": _change_session,
    "concurrency": _change_concurrency,
    "proxy": _change_proxy,
    "provider": _change_provider,
}


@pytest.mark.parametrize("section", list(CHANGES))
def test_cancel_and_escape_restore_the_view_without_saving(
    page, live_server, auth, sandbox, section
):
    entry = make_entry(sandbox, permissioned_user_id=unique(f"esc{section[:3]}"))
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    view_html = _card(page, section).inner_text()

    form = _edit(page, section)
    CHANGES[section](form)
    form.get_by_role("link", name="Cancel").click()
    card = _in_view_mode(page, section)
    assert card.inner_text() == view_html

    form = _edit(page, section)
    CHANGES[section](form)
    # Escape while typing in the form's first field
    form.locator("input:not([type=hidden]), select").first.press("Escape")
    card = _in_view_mode(page, section)
    assert card.inner_text() == view_html

    expect(_toast(page).locator(".toast")).to_have_count(0)
    assert _snapshot(sandbox, entry) == before
    _same_document(page)
    assert page.console_errors == []


# -- validation errors stay beside the field, input kept, nothing sent --------------------
def _assert_field_error(form: Locator, field: Locator, message: str) -> None:
    expect(field).to_have_attribute("aria-invalid", "true")
    field_id = field.get_attribute("id")
    error = form.locator(f"#{field_id}-error")
    expect(error).to_have_text(message)
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
    # beside the field: in the same .field wrapper, right after the input (and its hint)
    expect(form.locator(f".field.has-error:has(#{field_id}) > .field-error")).to_have_text(message)
    expect(form.get_by_role("alert")).to_contain_text(
        "Not saved: see the messages beside the fields."
    )


def test_proxy_static_private_ip_is_refused_beside_the_field(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("valprx"))
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "proxy")
    form.get_by_label("Proxy mode").select_option(label="Static IP (managed)")
    form.get_by_label("Proxy value").fill("10.0.0.1")
    form.get_by_role("button", name="Save").click()

    value = form.get_by_label("Proxy value")
    _assert_field_error(
        form, value, "The target IP must be a public address, not a private or loopback one."
    )
    expect(value).to_have_value("10.0.0.1")
    expect(form.get_by_label("Proxy mode")).to_have_value("static")
    assert _snapshot(sandbox, entry) == before
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_concurrency_zero_is_refused_beside_the_field(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("valcon"), allow_multiple_sessions=True)
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    form.get_by_label("Max concurrent sessions").fill("0")
    form.get_by_role("button", name="Save").click()

    limit = form.get_by_label("Max concurrent sessions")
    _assert_field_error(
        form, limit, "Allow at least 1 concurrent session (or leave empty for unlimited)."
    )
    expect(limit).to_have_value("0")
    expect(form.get_by_label("Allow multiple sessions")).to_be_checked()
    assert _snapshot(sandbox, entry) == before
    # fixing the value saves
    limit.fill("3")
    form.get_by_role("button", name="Save").click()
    expect(_value(_in_view_mode(page, "concurrency"), "Max concurrent sessions")).to_have_text("3")
    assert _stored(sandbox, entry).max_concurrency == 3
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_two_factor_bad_secret_is_refused_and_must_be_typed_again(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("valtfa"))
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "twofactor")
    form.get_by_label("Two-factor method").select_option(label="Authenticator app (TOTP)")
    secret = form.get_by_label("New TFA secret")
    secret.press_sequentially("not-base32-at-all!")
    expect(form.locator("#tfa-preview")).to_have_text(
        "The TFA secret must be base32: letters A–Z and digits 2–7."
    )
    form.get_by_role("button", name="Save").click()

    _assert_field_error(form, secret, "The TFA secret must be base32: letters A–Z and digits 2–7.")
    expect(form.get_by_label("Two-factor method")).to_have_value("AUTHENTICATOR")
    # a secret is never sent back to the browser: the form says to type it again
    expect(secret).to_have_value("")
    expect(form.get_by_role("status")).to_contain_text(
        "Secrets are never sent back to your browser: enter the new TFA secret again, or Cancel"
    )
    assert _snapshot(sandbox, entry) == before
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_session_bad_interval_is_refused_beside_the_field(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("valses"))
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "session")
    form.get_by_label("Cookies", exact=True).check()
    expiry = form.get_by_label("Expire after last use")
    expiry.press_sequentially("2 fortnights")
    message = "“fortnights” is not a unit PostgreSQL knows (use days, hours, …)."
    expect(form.locator("#expiry_time_from_last_use-preview")).to_have_text(message)
    form.get_by_role("button", name="Save").click()

    _assert_field_error(form, expiry, message)
    expect(expiry).to_have_value("2 fortnights")
    expect(form.get_by_label("Cookies", exact=True)).to_be_checked()
    assert _snapshot(sandbox, entry) == before
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_provider_without_a_connection_is_refused(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("valpvd"))
    before = _snapshot(sandbox, entry)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "provider")
    form.get_by_label("A 1Password item").check()
    form.get_by_label("Cache time (seconds)").fill("120")
    form.get_by_role("button", name="Save").click()

    _assert_field_error(
        form, form.get_by_label("Provider connection"), "Choose the 1Password connection."
    )
    expect(form.get_by_label("A 1Password item")).to_be_checked()
    expect(form.get_by_label("Cache time (seconds)")).to_have_value("120")
    assert _snapshot(sandbox, entry) == before
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


# -- conflicts with a concurrent write through the official SDK ---------------------------
def _conflict_row(form: Locator, field: str) -> Locator:
    panel = form.locator(".conflict")
    expect(panel).to_have_attribute("role", "alert")
    expect(panel).to_contain_text(CONFLICT_TEXT)
    expect(panel.get_by_role("columnheader")).to_have_text(["Field", "Stored now", "Yours"])
    return panel.get_by_role("row").filter(
        has=form.page.get_by_role("cell", name=field, exact=True)
    )


def test_conflict_save_mine_anyway_overwrites(page, live_server, auth, sandbox):
    entry = make_entry(
        sandbox, permissioned_user_id=unique("cfsave"), allow_multiple_sessions=True,
        max_concurrency=2,
    )  # fmt: skip
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    _sdk_update(sandbox, entry, max_concurrency=9)  # someone else, meanwhile
    form.get_by_label("Max concurrent sessions").fill("4")
    form.get_by_role("button", name="Save").click()

    row = _conflict_row(form, "Max concurrent sessions")
    expect(row.get_by_role("cell")).to_have_text(["Max concurrent sessions", "9", "4"])
    expect(form.get_by_label("Max concurrent sessions")).to_have_value("4")
    assert _stored(sandbox, entry).max_concurrency == 9  # nothing overwritten yet
    expect(form.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    form.get_by_role("button", name="Save mine anyway").click()

    card = _in_view_mode(page, "concurrency")
    expect(_value(card, "Max concurrent sessions")).to_have_text("4")
    expect(_toast(page)).to_contain_text("Saved concurrency: Max concurrent sessions.")
    assert _stored(sandbox, entry).max_concurrency == 4
    _same_document(page)
    assert page.console_errors == [CONFLICT]


def test_conflict_discard_mine_shows_the_stored_value(page, live_server, auth, sandbox):
    entry = make_entry(
        sandbox, permissioned_user_id=unique("cfdisc"), allow_multiple_sessions=True,
        max_concurrency=2,
    )  # fmt: skip
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    _sdk_update(sandbox, entry, max_concurrency=9)
    form.get_by_label("Max concurrent sessions").fill("4")
    form.get_by_role("button", name="Save").click()
    expect(_conflict_row(form, "Max concurrent sessions").get_by_role("cell")).to_have_text(
        ["Max concurrent sessions", "9", "4"]
    )
    form.get_by_role("link", name="Discard mine").click()

    card = _in_view_mode(page, "concurrency")
    expect(_value(card, "Max concurrent sessions")).to_have_text("9")
    assert _stored(sandbox, entry).max_concurrency == 9
    _same_document(page)
    assert page.console_errors == [CONFLICT]


def test_conflict_on_proxy_lists_stored_and_typed_values(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("cfprx"))
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "proxy")
    _sdk_update(sandbox, entry, proxy_setting="country", proxy_value="FR")
    form.get_by_label("Proxy mode").select_option(label="Static IP (managed)")
    form.get_by_label("Proxy value").fill("203.0.113.10")
    form.get_by_role("button", name="Save").click()

    expect(_conflict_row(form, "Proxy mode").get_by_role("cell")).to_have_text(
        ["Proxy mode", "Country (managed)", "Static IP (managed)"]
    )
    expect(_conflict_row(form, "Proxy value").get_by_role("cell")).to_have_text(
        ["Proxy value", "FR", "203.0.113.10"]
    )
    form.get_by_role("button", name="Save mine anyway").click()
    card = _in_view_mode(page, "proxy")
    expect(_value(card, "Proxy mode")).to_have_text("Static IP (managed)")
    expect(_value(card, "Static IP")).to_have_text("203.0.113.10")
    stored = _stored(sandbox, entry)
    assert stored.proxy_setting == "static" and stored.proxy_value == "203.0.113.10"
    _same_document(page)
    assert page.console_errors == [CONFLICT]


def test_conflict_on_credentials_marks_secrets_and_asks_to_retype(page, live_server, auth, sandbox):
    tag = unique("cfcred")
    entry = make_entry(sandbox, permissioned_user_id=tag, user_alias=f"Start {tag}")
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "credentials")
    _sdk_update(sandbox, entry, user_alias=f"Theirs {tag}")
    form.get_by_label("Alias").fill(f"Mine {tag}")
    form.get_by_label("New password").fill("Mine-pass-2!")
    form.get_by_role("button", name="Save").click()

    expect(_conflict_row(form, "Alias").get_by_role("cell")).to_have_text(
        ["Alias", f"Theirs {tag}", f"Mine {tag}"]
    )
    # secrets are compared as markers only, never by value
    expect(_conflict_row(form, "Password").get_by_role("cell")).to_have_text(
        ["Password", "set", "new value"]
    )
    assert "Corr3ct-Horse!" not in page.content() and "Mine-pass-2!" not in page.content()
    expect(form.get_by_label("Alias")).to_have_value(f"Mine {tag}")
    expect(form.get_by_role("status")).to_contain_text("enter the new password again")
    form.get_by_label("New password").fill("Mine-pass-2!")
    form.get_by_role("button", name="Save mine anyway").click()

    card = _in_view_mode(page, "credentials")
    expect(_value(card, "Alias")).to_have_text(f"Mine {tag}")
    expect(_toast(page)).to_contain_text("Saved credentials: Password, Alias.")
    stored = _stored(sandbox, entry)
    assert stored.user_alias == f"Mine {tag}" and stored.password == "Mine-pass-2!"
    _same_document(page)
    assert page.console_errors == [CONFLICT]


# -- upstream faults: banner with Retry inside the section, input kept --------------------
def test_upstream_503_shows_retry_in_the_section_and_retry_saves(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("flt"), allow_multiple_sessions=True)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    form.get_by_label("Max concurrent sessions").fill("7")
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    form.get_by_role("button", name="Save").click()

    banner = form.locator(".banner-error")
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("CloudCruise answered 503")
    expect(banner).to_contain_text("Your input is kept")
    retry = banner.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(form.get_by_label("Max concurrent sessions")).to_have_value("7")
    expect(form.get_by_label("Allow multiple sessions")).to_be_checked()
    assert _stored(sandbox, entry).max_concurrency is None
    assert sandbox.faults.list() == []  # consumed
    retry.click()

    card = _in_view_mode(page, "concurrency")
    expect(_value(card, "Max concurrent sessions")).to_have_text("7")
    expect(_toast(page)).to_contain_text("Saved concurrency: Max concurrent sessions.")
    assert _stored(sandbox, entry).max_concurrency == 7
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_upstream_503_on_session_keeps_checkboxes_and_interval(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("fltses"))
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "session")
    form.get_by_label("Session storage", exact=True).check()
    form.get_by_label("Expire after the session is saved").fill("7 days")
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    form.get_by_role("button", name="Save").click()

    banner = form.locator(".banner-error")
    expect(banner).to_contain_text("CloudCruise answered 503")
    expect(form.get_by_label("Session storage", exact=True)).to_be_checked()
    expect(form.get_by_label("Expire after the session is saved")).to_have_value("7 days")
    banner.get_by_role("button", name="Retry").click()

    card = _in_view_mode(page, "session")
    expect(_value(card, "Expire after the session is saved")).to_have_text(
        re.compile(r"^7 d\s+7 days$")
    )
    expect(_value(card, "Persist")).to_contain_text("✓ Session storage")
    stored = _stored(sandbox, entry)
    assert stored.persist_session_storage is True
    assert stored.expiry_time_from_session_data_set == "7 days"
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


def test_upstream_503_on_credentials_asks_for_the_password_again(page, live_server, auth, sandbox):
    tag = unique("fltcred")
    entry = make_entry(sandbox, permissioned_user_id=tag, user_alias=f"Old {tag}")
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "credentials")
    form.get_by_label("Alias").fill(f"New {tag}")
    form.get_by_label("New password").fill("Retry-me-1!")
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    form.get_by_role("button", name="Save").click()

    banner = form.locator(".banner-error")
    expect(banner).to_contain_text("CloudCruise answered 503")
    expect(form.get_by_label("Alias")).to_have_value(f"New {tag}")
    # the password is a secret: never sent back, the form asks for it again
    expect(form.get_by_label("New password")).to_have_value("")
    expect(form.get_by_role("status")).to_contain_text("enter the new password again")
    form.get_by_label("New password").fill("Retry-me-1!")
    banner.get_by_role("button", name="Retry").click()

    card = _in_view_mode(page, "credentials")
    expect(_value(card, "Alias")).to_have_text(f"New {tag}")
    stored = _stored(sandbox, entry)
    assert stored.password == "Retry-me-1!" and stored.user_alias == f"New {tag}"
    _same_document(page)
    assert page.console_errors == [UNPROCESSABLE]


# -- no double submits while a save is in flight -------------------------------------------
def test_save_button_is_disabled_while_the_save_is_in_flight(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("slow"), allow_multiple_sessions=True)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    limit = form.get_by_label("Max concurrent sessions")
    limit.fill("6")
    sandbox.faults.add("latency", delay=1.5, method="PUT", path="/vault", times=1)
    save = form.get_by_role("button", name="Save")
    started = time.monotonic()
    save.click()
    expect(save).to_be_disabled(timeout=1_000)
    expect(form.locator("#save-spinner-concurrency")).to_be_visible()
    # a second submit (Enter in the field: implicit submission) must not go out
    limit.press("Enter")
    card = _in_view_mode(page, "concurrency")
    assert time.monotonic() - started >= 1.4  # the view came back only after the slow PUT
    expect(_value(card, "Max concurrent sessions")).to_have_text("6")
    expect(_toast(page).locator(".toast")).to_have_count(1)
    assert _stored(sandbox, entry).max_concurrency == 6
    # a double submit would have been answered 409 (stale updated_at) or saved twice
    page.wait_for_load_state("networkidle")
    expect(_card(page, "concurrency").locator(".conflict")).to_have_count(0)
    assert page.console_errors == []
    _same_document(page)


def test_every_submit_button_is_disabled_while_a_retry_is_in_flight(
    page, live_server, auth, sandbox
):
    """After an upstream failure the form has two submit buttons (the banner's Retry and
    Save); a save in flight must disable both, as it does for Save alone."""
    entry = make_entry(sandbox, permissioned_user_id=unique("slowr"), allow_multiple_sessions=True)
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "concurrency")
    form.get_by_label("Max concurrent sessions").fill("5")
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    form.get_by_role("button", name="Save").click()
    retry = form.locator(".banner-error").get_by_role("button", name="Retry")
    expect(retry).to_be_visible()

    sandbox.faults.add("latency", delay=1.5, method="PUT", path="/vault", times=1)
    retry.click()
    expect(retry).to_be_disabled(timeout=1_000)
    # the form's own Save button submits the same form: it must not allow a second request
    expect(form.get_by_role("button", name="Save", exact=True)).to_be_disabled(timeout=1_000)
    card = _in_view_mode(page, "concurrency")
    expect(_value(card, "Max concurrent sessions")).to_have_text("5")
    assert _stored(sandbox, entry).max_concurrency == 5
    assert page.console_errors == [UNPROCESSABLE]


def test_inputs_that_do_not_apply_are_hidden(page: Page, live_server, auth, sandbox):
    """No proxy value for Random or No proxy; no limit while one session at a time."""
    entry = make_entry(sandbox, permissioned_user_id=unique("edhide"))
    _open_entry(page, live_server, auth, entry)
    form = _edit(page, "proxy")
    value = form.get_by_label("Proxy value")
    form.get_by_label("Proxy mode").select_option("random")
    expect(value).to_be_hidden()
    form.get_by_label("Proxy mode").select_option("static")
    expect(value).to_be_visible()
    form.get_by_role("link", name="Cancel").click()
    _in_view_mode(page, "proxy")
    form = _edit(page, "concurrency")
    limit = form.get_by_label("Max concurrent sessions")
    expect(limit).to_be_hidden()
    form.get_by_label("Allow multiple sessions").check()
    expect(limit).to_be_visible()
    assert page.console_errors == []
