"""Destructive entry actions in real Chromium: delete (admins) and clear browser state."""

from __future__ import annotations

import re

from cloudcruise.vault.types import GetVaultEntriesFilters
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import fetch, make_entry, sdk_for

UNPROCESSABLE = (
    "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
)
COOKIE = {
    "name": "sid", "value": "v", "domain": ".example-health.com", "path": "/",
    "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
    "storeId": "0", "sameSite": "lax",
}  # fmt: skip


def _stored(sandbox, pid: str) -> list:
    everything = sdk_for(sandbox).vault.get(GetVaultEntriesFilters(decryptCredentials=False))
    return [e for e in everything if e.permissioned_user_id == pid]


def test_admin_deletes_an_entry_after_typing_its_user_id(page, live_server, auth, sandbox):
    pid = unique("del")
    entry = make_entry(sandbox, permissioned_user_id=pid, user_alias=f"Doomed {pid}")
    sign_in(page, live_server, auth, "ada", "admin")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    danger = page.locator("#section-danger")
    expect(danger.get_by_role("heading", name="Delete entry")).to_be_visible()
    page.evaluate("window.__marker = 'same document'")
    confirm = danger.get_by_label(re.compile(r"^Type .+ to confirm$"))

    confirm.fill(f"{pid}-typo")
    danger.get_by_role("button", name="Delete this entry").click()
    expect(danger.locator(".field-error")).to_have_text(
        "Type the permissioned user id exactly to confirm."
    )
    expect(confirm).to_have_value(f"{pid}-typo")  # swapped in place, typed text kept
    expect(confirm).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__marker") == "same document"
    assert len(_stored(sandbox, pid)) == 1

    confirm.fill(pid)
    danger.get_by_role("button", name="Delete this entry").click()
    expect(page).to_have_url(re.compile(r"/entries$"))
    expect(page.locator(".flashes")).to_have_text(
        f"Deleted Doomed {pid} ({pid} on {entry.domain})."
    )
    assert _stored(sandbox, pid) == []
    page.get_by_placeholder("Search alias, permissioned user or domain").fill(pid)
    expect(page.locator("#entry-results tbody")).to_contain_text(f"No entries match “{pid}”.")
    # the wrong id was answered 422 by design; Chromium logs that, nothing else may appear
    assert page.console_errors == [UNPROCESSABLE]


def test_editor_clears_browser_state_through_the_styled_confirm_dialog(
    page, live_server, auth, sandbox
):
    entry = make_entry(
        sandbox,
        permissioned_user_id=unique("clr"),
        user_alias="Cookie jar",
        persist_cookies=True,
        cookies=[COOKIE],
        local_storage={"theme": "dark"},
    )
    sign_in(page, live_server, auth, "ed", "editor")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    # editors have no delete section (admins only)
    expect(page.get_by_role("heading", name="Delete entry")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete this entry")).to_have_count(0)

    session = page.locator("#section-session")
    expect(session.locator("td.mono").first).to_have_text("sid")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).not_to_be_visible()

    session.get_by_role("button", name="Clear browser state").click()  # cancelled first
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Clear the stored cookies and storage of Cookie jar?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).not_to_be_visible()
    expect(session.locator("td.mono").first).to_have_text("sid")
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).cookies  # untouched

    session.get_by_role("button", name="Clear browser state").click()
    expect(dialog).to_be_visible()
    ok = dialog.get_by_role("button", name="Clear browser state")
    expect(ok).to_have_id("confirm-ok")
    ok.click()
    expect(dialog).not_to_be_visible()
    expect(session.get_by_text("No cookies stored.")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text(
        "Browser state cleared: the next run signs in from scratch."
    )
    expect(session.get_by_role("button", name="Clear browser state")).to_have_count(0)
    after = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert after.cookies == [] and after.local_storage in ({}, None)
    assert page.console_errors == []
