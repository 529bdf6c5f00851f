"""The Operators page in real Chromium: an admin adds operators (one-time password and
invitation link), the invited person sets a password through the link and signs in, and the
admin changes a role, disables and enables, sends a reset link and ends sessions."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

PASSPHRASE = "invited person passphrase"


def _row(page, name):
    return page.locator(f'tr[data-operator="{name}"]')


def _manage(page, name, button):
    row = _row(page, name)
    if row.locator("details[open]").count() == 0:
        row.get_by_text("Manage").click()
    row.get_by_role("button", name=button).click()


def test_admin_manages_operators(page, browser, live_server, auth):
    sign_in(page, live_server, auth, "chief", "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operators").click()
    expect(page.get_by_role("heading", name="Operators", exact=True)).to_be_visible()
    expect(_row(page, "chief")).to_contain_text("admin")

    # a one-time password, shown once
    create = page.locator("#create")
    create.get_by_label("Username").fill("otto")
    create.get_by_label("Role").select_option("editor")
    create.get_by_label(re.compile("One-time password")).check()
    create.get_by_role("button", name="Add operator").click()
    expect(page.get_by_role("heading", name="Operator otto added")).to_be_visible()
    assert len(page.locator("#copy-one-time-password").inner_text()) >= 12
    page.get_by_role("link", name="Back to operators").click()
    expect(_row(page, "otto")).to_contain_text("must change password")

    # an invitation link
    create.get_by_label("Username").fill("ines")
    create.get_by_label(re.compile("Invitation link")).check()
    create.get_by_role("button", name="Add operator").click()
    link = page.locator("#copy-operator-link").inner_text()
    assert "/operators/invite/" in link

    invited = browser.new_context(viewport={"width": 1200, "height": 900})
    other = invited.new_page()
    other.goto(link)
    expect(other.get_by_text("ines")).to_be_visible()
    other.get_by_label("New password").fill(PASSPHRASE)
    other.get_by_label("Repeat the password").fill(PASSPHRASE)
    other.get_by_role("button", name="Set password").click()
    expect(other).to_have_url(re.compile(r"/login$"))
    expect(other.get_by_text("Your password is set.")).to_be_visible()
    other.get_by_label("Username").fill("ines")
    other.get_by_label("Password").fill(PASSPHRASE)
    other.get_by_role("button", name="Sign in").click()
    expect(other).to_have_url(re.compile(r"/entries"))
    other.goto(link)
    expect(other.get_by_text("already been used")).to_be_visible()

    # role change, disable, enable, end sessions
    page.goto(live_server.url + "/operators")
    row = _row(page, "ines")
    row.get_by_text("Manage").click()
    row.get_by_label("Role").select_option("editor")
    row.get_by_role("button", name="Change role").click()
    expect(page.get_by_text("Role of ines changed to editor")).to_be_visible()
    expect(_row(page, "ines")).to_contain_text("editor")
    other.goto(live_server.url + "/entries")
    expect(other).to_have_url(re.compile(r"/login"))  # a new role needs a new sign-in

    _manage(page, "ines", "Disable")
    expect(page.get_by_text("Disabled ines")).to_be_visible()
    expect(_row(page, "ines")).to_contain_text("disabled")
    _manage(page, "ines", "Enable")
    expect(page.get_by_text("Enabled ines.")).to_be_visible()
    expect(_row(page, "ines")).to_contain_text("active")

    other.get_by_label("Username").fill("ines")
    other.get_by_label("Password").fill(PASSPHRASE)
    other.get_by_role("button", name="Sign in").click()
    expect(other).to_have_url(re.compile(r"/entries"))
    _manage(page, "ines", "End sessions")
    expect(page.get_by_text("Ended every session of ines.")).to_be_visible()
    other.reload()
    expect(other).to_have_url(re.compile(r"/login"))

    # a reset link
    _manage(page, "ines", "Send reset link")
    expect(page.get_by_role("heading", name="Reset link for ines")).to_be_visible()
    assert "/operators/reset/" in page.locator("#copy-operator-link").inner_text()

    # the last admin is protected, with the reason beside the control
    page.get_by_role("link", name="Back to operators").click()
    row = _row(page, "chief")
    row.get_by_text("Manage").click()
    row.get_by_label("Role").select_option("viewer")
    row.get_by_role("button", name="Change role").click()
    expect(_row(page, "chief").get_by_role("alert")).to_contain_text("last active admin")
    # the refusal is answered 409 on purpose; Chromium logs any 4xx page load
    assert [e for e in page.console_errors if "status of 409" not in e] == []
    assert other.context is invited
    invited.close()
