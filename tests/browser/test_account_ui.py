"""The account page in real Chromium: change the password, set up two-factor sign-in, sign
out and in again with a code, end another session."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

NEW = "a brand new long passphrase"


def _password_sign_in(page, live_server, password):
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_account_password_two_factor_and_sessions(page, browser, live_server, auth):
    sign_in(page, live_server, auth)
    page.locator(".whoami").get_by_role("link", name="alice").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", name="Account")).to_be_visible()

    # change the password
    page.get_by_label("Current password").fill(auth.PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()

    # a second browser signs in with the new password
    other_context = browser.new_context()
    other = other_context.new_page()
    _password_sign_in(other, live_server, NEW)
    expect(other).to_have_url(re.compile(r"/entries$"))

    # set up two-factor sign-in from the key shown beside the QR code
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator("[data-otpauth-qr] svg")).to_be_visible()
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#two-factor .badge-green")).to_contain_text("on since")

    # sign out and in again: the code is asked after the password
    page.get_by_role("button", name="Sign out").click()
    _password_sign_in(page, live_server, NEW)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/entries$"))

    # end the other browser's session
    page.goto(live_server.url + "/account")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    page.locator('tr[data-session="other"]').get_by_role("button", name="End").click()
    expect(page.get_by_text("The session is ended")).to_be_visible()
    expect(rows).to_have_count(1)
    other.goto(live_server.url + "/entries")
    expect(other).to_have_url(re.compile(r"/login"))
    other_context.close()

    # new recovery codes (a current code: the next one, the last is used up)
    page.goto(live_server.url + "/account")
    renew = page.locator("form").filter(has=page.get_by_role("button", name="New recovery codes"))
    renew.get_by_label("Code").fill(totp.at(time.time() + 30))
    renew.get_by_role("button", name="New recovery codes").click()
    codes = page.locator("[data-recovery-codes] li")
    expect(codes).to_have_count(10)
    fresh = codes.all_inner_texts()
    page.get_by_role("link", name="I have saved them").click()
    # turn two-factor off with one of them
    off = page.locator("form").filter(
        has=page.get_by_role("button", name="Turn off two-factor sign-in")
    )
    off.get_by_label("Code").fill(fresh[0])
    off.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(page.locator("#two-factor .badge-gray")).to_contain_text("off")
    assert page.console_errors == []
