"""Sign in and out in real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_operator_signs_in_sees_entries_and_signs_out(page, live_server, auth):
    auth.create("olga", "editor")
    page.goto(live_server.url + "/entries")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    notice = page.get_by_text("Please sign in to continue.")
    expect(notice).to_be_visible()
    # the notice sits right above the card, not apart from it
    card = page.locator(".auth-card").bounding_box()
    box = notice.bounding_box()
    assert 0 <= card["y"] - (box["y"] + box["height"]) <= 24, (box, card)
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill(auth.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/entries$"))
    expect(page.get_by_role("heading", name="Vault entries")).to_be_visible()
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert page.locator("table tbody tr").count() >= 20
    expect(page.locator(".sandbox-banner")).to_contain_text("Sandbox")
    expect(page.locator(".whoami")).to_contain_text("olga")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert page.console_errors == []  # no CSP violations, no script errors


def test_a_first_visit_to_the_home_page_gets_no_notice(page, live_server):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Please sign in to continue.")).to_have_count(0)


def test_wrong_password_shows_message_and_keeps_username(page, live_server, auth):
    auth.create("pete", "viewer")
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("pete")
    page.get_by_label("Password").fill("definitely wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Unknown username or wrong password.")
    expect(page.get_by_label("Username")).to_have_value("pete")
    expect(page.get_by_label("Password")).to_have_value("")
