"""The entries index in real Chromium: the Overview tiles, "sync now", the "Changed outside"
badge and filter, and the 404 page of an entry id the index does not know.

The list is answered from the console's own index of the vault: entries made outside the
console (through the SDK) after the index's first sync only show up after a sync. Tests set
SYNC_SECONDS=3600, so nothing syncs behind a test's back. The sandbox is shared by all
tests on a worker, so every test tags its entries with a unique id and reads totals from the
page instead of assuming them.
"""

from __future__ import annotations

import re

from cloudcruise.vault.types import VaultEntryInput
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import make_entry, sdk_for

SEARCH_PLACEHOLDER = "Search alias, permissioned user or domain"
CHANGED_OUTSIDE = "Changed outside (7 days)"


def _pids(page):
    return page.locator("#entry-results tbody td.cell-pid")


def _param(name: str, value: str) -> re.Pattern[str]:
    """The page URL carries ``name=value`` as a query parameter."""
    return re.compile(rf"/entries\?(.*&)?{re.escape(name)}={re.escape(value)}(&|$)")


def _search(page):
    return page.get_by_placeholder(SEARCH_PLACEHOLDER)


def _tile(page, title: str):
    """The overview tile whose title is exactly ``title``."""
    return page.locator("li.tile").filter(
        has=page.locator(".tile-title", has_text=re.compile(rf"^{re.escape(title)}$"))
    )


def _tile_count(tile) -> int:
    return int(tile.locator(".tile-count").inner_text().replace(",", ""))


def _count_text(count: int, *, filtered: bool) -> re.Pattern[str]:
    """What .results-count says when the list holds ``count`` entries."""
    if count == 0:
        return re.compile(r"^\s*No entries to show\s*$")
    kind = r"matching\s+\(\d[\d,]*\s+in\s+total\)" if filtered else r"entries"
    return re.compile(rf"Showing\s+1–[\d,]+\s+of\s+{count:,}\s+{kind}")


def test_overview_tiles_match_the_list_they_open(page, live_server, auth, sandbox):
    make_entry(sandbox, permissioned_user_id=unique("ovw"), user_alias=f"Overview {unique('a')}")
    sign_in(page, live_server, auth, "otto", "viewer")  # lands on /entries: the first sync

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/overview$"))
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Latest console events")).to_be_visible()
    tiles = page.locator("li.tile")
    expect(tiles.first).to_be_visible()
    assert tiles.count() >= 2
    for tile in tiles.all():  # every tile is a link with a number and a title
        expect(tile.locator("a .tile-count")).to_have_text(re.compile(r"^\d[\d,]*$"))
        expect(tile.locator("a .tile-title")).not_to_be_empty()

    entries_tile, expired_tile = _tile(page, "Entries"), _tile(page, "Sessions expired")
    expect(entries_tile).to_have_count(1)
    expect(expired_tile).to_have_count(1)
    total, expired = _tile_count(entries_tile), _tile_count(expired_tile)
    assert total > 0

    entries_tile.locator("a").click()
    expect(page).to_have_url(re.compile(r"/entries\??$"))
    expect(page.locator(".results-count")).to_have_text(_count_text(total, filtered=False))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/overview$"))
    expect(_tile(page, "Sessions expired").locator(".tile-count")).to_have_text(f"{expired:,}")
    _tile(page, "Sessions expired").locator("a").click()
    expect(page).to_have_url(re.compile(r"/entries\?session=expired$"))
    expect(page.get_by_role("combobox", name="Session", exact=True)).to_have_value("expired")
    expect(page.locator(".results-count")).to_have_text(_count_text(expired, filtered=True))
    assert page.console_errors == []


