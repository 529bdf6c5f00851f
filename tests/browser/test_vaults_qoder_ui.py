"""Qoder cloud vaults in real Chromium: provider switcher, cursor pages, live filters and the
editor-only archive with its styled confirmation dialog.

The Qoder emulator is shared by every test on a worker (``other_vaults``), so each test asks
for it before ``live_server`` exists, and the archive test adds its own Support Desk
credential through the emulator's API and reads the result back from there.
"""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.other_vaults_support import add_qoder_credential, qoder_vault_id

MARKER = "same document"
ARCHIVED_TOAST = "Credential archived: agents can no longer use it."


# -- helpers ----------------------------------------------------------------------------
def _rows(page: Page):
    """The credential rows of the vault page (the empty-state row has no id)."""
    return page.locator("#cred-results tbody tr[id^='cred-']")


def _ids(page: Page) -> list[str]:
    return [row.get_attribute("id") for row in _rows(page).all()]


def _status(page: Page, text: str):
    """Status badges (4th column) reading exactly ``text``."""
    return page.locator("#cred-results tbody td:nth-child(4) .badge").filter(
        has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")
    )


def _open_vault(page: Page, live_server, name: str) -> None:
    page.goto(live_server.url + "/qoder")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _pager_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Pages").get_by_role("link", name=name)


def _param(name: str, value: str) -> re.Pattern[str]:
    return re.compile(rf"[?&]{re.escape(name)}={re.escape(value)}(&|$)")


