"""r4 machine vaults in real Chromium: zero-trust status per vault, the trust banner, items
and fields (names and types only, values never), and rollback detection.

The r4 emulator is shared by every test on a worker (``other_vaults``); the Payments vault
replays an older checkpoint on later reads, so the rollback test pins what it serves with
``model.clear_rollback`` / ``model.rollback`` and always restores it.
"""

from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

ENCRYPTED = "•••••• encrypted"
TYPE_LABELS = ["Login", "API key", "Database", "SSH key", "Server", "Secure note",
               "Credit card", "Custom"]  # fmt: skip


def _vault_row(page: Page, name: str):
    link = page.get_by_role("link", name=name, exact=True)
    return page.locator("table tbody tr").filter(has=link)


def _checkpoint(page: Page, name: str):
    """The Checkpoint cell (badge plus version or reason) of vault ``name`` in the list."""
    return _vault_row(page, name).locator("td").nth(1)


def _banner(page: Page):
    return page.locator("main .banner").first


def test_r4_trust_statuses_banners_items_and_encrypted_fields(
    other_vaults, page, live_server, auth
):
    box = other_vaults["r4"]
    sign_in(page, live_server, auth, "rbrowse", "viewer")
    page.get_by_role("group", name="Vault service").get_by_role("link", name="r4").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("r4 vaults")

    for name in ("Production – agents", "Staging"):
        expect(_checkpoint(page, name).locator(".badge")).to_have_text("Verified")
        expect(_checkpoint(page, name)).to_contain_text(re.compile(r"version \d+"))
    expect(_checkpoint(page, "Finance").locator(".badge")).to_have_text("Unverified")
    expect(_checkpoint(page, "Finance")).to_contain_text("items differ from the signed checkpoint")
    expect(_checkpoint(page, "Legacy import").locator(".badge")).to_have_text("Unverified")
    expect(_checkpoint(page, "Legacy import")).to_contain_text(
        "signer key not in the vault's signer directory"
    )
    expect(_vault_row(page, "Production – agents").locator("td.num")).to_have_text("25")

    # Production: green banner, 25 items with their type badges
    page.get_by_role("link", name="Production – agents", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Production – agents")
    banner = _banner(page)
    expect(banner).to_have_class(re.compile(r"\bbanner-success\b"))
    expect(banner).to_have_attribute("role", "status")
    expect(banner).to_contain_text(re.compile(r"Verified\.\s+The names, types and websites"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(25)
    type_badges = page.locator("table tbody td:nth-child(2) .badge")
    expect(type_badges).to_have_count(25)
    shown = set(type_badges.all_inner_texts())
    assert shown == set(TYPE_LABELS), shown
    expect(rows.filter(has_text="Postgres – primary").locator(".badge")).to_have_text("Database")
    expect(page.locator(".table-wrap.untrusted")).to_have_count(0)

    # an item: field names and types listed, every value only "encrypted"
    page.get_by_role("link", name="Postgres – primary", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Postgres – primary")
    expect(page.locator(".subtitle .badge")).to_have_text("Database")
    expect(_banner(page)).to_contain_text("Verified.")
    fields = page.locator("section.card").filter(has=page.get_by_role("heading", name="Fields"))
    field_rows = fields.locator("tbody tr")
    item_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    vault_id = box.vault_id("Production – agents")
    raw = requests.get(
        f"{box.base_url}/vault/{vault_id}/items/{item_id}",
        headers={"X-API-Key": box.api_key},
        timeout=5,
    ).json()
    expected = sorted(raw["fields"], key=lambda f: f["order"])
    assert len(expected) >= 2
    expect(field_rows).to_have_count(len(expected))
    expect(field_rows.locator("td:nth-child(2)")).to_have_text([f["name"] for f in expected])
    expect(field_rows.locator("td:nth-child(3)")).to_have_text([f["type"] for f in expected])
    expect(field_rows.locator("td:nth-child(4)")).to_have_text([ENCRYPTED] * len(expected))
    html = page.content()
    for field in expected:  # not even the ciphertext envelope reaches the page
        envelope = json.loads(field["value"])
        assert envelope["iv"] not in html and envelope["d"] not in html
    assert "sk_sbx_" not in html

    # Finance: served items differ from what was signed -> warning banner, untrusted table
    page.goto(f"{live_server.url}/r4/vaults/{box.vault_id('Finance')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finance")
    banner = _banner(page)
    expect(banner).to_have_class(re.compile(r"\bbanner-warning\b"))
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text(re.compile(r"Unverified\.\s+Items differ"))
    expect(banner).to_contain_text("cannot be trusted")
    expect(page.locator(".table-wrap.untrusted")).to_have_count(1)
    assert page.console_errors == []


def test_r4_rollback_turns_verified_into_rollback_detected(other_vaults, page, live_server, auth):
    box = other_vaults["r4"]
    model = box.model
    payments = box.vault_id("Payments")
    latest = model.clear_rollback(payments)["latestVersion"]  # serve the newest checkpoint
    try:
        assert latest == 12, f"Payments is seeded at version 12, the emulator serves {latest}"
        sign_in(page, live_server, auth, "rrollback", "viewer")
        page.goto(live_server.url + "/r4")
        expect(_checkpoint(page, "Payments").locator(".badge")).to_have_text("Verified")
        expect(_checkpoint(page, "Payments")).to_contain_text(f"version {latest}")

        page.get_by_role("link", name="Payments", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
        banner = _banner(page)
        expect(banner).to_have_class(re.compile(r"\bbanner-success\b"))
        expect(banner).to_contain_text(re.compile(rf"Verified\.\s+.*checkpoint version {latest}\b"))

        model.rollback(payments, 9)  # replay an older, validly signed checkpoint
        page.reload()
        banner = _banner(page)
        expect(banner).to_have_class(re.compile(r"\bbanner-error\b"))
        expect(banner).to_have_attribute("role", "alert")
        expect(banner).to_contain_text("Rollback detected.")
        expect(banner).to_contain_text(f"version 9, but version {latest} was seen before")
        expect(page.locator(".table-wrap.untrusted")).to_have_count(1)
        expect(page.get_by_text("Verified.")).to_have_count(0)

        page.get_by_role("link", name="r4 vaults").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("r4 vaults")
        expect(_checkpoint(page, "Payments").locator(".badge")).to_have_text("Rollback detected")
        expect(_checkpoint(page, "Payments")).to_contain_text(f"version {latest} was seen before")
        expect(_checkpoint(page, "Production – agents").locator(".badge")).to_have_text("Verified")
        assert page.console_errors == []
    finally:
        model.clear_rollback(payments)