def test_sync_now_brings_in_an_entry_made_outside_without_a_page_load(
    page, live_server, auth, sandbox
):
    tag = unique("late")
    sign_in(page, live_server, auth, "lena", "viewer")  # the index's first sync
    expect(page.locator(".results-count")).to_contain_text("Showing")
    make_entry(sandbox, permissioned_user_id=f"{tag}-pid", user_alias=f"Late {tag}")

    page.evaluate("window.__marker = 'same document'")
    _search(page).fill(tag)
    expect(page).to_have_url(_param("q", tag))
    expect(page.locator("#entry-results tbody")).to_contain_text(f"No entries match “{tag}”.")
    expect(_pids(page)).to_have_count(0)

    page.locator("#entry-results").get_by_role("button", name="sync now").click()
    expect(_pids(page)).to_have_text([f"{tag}-pid"])  # the search survives the sync
    expect(page.locator("#entry-results td.cell-alias a")).to_have_text([f"Late {tag}"])
    # created outside the console counts as changed outside (README: "created, deleted or
    # changed ... outside the console ... marked in the list for 7 days")
    expect(page.locator("#entry-results .badge-outside")).to_have_text(["Changed outside"])
    expect(page.locator("#entry-results")).to_have_count(1)  # swapped, not nested
    toast = page.locator("#toasts .toast").filter(has_text=re.compile(r"^Synced \d[\d,]* entries"))
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(re.compile(r"\b1 added\b"))
    expect(_search(page)).to_have_value(tag)
    expect(page).to_have_url(_param("q", tag))
    # no full page load happened: the window (and our marker) is the same one
    assert page.evaluate("window.__marker") == "same document"
    assert page.console_errors == []


def test_entry_renamed_outside_gets_a_badge_and_matches_the_check_filter(
    page, live_server, auth, sandbox
):
    tag = unique("drift")
    entry = make_entry(sandbox, permissioned_user_id=f"{tag}-pid", user_alias=f"Before {tag}")
    sign_in(page, live_server, auth, "dora", "viewer")  # the first sync knows the entry
    page.evaluate("window.__marker = 'same document'")
    _search(page).fill(tag)
    expect(page.locator("#entry-results td.cell-alias a")).to_have_text([f"Before {tag}"])
    expect(page.locator("#entry-results .badge-outside")).to_have_count(0)

    sdk_for(sandbox).vault.update(
        VaultEntryInput(
            domain=entry.domain,
            permissioned_user_id=entry.permissioned_user_id,
            user_alias=f"After {tag}",
        )
    )
    page.locator("#entry-results").get_by_role("button", name="sync now").click()
    expect(page.locator("#entry-results td.cell-alias a")).to_have_text([f"After {tag}"])
    expect(page.locator("#toasts .toast").filter(has_text="Synced")).to_contain_text(
        re.compile(r"[1-9]\d* changed outside the console")
    )

    page.get_by_role("combobox", name="Check").select_option(label=CHANGED_OUTSIDE)
    expect(page).to_have_url(_param("check", "changed_outside"))
    expect(page).to_have_url(_param("q", tag))
    row = page.locator("#entry-results tbody tr").filter(has_text=f"{tag}-pid")
    expect(row).to_have_count(1)
    expect(row.locator("td.cell-alias")).to_contain_text(f"After {tag}")
    badge = row.locator(".badge-outside")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Changed outside")

    # and without the search the check still lists it (the filter alone does the work)
    _search(page).fill("")
    expect(page).not_to_have_url(re.compile(r"[?&]q=[^&]"))
    expect(page).to_have_url(_param("check", "changed_outside"))
    expect(page.locator("#entry-results tbody tr").filter(has_text=f"{tag}-pid")).to_have_count(1)
    expect(page.locator("#entry-results .badge-outside")).to_have_count(_pids(page).count())
    assert page.evaluate("window.__marker") == "same document"
    assert page.console_errors == []


def test_unknown_entry_id_offers_a_sync_that_lands_on_the_list(page, live_server, auth, sandbox):
    sign_in(page, live_server, auth, "uma", "viewer")
    response = page.goto(live_server.url + "/entries/does-not-exist")
    assert response is not None and response.status == 404
    panel = page.locator("#error-panel")
    expect(panel.get_by_role("heading", name="Not found")).to_be_visible()
    expect(panel).to_contain_text(re.compile(r"sync", re.IGNORECASE))
    button = panel.get_by_role("button", name="Sync now and show the list")
    expect(button).to_be_visible()

    button.click()
    page.wait_for_url(re.compile(r"/entries$"))
    flash = page.locator(".flashes .banner")
    expect(flash).to_have_count(1)
    expect(flash).to_be_visible()
    expect(flash).to_have_text(re.compile(r"^\s*Synced \d[\d,]* entries"))
    expect(page.locator(".results-count")).to_contain_text("Showing")
    # the only console error is the browser's own note about the 404 document
    assert all("404" in error for error in page.console_errors), page.console_errors