def _emulator_credential(box, vault_id: str, credential_id: str) -> dict:
    response = requests.get(
        f"{box.base_url}/vaults/{vault_id}/credentials/{credential_id}",
        headers={"Authorization": f"Bearer {box.pat}"},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


# -- tests ------------------------------------------------------------------------------
def test_provider_switcher_moves_between_services_and_marks_the_current_one(
    other_vaults, page, live_server, auth
):
    sign_in(page, live_server, auth, "switcher", "viewer")
    switcher = page.get_by_role("group", name="Vault service")
    links = {name: switcher.get_by_role("link", name=name, exact=True) for name in
             ("CloudCruise", "Qoder", "r4")}  # fmt: skip
    expect(links["CloudCruise"]).to_have_attribute("aria-current", "page")

    for name, path, heading in (
        ("Qoder", "/qoder", "Qoder vaults"),
        ("r4", "/r4", "r4 vaults"),
        ("CloudCruise", "/entries", "Vault entries"),
    ):
        links[name].click()
        expect(page).to_have_url(re.compile(rf"{re.escape(path)}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(links[name]).to_have_attribute("aria-current", "page")
        for other in links:
            if other != name:
                expect(links[other]).not_to_have_attribute("aria-current", "page")
    assert page.console_errors == []


def test_qoder_credentials_cursor_pages_live_filters_and_page_size(
    other_vaults, page, live_server, auth
):
    sign_in(page, live_server, auth, "qbrowse", "viewer")
    _open_vault(page, live_server, "Engineering MCP")
    vault_url = page.url

    # cursor pages: 20, 20, 2 (newest first), and back again
    expect(_rows(page)).to_have_count(20)
    first = _ids(page)
    expect(page.get_by_text("‹ Newer")).to_be_visible()
    expect(_pager_link(page, "‹ Newer")).to_have_count(0)  # nothing newer than page 1

    _pager_link(page, "Older ›").click()
    expect(page).to_have_url(re.compile(r"[?&]after_id="))
    expect(_rows(page)).to_have_count(20)
    second = _ids(page)
    assert not set(first) & set(second)

    _pager_link(page, "Older ›").click()
    expect(_rows(page)).to_have_count(2)
    last = _ids(page)
    assert not set(last) & (set(first) | set(second))
    expect(_pager_link(page, "Older ›")).to_have_count(0)  # the end

    _pager_link(page, "‹ Newer").click()
    expect(page).to_have_url(re.compile(r"[?&]before_id="))
    expect(_rows(page)).to_have_count(20)
    assert _ids(page) == second
    _pager_link(page, "‹ Newer").click()
    expect(_rows(page)).to_have_count(20)
    assert _ids(page) == first

    # live MCP-URL search: rows narrow in place and the URL follows
    page.goto(vault_url)
    expect(_rows(page)).to_have_count(20)
    page.evaluate(f"window.__marker = {MARKER!r}")
    search = page.get_by_role("searchbox", name="MCP server URL")
    search.fill("linear")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(["https://mcp.linear.app/sse"])
    expect(page).to_have_url(_param("name", "linear"))
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"

    search.fill("")
    expect(_rows(page)).to_have_count(20)
    expect(_status(page, "archived")).to_have_count(0)

    # include archived: archived credentials join the list
    archived = page.get_by_role("checkbox", name="Include archived")
    archived.check()
    expect(page).to_have_url(_param("include_archived", "1"))
    expect(_status(page, "archived").first).to_be_visible()
    archived.uncheck()
    expect(page).not_to_have_url(re.compile(r"include_archived=1"))
    expect(_status(page, "archived")).to_have_count(0)

    # page size 50: all 42 active credentials on one page, no further page
    page.get_by_role("combobox", name="Page size").select_option(label="50 per page")
    expect(page).to_have_url(_param("limit", "50"))
    expect(_rows(page)).to_have_count(42)
    expect(_status(page, "active")).to_have_count(42)
    expect(_pager_link(page, "Older ›")).to_have_count(0)
    archived.check()
    expect(_rows(page)).to_have_count(46)
    expect(_status(page, "archived")).to_have_count(4)
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"
    assert page.console_errors == []


def test_editor_archives_through_the_styled_dialog_cancel_keeps_it_viewer_sees_no_button(
    other_vaults, page, live_server, auth
):
    box = other_vaults["qoder"]
    posts: list[str] = []
    page.on(
        "request",
        lambda req: req.method == "POST" and req.url.endswith("/archive") and posts.append(req.url),
    )
    vault_id = qoder_vault_id(box, "Support Desk")
    credential_id, url = add_qoder_credential(box, vault_id)
    sign_in(page, live_server, auth, "qeditor", "editor")
    _open_vault(page, live_server, "Support Desk")
    assert page.url.rstrip("/").endswith(vault_id)
    row = page.locator(f"#cred-{credential_id}")
    expect(row.locator("td").first.locator(".mono").first).to_have_text(url)
    page.evaluate(f"window.__marker = {MARKER!r}")
    dialog = page.locator("#confirm-dialog")

    # Cancel: the dialog closes and nothing is archived
    row.get_by_role("button", name="Archive").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-message")).to_contain_text(f"Archive the credential for {url}?")
    expect(dialog.locator("#confirm-ok")).to_have_text("Archive")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("td:nth-child(4)")).to_have_text("active")
    expect(row.get_by_role("button", name="Archive")).to_be_enabled()
    assert posts == []
    assert not _emulator_credential(box, vault_id, credential_id).get("archived_at")

    # Archive: the row turns archived in place, a toast confirms
    row.get_by_role("button", name="Archive").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Archive").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("td:nth-child(4)")).to_have_text("archived")
    expect(row.get_by_role("button", name="Archive")).to_have_count(0)
    expect(row.locator("td:nth-child(7)")).not_to_have_text("—")
    expect(page.locator("#toasts").get_by_text(ARCHIVED_TOAST)).to_be_visible()
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"
    assert len(posts) == 1 and credential_id in posts[0]
    assert _emulator_credential(box, vault_id, credential_id).get("archived_at")
    assert page.console_errors == []

    # a viewer sees the credentials but no Archive button at all
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, auth, "qviewer", "viewer")
    _open_vault(page, live_server, "Support Desk")
    expect(_rows(page).first).to_be_visible()
    expect(page.get_by_role("button", name="Archive")).to_have_count(0)
    assert page.console_errors == []


ROTATED_TOAST = "Token rotated: agents get the new token from now on."
#: Chromium logs every 4xx answer, including the 422 that carries the form's errors
UNPROCESSABLE = (
    "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
)


def test_editor_rotates_a_token_in_place_with_errors_beside_the_field_viewer_sees_no_form(
    other_vaults, page, live_server, auth
):
    box = other_vaults["qoder"]
    new_token = "tok-browser-rotated-4Kx9"
    vault_id = qoder_vault_id(box, "Support Desk")
    credential_id, _url = add_qoder_credential(box, vault_id)
    before = _emulator_credential(box, vault_id, credential_id)["updated_at"]
    posts: list[str] = []
    page.on(
        "request",
        lambda req: req.method == "POST" and req.url.endswith("/token") and posts.append(req.url),
    )
    sign_in(page, live_server, auth, "qrotator", "editor")
    _open_vault(page, live_server, "Support Desk")
    page.evaluate(f"window.__marker = {MARKER!r}")
    row = page.locator(f"#cred-{credential_id}")
    field = row.get_by_label("New bearer token")
    expect(field).to_be_hidden()  # folded away until asked for
    row.get_by_text("Rotate token").click()
    expect(field).to_be_visible()
    expect(field).to_have_attribute("type", "password")

    # blank input: refused beside the field, nothing sent upstream
    field.fill("   ")
    row.get_by_role("button", name="Rotate").click()
    error = row.locator(".field-error")
    expect(error).to_have_text("Enter the new token.")
    expect(row.get_by_label("New bearer token")).to_have_value("")
    expect(row.get_by_label("New bearer token")).to_have_attribute("aria-invalid", "true")
    assert _emulator_credential(box, vault_id, credential_id)["updated_at"] == before

    # a real token: the row is redrawn in place, a toast confirms, the token is gone
    row.get_by_label("New bearer token").fill(new_token)
    row.get_by_role("button", name="Rotate").click()
    expect(page.locator("#toasts").get_by_text(ROTATED_TOAST)).to_be_visible()
    expect(row.locator(".field-error")).to_have_count(0)
    expect(row.locator("td:nth-child(4)")).to_have_text("active")
    expect(row.get_by_label("New bearer token")).to_have_value("")
    assert new_token not in page.content()
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"
    assert len(posts) == 2 and credential_id in posts[-1]
    assert _emulator_credential(box, vault_id, credential_id)["updated_at"] > before
    assert page.console_errors == [UNPROCESSABLE]  # the blank token's answer, nothing else
    page.console_errors.clear()

    # a viewer sees the credential but neither the form nor its button
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, auth, "qrviewer", "viewer")
    _open_vault(page, live_server, "Support Desk")
    expect(page.locator(f"#cred-{credential_id}")).to_be_visible()
    expect(page.get_by_text("Rotate token")).to_have_count(0)
    # (the sign-in dialog for an ended session has its own, outside main)
    expect(page.locator("main input[type=password]")).to_have_count(0)
    assert page.console_errors == []
