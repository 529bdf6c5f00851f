"""Idle sign-out in real Chromium: the warning before the end, "Stay signed in", typing as
activity, and an edit left open past the timeout saved after signing in again in place.

The console here signs out after IDLE seconds and warns WARN seconds before (the defaults are
30 minutes and 2 minutes): the waits stay short. What was saved is read back through the
official SDK, an independent client.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_a11y import blocking_violations
from tests.conftest import make_app, unique
from tests.entries_support import fetch, make_entry

IDLE = 8
WARN = 5
MARKER = "same document"
#: answers the page expects while signed out (Chromium logs each as a console error)
EXPECTED = re.compile(r"status of (401|403) ")


@pytest.fixture
def app(tmp_path, sandbox, other_vaults, log_stream):
    application = make_app(
        tmp_path, sandbox, log_stream, IDLE_TIMEOUT_SECONDS=IDLE, IDLE_WARNING_SECONDS=WARN
    )
    yield application
    application.extensions["upstream"].close()


def _open_editor(page: Page, live_server, auth, entry, user: str = "edna") -> Locator:
    sign_in(page, live_server, auth, user, "editor")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    page.evaluate(f"window.__marker = {MARKER!r}")
    card = page.locator("#section-credentials")
    card.get_by_role("link", name="Edit credentials").click()
    form = card.locator("form#form-credentials")
    expect(form.get_by_role("button", name="Save")).to_be_enabled()
    return form


def _warning(page: Page) -> Locator:
    return page.get_by_role("alertdialog")


def _dialog(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Sign in to continue")


def _wait_until_signed_out(page: Page) -> None:
    ended = _warning(page).get_by_text("You were signed out")
    expect(ended).to_be_visible(timeout=(IDLE + 8) * 1000)
    expect(_warning(page).get_by_role("button", name="Sign in")).to_be_visible()


def _unexpected_errors(page: Page) -> list[str]:
    return [e for e in page.console_errors if not EXPECTED.search(e)]


def _stored(sandbox, entry):
    return fetch(sandbox, entry.permissioned_user_id, entry.domain)


def test_the_warning_counts_down_and_stay_signed_in_keeps_the_session(page, live_server, auth):
    sign_in(page, live_server, auth, "wanda", "viewer")
    started = time.monotonic()
    warning = _warning(page)
    expect(warning).to_be_visible()
    assert time.monotonic() - started < IDLE  # before the end
    expect(warning).to_contain_text(re.compile(r"You will be signed out in 0:0[0-5]"))
    first = warning.locator("strong").inner_text()
    expect(warning.locator("strong")).not_to_have_text(first)  # a live countdown
    assert blocking_violations(page) == []  # WCAG 2.2 AA with the warning showing
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    time.sleep(IDLE - WARN + 1)  # past the end the session had before "Stay signed in"
    page.reload()
    assert "/login" not in page.url
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.console_errors == []


def test_an_edit_left_open_is_saved_after_signing_in_again_in_place(
    page, live_server, auth, sandbox
):
    entry = make_entry(sandbox, permissioned_user_id=unique("idle"))
    auth.create("mallory", "admin")
    form = _open_editor(page, live_server, auth, entry)
    typed = f"Typed before the timeout {entry.permissioned_user_id}"
    form.get_by_label("Alias").fill(typed)
    _wait_until_signed_out(page)
    form.get_by_role("button", name="Save").click()

    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"signed out after {IDLE} seconds without activity")
    expect(dialog).to_contain_text("What you typed is kept")
    expect(dialog.get_by_label("Username")).to_have_value("edna")
    expect(dialog.get_by_label("Password")).to_be_focused()
    assert blocking_violations(page) == []  # WCAG 2.2 AA with the sign-in dialog open
    # someone else signing in here does not get edna's save
    dialog.get_by_label("Username").fill("mallory")
    dialog.get_by_label("Password").fill(auth.PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "This page holds unsaved work of edna: sign in as edna to save it."
    )
    expect(dialog.get_by_label("Password")).to_have_value("")
    assert _stored(sandbox, entry).user_alias == entry.user_alias

    dialog.get_by_label("Username").fill("edna")
    dialog.get_by_label("Password").fill(auth.PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    card = page.locator("#section-credentials")
    expect(card.locator("form")).to_have_count(0)
    expect(card).to_contain_text(typed)
    expect(page.locator("#toasts")).to_contain_text("Saved credentials: Alias.")
    assert _stored(sandbox, entry).user_alias == typed
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"
    expect(_warning(page)).to_be_hidden()
    assert auth.PASSWORD not in page.content()
    assert _unexpected_errors(page) == []


def test_typed_secrets_are_asked_for_again_after_signing_in(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("idlepw"))
    form = _open_editor(page, live_server, auth, entry, "ezra")
    typed = f"Alias {entry.permissioned_user_id}"
    form.get_by_label("Alias").fill(typed)
    form.get_by_label("New password").fill("Typed-Secret 1!")
    _wait_until_signed_out(page)
    form.get_by_role("button", name="Save").click()

    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.locator("#signin-retype")).to_contain_text(
        "Enter the new password again after signing in"
    )
    password = form.get_by_label("New password")
    expect(password).to_have_value("")  # not kept while signed out
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("Enter the new password again")
    expect(form.get_by_label("Alias")).to_have_value(typed)  # the rest is kept
    dialog.get_by_label("Password").fill(auth.PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text(
        "Signed in. Enter the new password again, then save."
    )
    expect(password).to_be_focused()
    assert _stored(sandbox, entry).user_alias == entry.user_alias  # not sent without it

    password.fill("Typed-Secret 2!")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("Saved credentials: Password, Alias.")
    stored = _stored(sandbox, entry)
    assert (stored.user_alias, stored.password) == (typed, "Typed-Secret 2!")
    assert "Typed-Secret" not in page.content()
    assert _unexpected_errors(page) == []


def test_typing_in_an_open_editor_keeps_the_session(page, live_server, auth, sandbox):
    entry = make_entry(sandbox, permissioned_user_id=unique("idletype"))
    form = _open_editor(page, live_server, auth, entry, "tara")
    alias = form.get_by_label("Alias")
    alias.fill("")
    keep_alives: list[str] = []
    page.on("request", lambda r: "/session/keep-alive" in r.url and keep_alives.append(r.url))
    deadline = time.monotonic() + IDLE + 4
    while time.monotonic() < deadline:
        alias.press_sequentially("ab")
        time.sleep(0.5)
    assert 2 <= len(keep_alives) <= (IDLE + 4) // 2 + 1  # throttled
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("Saved credentials: Alias.")
    expect(_dialog(page)).to_be_hidden()
    assert _stored(sandbox, entry).user_alias.startswith("abab")
    assert page.console_errors == []
