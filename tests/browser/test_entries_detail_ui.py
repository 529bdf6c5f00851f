"""The entry detail page in real Chromium: sections, masked secrets, reveal with re-auth,
live 2FA codes."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import make_entry

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits: pyotp refuses < 112
WRONG_PASSWORD_422 = (
    "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
)
SECTIONS = [
    "Credentials", "Two-factor", "Session persistence", "Concurrency", "Proxy",
    "Secret provider", "Metadata", "History",
]  # fmt: skip
COOKIE = {
    "name": "sid", "value": "cookie-value-secret", "domain": ".example-health.com", "path": "/",
    "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
    "storeId": "0", "sameSite": "lax",
}  # fmt: skip


def test_viewer_opens_detail_from_the_list_sees_sections_masked_secrets_and_copy(
    page, live_server, auth, sandbox
):
    tag = unique("det")
    entry = make_entry(
        sandbox,
        permissioned_user_id=tag,
        user_alias=f"Detail {tag}",
        user_name=f"{tag}@example.com",
        password="Det41l-Secret!",
        tfa_method="AUTHENTICATOR",
        tfa_secret=TOTP_SECRET,
        proxy_setting="random",  # the API computes proxy string, IP address and location
        cookies=[COOKIE],
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, auth, "val", "viewer")
    page.get_by_placeholder("Search alias, permissioned user or domain").fill(tag)
    page.get_by_role("link", name=f"Detail {tag}").click()
    expect(page).to_have_url(re.compile(rf"/entries/{re.escape(str(entry.id))}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Detail {tag}")

    for name in SECTIONS:
        expect(page.get_by_role("heading", name=name, exact=True, level=2)).to_be_visible()

    credentials = page.locator("#section-credentials")
    expect(credentials.get_by_label("username hidden")).to_have_text("••••••••••")
    expect(credentials.get_by_label("password hidden")).to_have_text("••••••••••")
    expect(page.locator("#section-twofactor").get_by_label("TFA secret hidden")).to_be_visible()
    body = page.locator("body").inner_text()
    for secret in ("Det41l-Secret!", f"{tag}@example.com", TOTP_SECRET, "cookie-value-secret"):
        assert secret not in body
    # viewers get no controls for secrets, codes or browser state
    expect(page.get_by_role("button", name=re.compile("^Reveal"))).to_have_count(0)
    expect(page.get_by_role("button", name="Show current code")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear browser state")).to_have_count(0)
    expect(page.get_by_text("Editors and admins can view the current code.")).to_be_visible()

    # computed fields come with a copy button that really copies the value
    proxy = page.locator("#section-proxy")
    for field in ("proxy string", "location"):
        expect(proxy.get_by_role("button", name=f"Copy {field}")).to_be_visible()
    # the assigned proxy is ip:port; ip_address is the deprecated legacy target IP, shown
    # (labelled so) only when the entry has one
    expect(proxy.get_by_text("Assigned proxy", exact=True)).to_be_visible()
    expect(proxy.get_by_text("Legacy target IP")).to_have_count(0)
    assigned = page.locator("#copy-proxy-string").inner_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+:\d+", assigned)
    proxy.get_by_role("button", name="Copy proxy string").click()
    expect(page.locator("#toasts")).to_contain_text("Copied to clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == assigned
    page.locator("#section-metadata").get_by_role("button", name="Copy entry id").click()
    expect(page.locator("#toasts .toast")).to_have_count(2)
    assert page.evaluate("navigator.clipboard.readText()") == str(entry.id)
    assert page.console_errors == []


def test_editor_reveals_secrets_after_confirming_password_in_place(
    page, live_server, auth, sandbox
):
    entry = make_entry(
        sandbox,
        permissioned_user_id=unique("rev"),
        user_name="reveal.me@example.com",
        password="Pl41n-text pass!",
    )
    sign_in(page, live_server, auth, "eli", "editor")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    page.evaluate("window.__marker = 'same document'")
    url = page.url
    password = page.locator("#secret-password")
    username = page.locator("#secret-user_name")

    password.get_by_role("button", name="Reveal password").click()
    prompt = password.get_by_label("Confirm your password to reveal the password")
    expect(prompt).to_be_visible()
    expect(prompt).to_be_focused()
    assert page.console_errors == []
    prompt.fill("not my password")
    password.get_by_role("button", name="Confirm").click()
    expect(password.locator(".field-error")).to_contain_text("That password is not right.")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(entry.password)).to_have_count(0)

    password.get_by_label("Confirm your password to reveal the password").fill(auth.PASSWORD)
    password.get_by_role("button", name="Confirm").click()
    expect(password.locator("code.secret-value")).to_have_text(entry.password)
    assert entry.password == "Pl41n-text pass!"
    expect(password.get_by_text(re.compile(r"Hides again in \d+ s"))).to_be_visible()

    password.get_by_role("button", name="Hide").click()
    expect(password.get_by_label("password hidden")).to_have_text("••••••••••")
    expect(page.get_by_text(entry.password)).to_have_count(0)
    expect(password.get_by_role("button", name="Reveal password")).to_be_visible()

    # within the sudo window a second reveal does not ask again
    username.get_by_role("button", name="Reveal username").click()
    expect(username.locator("code.secret-value")).to_have_text("reveal.me@example.com")
    expect(page.get_by_text(re.compile("Confirm your password"))).to_have_count(0)

    assert page.url == url
    assert page.evaluate("window.__marker") == "same document"  # htmx swaps, no navigation
    # The wrong password is answered 422 by design (htmx swaps it); Chromium logs every 4xx
    # response as a console error. Nothing else may be there: no script errors, no CSP.
    assert page.console_errors == [WRONG_PASSWORD_422]


def test_live_totp_code_matches_the_secret_and_counts_down(page, live_server, auth, sandbox):
    entry = make_entry(
        sandbox,
        permissioned_user_id=unique("totp"),
        tfa_method="AUTHENTICATOR",
        tfa_secret=TOTP_SECRET,
    )
    sign_in(page, live_server, auth, "tom", "editor")
    page.goto(f"{live_server.url}/entries/{entry.id}")
    panel = page.locator("#tfa-code")
    page.get_by_role("button", name="Show current code").click()
    digits = panel.locator("#tfa-digits")
    expect(digits).to_have_text(re.compile(r"^\d{6}$"))
    totp = pyotp.TOTP(TOTP_SECRET)
    now = time.time()
    assert digits.inner_text() in {totp.at(now + d) for d in (-30, 0, 30)}
    expect(panel.get_by_text(re.compile(r"expires in \d+ s"))).to_be_visible()

    countdown = panel.locator("[data-countdown]")
    first = int(countdown.inner_text())
    if first <= 4:  # the code is about to roll over; wait for the fresh one
        expect(countdown).to_have_text(re.compile(r"^(2\d|1[5-9]|30)$"), timeout=8_000)
        first = int(countdown.inner_text())
    assert 1 <= first <= 30
    time.sleep(2.2)
    second = int(countdown.inner_text())
    assert first - 3 <= second <= first - 1, (first, second)
    assert digits.inner_text() in {totp.at(time.time() + d) for d in (-30, 0)}
    assert page.console_errors == []
