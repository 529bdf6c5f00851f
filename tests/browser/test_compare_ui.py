"""Comparing two vaults in real Chromium: from a vault page, "Compare with…", filter, open a
row, and come back with the back button to the same filter."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_compare_from_a_vault_page_filter_open_a_row_and_come_back(
    other_vaults, page, live_server, auth
):
    sign_in(page, live_server, auth, "cmpui", "viewer")
    page.goto(live_server.url + "/r4")
    page.get_by_role("link", name="Production – agents", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Production – agents")

    picker = page.get_by_role("form", name="Compare with another vault")
    picker.get_by_label("Compare with…").select_option(label="Staging")
    picker.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare r4 vaults")
    expect(page.get_by_role("heading", name="Production – agents")).to_be_visible()
    expect(page.get_by_role("heading", name="Staging")).to_be_visible()
    expect(page.locator("#compare-trust")).to_contain_text("Verified.")

    groups = page.get_by_role("navigation", name="Groups")
    groups.get_by_role("link", name=re.compile(r"^Only in B")).click()
    expect(page).to_have_url(re.compile(r"group=only_b"))
    rows = page.locator("table.compare-table").first.locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(groups.get_by_role("link", name=re.compile(r"^Only in B"))).to_have_attribute(
        "aria-current", "page"
    )

    rows.filter(has_text="Staging deploy key").get_by_role(
        "link", name="Staging deploy key"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staging deploy key")

    page.go_back()
    expect(page).to_have_url(re.compile(r"group=only_b"))
    expect(page.locator("table.compare-table").first.locator("tbody tr")).to_have_count(6)
    expect(page.get_by_label("Group", exact=True)).to_have_value("only_b")

    # the filter form keeps the vaults and narrows by text; the URL carries it
    page.get_by_role("searchbox", name="Search", exact=True).fill("server")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=server"))
    expect(page.locator("table.compare-table").first.locator("tbody tr")).to_have_count(1)
    assert page.console_errors == []
