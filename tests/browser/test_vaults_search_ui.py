"""Global search in real Chromium: the topbar box, grouped results from CloudCruise, Qoder and
r4, live narrowing on the results page, hits that open the right pages, and a search that
still answers when one service is down.

Each test makes its own CloudCruise entry with a unique alias; the Qoder and r4 emulators
are shared per worker (``other_vaults``), so they are requested before ``live_server``.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import make_entry

MARKER = "same document"
GROUPS = ["CloudCruise entries", "Qoder credentials", "r4 items"]


def _group(page: Page, key: str):
    return page.locator(f"#results-{key}")


def _hits(page: Page, key: str):
    return _group(page, key).locator("ul.hits > li")


def _topbar_search(page: Page, query: str) -> None:
    box = page.get_by_role("banner").get_by_role("searchbox", name="Search everywhere")
    box.fill(query)
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/search\?q={re.escape(query)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Search everywhere")


def test_global_search_groups_live_updates_and_opens_hits(other_vaults, page, live_server, auth,
                                                          sandbox):  # fmt: skip
    word = unique("Zebra").replace("-", "")
    alias = f"{word} stripe bot"
    make_entry(sandbox, user_alias=alias)
    sign_in(page, live_server, auth, "searcher", "viewer")

    _topbar_search(page, "stripe")
    expect(page.locator("#search-results h2")).to_have_text(GROUPS)
    expect(_group(page, "cloudcruise")).to_contain_text(alias)
    expect(_group(page, "qoder")).to_contain_text("https://mcp.stripe.com/")
    expect(_group(page, "r4")).to_contain_text("dashboard.stripe.com")
    expect(page.locator(".results-count")).to_contain_text(re.compile(r"\d+ results for “stripe”"))
    for key in ("cloudcruise", "qoder", "r4"):
        count = _hits(page, key).count()
        assert count > 0, key
        expect(_group(page, key).locator(".card-head .count")).to_have_text(str(count))
    expect(page.get_by_role("alert")).to_have_count(0)

    # typing in the page's own box narrows the results in place and updates the URL
    page.evaluate(f"window.__marker = {MARKER!r}")
    box = page.get_by_role("main").get_by_role("searchbox", name="Search everywhere")
    expect(box).to_have_value("stripe")
    box.fill(word)
    expect(page).to_have_url(re.compile(rf"/search\?q={re.escape(word)}$"))
    expect(_hits(page, "cloudcruise")).to_have_count(1)
    expect(_hits(page, "cloudcruise")).to_contain_text(alias)
    expect(_group(page, "qoder")).to_contain_text("No matches.")
    expect(_group(page, "r4")).to_contain_text("No matches.")
    expect(page.locator(".results-count")).to_have_text(f"1 result for “{word}”")
    box.fill("stripe")
    expect(page).to_have_url(re.compile(r"/search\?q=stripe$"))
    expect(_group(page, "r4")).to_contain_text("dashboard.stripe.com")
    assert page.evaluate("window.__marker") == MARKER, "a full page load happened"

    # an r4 hit opens that item's page
    r4_hit = _hits(page, "r4").filter(has_text="Staging").get_by_role("link", name="Test card")
    r4_hit.click()
    expect(page).to_have_url(re.compile(r"/r4/vaults/[0-9a-f]+/items/[0-9a-f]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Test card")
    expect(page.get_by_role("heading", name="Fields")).to_be_visible()
    expect(page.locator("main")).to_contain_text("https://dashboard.stripe.com/test")

    # a Qoder hit opens its vault, filtered to that search
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search\?q=stripe$"))
    qoder_hit = _hits(page, "qoder").filter(has_text="Engineering MCP").get_by_role("link")
    expect(qoder_hit).to_have_text("https://mcp.stripe.com/")
    qoder_hit.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Engineering MCP")
    expect(page).to_have_url(re.compile(r"/qoder/vaults/[^?]+\?.*name=stripe"))
    expect(page.get_by_role("searchbox", name="MCP server URL")).to_have_value("stripe")
    expect(page.get_by_role("checkbox", name="Include archived")).to_be_checked()
    rows = page.locator("#cred-results tbody tr[id^='cred-']")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(["https://mcp.stripe.com/"])
    assert page.console_errors == []


def test_search_with_r4_down_still_shows_qoder_and_cloudcruise(
    other_vaults, page, live_server, auth, sandbox
):
    alias = f"{unique('Zebra').replace('-', '')} stripe bot"
    make_entry(sandbox, user_alias=alias)
    sign_in(page, live_server, auth, "degraded", "viewer")
    other_vaults["r4"].faults.add("status", status=503, times=None)

    _topbar_search(page, "stripe")
    expect(page.locator("#search-results h2")).to_have_text(GROUPS)
    warning = _group(page, "r4").get_by_role("alert")
    expect(warning).to_contain_text("r4 items could not be searched")
    expect(_hits(page, "r4")).to_have_count(0)
    expect(_group(page, "r4").locator(".count")).to_have_text("0")
    expect(_group(page, "qoder")).to_contain_text("https://mcp.stripe.com/")
    expect(_group(page, "qoder").get_by_role("alert")).to_have_count(0)
    expect(_group(page, "cloudcruise")).to_contain_text(alias)
    expect(_group(page, "cloudcruise").get_by_role("alert")).to_have_count(0)
    assert page.console_errors == []
