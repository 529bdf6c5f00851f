"""Single sign-on in real Chromium: through the provider's authorization page
(oidc-provider-mock on loopback, tests/oidc_support.py) and back, a reveal after an SSO
re-authentication, and sign-out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import make_app, unique
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
