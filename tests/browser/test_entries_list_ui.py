"""The entries list in real Chromium: live search, filters, sort and paging (htmx swaps).

Every test creates its own entries, tagged with a unique id, and narrows the list to them;
the sandbox is shared by all tests on a worker, so totals are read from the page, never
assumed.
"""

from __future__ import annotations

import re

from cloudcruise.vault.types import GetVaultEntriesFilters
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import make_entry, sdk_for

SEARCH_PLACEHOLDER = "Search alias, permissioned user or domain"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
COOKIE = {
    "name": "sid", "value": "v", "domain": ".example-health.com", "path": "/",
    "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
    "storeId": "0", "sameSite": "lax",
}  # fmt: skip


def _pids(page):
    return page.locator("#entry-results tbody td.cell-pid")


def _param(name: str, value: str) -> re.Pattern[str]:
    """The page URL carries ``name=value`` as a query parameter."""
    return re.compile(rf"/entries\?(.*&)?{re.escape(name)}={re.escape(value)}(&|$)")


def _shows(text: str) -> re.Pattern[str]:
    """The results count, e.g. "Showing 26–50 of 60 entries", whatever the line breaks."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()))


def _search(page):
    return page.get_by_placeholder(SEARCH_PLACEHOLDER)


def _column(page, label: str):
    """The <th> of a sortable column, found by its header link."""
    link = page.get_by_role("link", name=label, exact=True)
    return page.locator("#entry-results thead th").filter(has=link)


def test_live_search_swaps_results_in_place_pushes_url_and_back_restores(
    page, live_server, auth, sandbox
):
    tag = unique("srch")
    make_entry(sandbox, permissioned_user_id=f"{tag}-alpha", user_alias=f"Alpha {tag}")
    make_entry(sandbox, permissioned_user_id=f"{tag}-beta", user_alias=f"Beta {tag}")
    sign_in(page, live_server, auth, "sam", "viewer")
    search = _search(page)
    expect(search).to_have_value("")
    expect(search).not_to_be_focused()
    page.evaluate("window.__marker = 'same document'")

    page.keyboard.press("/")  # the shortcut focuses the search box and is not typed
    expect(search).to_be_focused()
    page.keyboard.type(tag)
    expect(search).to_have_value(tag)
    expect(_pids(page)).to_have_text([f"{tag}-alpha", f"{tag}-beta"])
    expect(page.locator(".results-count")).to_have_text(
        re.compile(r"Showing\s+1–2\s+of\s+2\s+matching\s+\(\d+ in total\)")
    )
    expect(page).to_have_url(_param("q", tag))

    search.fill(f"{tag}-beta")
    expect(_pids(page)).to_have_text([f"{tag}-beta"])
    expect(page).to_have_url(_param("q", f"{tag}-beta"))
    # no full page load happened: the window (and our marker) is the same one
    assert page.evaluate("window.__marker") == "same document"

    page.go_back()
    expect(page).to_have_url(_param("q", tag))
    expect(_pids(page)).to_have_text([f"{tag}-alpha", f"{tag}-beta"])
    expect(_search(page)).to_have_value(tag)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/entries$"))
    expect(_search(page)).to_have_value("")
    expect(page.locator(".results-count")).to_have_text(
        re.compile(r"Showing\s+1–\d+\s+of\s+\d+\s+entries")
    )
    assert _pids(page).count() > 2
    assert page.console_errors == []


def test_filters_narrow_rows_and_update_the_url(page, live_server, auth, sandbox):
    tag = unique("flt")
    make_entry(
        sandbox,
        permissioned_user_id=f"{tag}-totp",
        user_alias=f"Totp {tag}",
        tfa_method="AUTHENTICATOR",
        tfa_secret=TOTP_SECRET,
        cookies=[COOKIE],
    )
    make_entry(
        sandbox, permissioned_user_id=f"{tag}-sms", user_alias=f"Sms {tag}", tfa_method="SMS"
    )
    make_entry(sandbox, permissioned_user_id=f"{tag}-plain", user_alias=f"Plain {tag}")
    everything = [f"{tag}-plain", f"{tag}-sms", f"{tag}-totp"]  # by alias
    sign_in(page, live_server, auth, "fay", "viewer")
    page.evaluate("window.__marker = 'same document'")
    _search(page).fill(tag)
    expect(_pids(page)).to_have_text(everything)

    tfa = page.get_by_role("combobox", name="2FA method")
    tfa.select_option(label="SMS")
    expect(_pids(page)).to_have_text([f"{tag}-sms"])
    expect(page).to_have_url(_param("tfa", "SMS"))
    tfa.select_option(label="Authenticator")
    expect(_pids(page)).to_have_text([f"{tag}-totp"])
    expect(page).to_have_url(_param("tfa", "AUTHENTICATOR"))
    tfa.select_option(label="No 2FA")
    expect(_pids(page)).to_have_text([f"{tag}-plain"])
    tfa.select_option(label="Any 2FA method")
    expect(_pids(page)).to_have_text(everything)

    session = page.get_by_role("combobox", name="Session", exact=True)
    session.select_option(label="Active")
    expect(_pids(page)).to_have_text([f"{tag}-totp"])
    expect(page).to_have_url(_param("session", "active"))
    session.select_option(label="No session data")
    expect(_pids(page)).to_have_text([f"{tag}-plain", f"{tag}-sms"])
    expect(page).to_have_url(_param("session", "none"))
    tfa.select_option(label="SMS")  # filters combine
    expect(_pids(page)).to_have_text([f"{tag}-sms"])
    tfa.select_option(label="Any 2FA method")
    session.select_option(label="Any session state")
    expect(_pids(page)).to_have_text(everything)

    source = page.get_by_role("combobox", name="Source")
    source.select_option(label="1Password (provider-backed)")
    expect(page.locator("#entry-results tbody")).to_contain_text(f"No entries match “{tag}”.")
    expect(_pids(page)).to_have_count(0)
    expect(page).to_have_url(_param("source", "provider"))
    source.select_option(label="Stored credentials")
    expect(_pids(page)).to_have_text(everything)
    expect(page).to_have_url(_param("source", "direct"))
    assert page.evaluate("window.__marker") == "same document"
    assert page.console_errors == []


def test_sort_headers_toggle_direction_and_survive_a_new_search(page, live_server, auth, sandbox):
    tag = unique("sort")
    # Created in the order 2, 1, 3 so that every sort below gives a different order:
    # alias asc 2 3 1 · domain asc 3 2 1 · domain desc 1 2 3 · updated desc 3 1 2
    for n, alias, host in [(2, "A", "mike"), (1, "C", "zulu"), (3, "B", "alpha")]:
        make_entry(
            sandbox,
            permissioned_user_id=f"{tag}-{n}",
            user_alias=f"{alias} {tag}",
            domain=f"https://{host}-portal.example.com",
        )
    ids = {n: f"{tag}-{n}" for n in (1, 2, 3)}
    sign_in(page, live_server, auth, "sid", "viewer")
    alias, domain, updated = (
        _column(page, "Alias"),
        _column(page, "Domain"),
        _column(page, "Updated"),
    )
    expect(alias).to_have_attribute("aria-sort", "ascending")
    expect(domain).not_to_have_attribute("aria-sort", re.compile("."))

    page.get_by_role("link", name="Domain", exact=True).click()
    expect(domain).to_have_attribute("aria-sort", "ascending")
    expect(domain.locator(".sort-arrow")).to_have_text("▲")
    expect(alias).not_to_have_attribute("aria-sort", re.compile("."))
    expect(alias.locator(".sort-arrow")).to_have_text("↕")
    expect(page).to_have_url(_param("sort", "domain"))
    hosts = page.locator("#entry-results tbody td.cell-domain").all_inner_texts()
    assert len(hosts) > 3 and hosts == sorted(hosts)

    # the hidden sort inputs travel with the filter form, so a search keeps the order
    _search(page).fill(tag)
    expect(_pids(page)).to_have_text([ids[3], ids[2], ids[1]])
    expect(domain).to_have_attribute("aria-sort", "ascending")
    expect(page).to_have_url(_param("q", tag))
    expect(page).to_have_url(_param("sort", "domain"))

    page.get_by_role("link", name="Domain", exact=True).click()
    expect(_pids(page)).to_have_text([ids[1], ids[2], ids[3]])
    expect(domain).to_have_attribute("aria-sort", "descending")
    expect(domain.locator(".sort-arrow")).to_have_text("▼")
    expect(page).to_have_url(_param("dir", "desc"))

    page.get_by_role("link", name="Updated", exact=True).click()  # newest first
    expect(_pids(page)).to_have_text([ids[3], ids[1], ids[2]])
    expect(updated).to_have_attribute("aria-sort", "descending")
    expect(updated.locator(".sort-arrow")).to_have_text("▼")
    expect(domain).not_to_have_attribute("aria-sort", re.compile("."))
    page.get_by_role("link", name="Updated", exact=True).click()
    expect(_pids(page)).to_have_text([ids[2], ids[1], ids[3]])
    expect(updated).to_have_attribute("aria-sort", "ascending")
    expect(updated.locator(".sort-arrow")).to_have_text("▲")
    expect(_search(page)).to_have_value(tag)  # and the search stays while re-sorting
    assert page.console_errors == []


def test_paging_with_25_rows_per_page(page, live_server, auth, sandbox):
    existing = sdk_for(sandbox).vault.get(GetVaultEntriesFilters(decryptCredentials=False))
    tag = unique("page")
    for n in range(max(0, 60 - len(existing))):  # enough for three pages of 25
        make_entry(sandbox, permissioned_user_id=f"{tag}-{n:02d}", user_alias=f"Pager {tag} {n}")
    sign_in(page, live_server, auth, "pia", "viewer")
    count = page.locator(".results-count")
    match = re.search(r"of\s+(\d[\d,]*)\s+entries", count.inner_text())
    assert match, count.inner_text()
    total = int(match.group(1).replace(",", ""))
    assert total >= 60
    pages = page.get_by_role("navigation", name="Pages")
    current = pages.locator("[aria-current=page]")
    rows = page.locator("#entry-results tbody tr")

    page.get_by_label("Rows per page").select_option("25")
    expect(count).to_have_text(_shows(f"Showing 1–25 of {total} entries"))
    expect(rows).to_have_count(25)
    expect(current).to_have_text("1")
    expect(page).to_have_url(_param("per_page", "25"))
    expect(pages.get_by_text("‹ Previous")).not_to_have_attribute("href", re.compile("."))

    pages.get_by_role("link", name="Next ›").click()
    expect(count).to_have_text(_shows(f"Showing 26–50 of {total} entries"))
    expect(current).to_have_text("2")
    expect(page).to_have_url(_param("page", "2"))
    expect(page).to_have_url(_param("per_page", "25"))
    expect(rows).to_have_count(25)
    second_page = _pids(page).all_inner_texts()

    pages.get_by_role("link", name="3", exact=True).click()
    expect(count).to_have_text(_shows(f"Showing 51–{min(75, total)} of {total} entries"))
    expect(current).to_have_text("3")
    expect(page).to_have_url(_param("page", "3"))
    assert not set(_pids(page).all_inner_texts()) & set(second_page)

    pages.get_by_role("link", name="‹ Previous").click()
    expect(count).to_have_text(_shows(f"Showing 26–50 of {total} entries"))
    expect(current).to_have_text("2")
    expect(_pids(page)).to_have_text(second_page)

    page.get_by_label("Rows per page").select_option("50")  # back to the first page
    expect(count).to_have_text(_shows(f"Showing 1–50 of {total} entries"))
    expect(current).to_have_text("1")
    expect(rows).to_have_count(50)
    expect(page).to_have_url(_param("per_page", "50"))
    expect(page).not_to_have_url(re.compile(r"[?&]page=2"))
    assert page.console_errors == []
