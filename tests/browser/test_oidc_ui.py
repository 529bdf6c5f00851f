"""Single sign-on in real Chromium: through the provider's authorization page
(oidc-provider-mock on loopback, tests/oidc_support.py) and back, a reveal after an SSO
re-authentication, and sign-out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer, make_app, unique
from tests.entries_support import make_entry
from tests.oidc_support import running_provider


@pytest.fixture(scope="module")
def provider():
    with running_provider() as server:
        yield server


@pytest.fixture
def app(tmp_path, sandbox, other_vaults, log_stream, provider):
    """The console with single sign-on (``live_server`` serves this one)."""
    application = make_app(tmp_path, sandbox, log_stream, ENV=provider.env())
    yield application
    application.extensions["upstream"].close()


def authorize_on_provider(page, provider, sub: str) -> None:
    page.wait_for_url(f"{provider.issuer}/oauth2/authorize**")
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_sso_sign_in_reveal_after_re_authentication_and_sign_out(
    page, live_server, provider, sandbox
):
    entry = make_entry(sandbox, permissioned_user_id=unique("sso"), password="Ss0-revealed pass!")
    sub = unique("kim")
    provider.set_user(sub, preferred_username=sub, groups=["vault-editors"])

    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(live_server.url + "/login")
    page.get_by_role("link", name="Sign in with SSO").click()
    authorize_on_provider(page, provider, sub)
    page.wait_for_url(f"{live_server.url}/entries**")
    expect(page.locator(".whoami-name")).to_have_text(sub)
    expect(page.locator(".badge-role")).to_have_text("editor")

    page.goto(f"{live_server.url}/entries/{entry.id}")
    password = page.locator("#secret-password")
    password.get_by_role("button", name="Reveal password").click()
    password.get_by_role("link", name="Confirm with SSO").click()
    authorize_on_provider(page, provider, sub)  # a fresh sign-in at the provider
    page.wait_for_url(f"{live_server.url}/entries/{entry.id}")
    password = page.locator("#secret-password")
    password.get_by_role("button", name="Reveal password").click()
    expect(password.locator("code.secret-value")).to_have_text("Ss0-revealed pass!")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/login**")
    expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()
    page.goto(live_server.url + "/entries")
    page.wait_for_url(f"{live_server.url}/login**")
    # the provider's page loads its stylesheet from a CDN (unreachable here) and has no
    # favicon: its console errors are not the console's; nothing of the console's failed
    assert [url for url in failed if not url.startswith(provider.issuer)] == []


@pytest.fixture
def idle_app(tmp_path, sandbox, other_vaults, log_stream, provider):
    application = make_app(tmp_path, sandbox, log_stream, ENV=provider.env(),
                           IDLE_TIMEOUT_SECONDS=8, IDLE_WARNING_SECONDS=4)  # fmt: skip
    yield application
    application.extensions["upstream"].close()


def test_an_sso_operator_signed_out_while_editing_signs_in_in_another_tab_and_saves(
    idle_app, page, provider, sandbox
):
    """The sign-in dialog of an SSO operator has no password: a new tab goes through the
    provider, and "I have signed in — continue" sends what was typed."""
    live_server = LiveServer(idle_app).start()
    try:
        _sso_sign_in_again_in_another_tab(page, live_server, provider, sandbox)
    finally:
        live_server.stop()


def _sso_sign_in_again_in_another_tab(page, live_server, provider, sandbox) -> None:
    entry = make_entry(sandbox, permissioned_user_id=unique("ssoidle"))
    sub = unique("ivy")
    provider.set_user(sub, preferred_username=sub, groups=["vault-editors"])
    page.goto(live_server.url + "/login")
    page.get_by_role("link", name="Sign in with SSO").click()
    authorize_on_provider(page, provider, sub)
    page.wait_for_url(f"{live_server.url}/entries**")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    page.get_by_role("link", name="Edit credentials").click()
    form = page.locator("form#form-credentials")
    typed = f"Typed before the timeout {sub}"
    form.get_by_label("Alias").fill(typed)
    ended = page.get_by_role("alertdialog").get_by_text("You were signed out")
    expect(ended).to_be_visible(timeout=20000)
    form.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Sign in to continue")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Password")).to_be_hidden()  # no password for SSO
    with page.context.expect_page() as opened:
        dialog.get_by_role("link", name="Sign in with SSO (a new tab)").click()
    other = opened.value
    authorize_on_provider(other, provider, sub)
    other.wait_for_url(f"{live_server.url}/entries**")
    other.close()
    dialog.get_by_role("button", name="I have signed in — continue").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#section-credentials")).to_contain_text(typed)
