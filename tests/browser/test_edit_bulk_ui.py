"""Bulk change from the entries list in real Chromium: the selection (kept across searches,
filters and pages, disabled at none), choose the change, preview, apply with one upstream
failure, the results at their batch URL (reload and Back never apply again), then retry the
one not applied. The official SDK confirms what is stored; the audit log counts batches."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import fetch, make_entry

SEARCH_PLACEHOLDER = "Search alias, permissioned user or domain"
RESULTS_URL = re.compile(r"/entries/bulk/([0-9a-f]{32})$")


def _words(text: str) -> re.Pattern[str]:
    """``text`` with any whitespace between its words (the page wraps lines freely)."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()))


def _batches(app) -> set[str]:
    """The batch ids in the audit log."""
    from app.extensions import db
    from app.models import AuditEvent

    with app.app_context():
        return set(
            db.session.scalars(select(AuditEvent.batch_id).where(AuditEvent.batch_id.is_not(None)))
        )


def _search(page, text: str) -> None:
    page.get_by_placeholder(SEARCH_PLACEHOLDER).fill(text)


def test_bulk_concurrency_change_with_one_failure_then_retry(page, live_server, auth, sandbox, app):
    tag = unique("bulkui")
    entries = [
        make_entry(sandbox, permissioned_user_id=f"{tag}-{n}", user_alias=f"{tag} {n}")
        for n in ("a", "b", "c")
    ]
    aliases = [e.user_alias for e in entries]
    sign_in(page, live_server, auth, "bea", "editor")
    _search(page, tag)
    rows = page.locator("#entry-results tbody td.cell-alias")
    expect(rows).to_have_text(aliases)

    bar = page.locator("#bulk-form")
    for alias in aliases:
        box = page.get_by_role("checkbox", name=f"Select {alias}")
        box.check()
        expect(box).to_be_checked()
    expect(bar).to_be_visible()
    expect(bar.locator(".bulk-count")).to_have_text("3 selected")
    change = bar.get_by_role("combobox", name="Change")
    expect(change).to_be_visible()
    change.select_option(label="Concurrency")
    bar.get_by_role("button", name="Bulk change…").click()

    # choose: every field starts at "Keep as is"; the first is focused
    expect(page.get_by_role("heading", level=1)).to_have_text("Bulk change: concurrency")
    choose = page.locator("#bulk-choose-form")
    expect(choose.get_by_role("heading", name="Change for 3 entries")).to_be_visible()
    selected = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Selected entries")
    )
    expect(selected.locator("tbody tr td:first-child")).to_have_text(aliases)
    multiple = choose.get_by_label("Allow multiple sessions")
    expect(multiple).to_be_focused()
    for choice in choose.locator("select").all():
        expect(choice.locator("option:checked")).to_have_text("Keep as is")
    multiple.select_option(label="Turn on")
    choose.get_by_label("Max concurrent sessions", exact=True).select_option(label="Set to")
    choose.get_by_label("Max concurrent sessions: limit").fill("5")
    choose.get_by_role("button", name="Preview the change").click()

    # preview: nothing is written yet
    apply_form = page.locator("#bulk-apply-form")
    expect(apply_form.locator(".preview-summary")).to_have_text(
        _words("3 will change · 0 already as requested")
    )
    expect(apply_form).to_contain_text("Allow multiple sessions → Yes; Max concurrent sessions → 5")
    expect(apply_form.locator("tbody tr")).to_have_count(3)
    for row in apply_form.locator("tbody tr").all():
        expect(row.locator("td").nth(3)).to_have_text("will change")
        expect(row.locator("td").nth(2)).to_contain_text("Max concurrent sessions: 5")
    for entry in entries:
        assert fetch(sandbox, entry.permissioned_user_id, entry.domain).max_concurrency is None
    assert _batches(app) == set()

    # apply: one of the three PUTs fails upstream; the results have their own URL
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    apply_form.get_by_role("button", name="Apply to 3 entries").click()
    page.wait_for_url(RESULTS_URL)
    batch = RESULTS_URL.search(page.url)[1]
    summary = page.get_by_role("status").filter(has_text="updated")
    expect(summary).to_contain_text(_words("2 updated, 1 failed."))
    results = page.locator("table.bulk-table tbody tr")
    expect(results).to_have_count(3)
    expect(results.locator("td:nth-child(2)")).to_have_text([re.compile(r"^(updated|failed)$")] * 3)
    failed = results.filter(has=page.locator(".badge", has_text="failed"))
    expect(failed).to_have_count(1)
    expect(failed.locator("td").nth(2)).to_contain_text("CloudCruise answered 503")
    updated = results.filter(has=page.locator(".badge", has_text="updated"))
    expect(updated).to_have_count(2)
    expect(updated.locator("td:nth-child(3)")).to_have_text(
        ["Allow multiple sessions: No → Yes, Max concurrent sessions: Unlimited → 5"] * 2
    )
    failed_alias = failed.locator("td").first.get_by_role("link").inner_text()
    assert failed_alias in aliases
    stored = {
        e.user_alias: fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency
        for e in entries
    }
    assert stored == {a: (None if a == failed_alias else 5) for a in aliases}
    assert sandbox.faults.list() == []
    assert _batches(app) == {batch}

    # reload: the same results, read again from the audit log; nothing applied again
    page.reload()
    expect(page.get_by_role("status").filter(has_text="updated")).to_contain_text(
        _words("2 updated, 1 failed.")
    )
    assert _batches(app) == {batch}
    # Back: the list (the wizard's steps left no POST answers in the history)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/entries(\?.*)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vault entries")
    assert _batches(app) == {batch}
    # the selection was used up by applying
    expect(bar.locator(".bulk-count")).to_have_text("0 selected")
    page.go_forward()
    page.wait_for_url(RESULTS_URL)
    assert _batches(app) == {batch}

    # retry the one not applied: preview again, then apply
    page.get_by_role("button", name="Retry the 1 not applied").click()
    apply_form = page.locator("#bulk-apply-form")
    expect(apply_form.locator(".preview-summary")).to_have_text(
        _words("1 will change · 0 already as requested")
    )
    expect(apply_form.locator("tbody tr")).to_have_count(1)
    expect(apply_form.locator("tbody tr td").first).to_contain_text(failed_alias)
    apply_form.get_by_role("button", name="Apply to 1 entry").click()
    page.wait_for_url(lambda url: RESULTS_URL.search(url) and batch not in url)
    summary = page.get_by_role("status").filter(has_text="updated")
    expect(summary).to_contain_text(_words("1 updated."))
    expect(page.get_by_role("button", name=re.compile(r"^Retry the"))).to_have_count(0)
    results = page.locator("table.bulk-table tbody tr")
    expect(results).to_have_count(1)
    expect(results.locator("td").nth(1)).to_have_text("updated")
    assert len(_batches(app)) == 2

    for entry in entries:
        after = fetch(sandbox, entry.permissioned_user_id, entry.domain)
        assert after.max_concurrency == 5, entry.user_alias
        assert after.allow_multiple_sessions is True, entry.user_alias
    assert page.console_errors == []


def test_the_selection_survives_searches_and_pages_and_is_needed_to_start(
    page, live_server, auth, sandbox
):
    tag = unique("bulksel")
    many = [
        make_entry(sandbox, permissioned_user_id=f"{tag}-{n:02}", user_alias=f"{tag} {n:02}")
        for n in range(27)
    ]
    other_tag = unique("bulkother")
    other = make_entry(sandbox, user_alias=f"{other_tag} x")
    sign_in(page, live_server, auth, "sel", "editor")
    bar = page.locator("#bulk-form")
    count = bar.locator(".bulk-count")
    start = bar.get_by_role("button", name="Bulk change…")
    clear = bar.get_by_role("button", name="clear")

    # nothing selected: the button is disabled, and "clear" has nothing to clear
    expect(count).to_have_text("0 selected")
    expect(start).to_be_disabled()
    expect(clear).to_be_hidden()

    _search(page, tag)
    expect(page.locator("#entry-results tbody tr")).to_have_count(27)
    page.get_by_label("Rows per page").select_option("25")
    expect(page.locator("#entry-results tbody tr")).to_have_count(25)  # page 1 of 2
    page.get_by_role("checkbox", name=f"Select {many[0].user_alias}").check()
    page.get_by_role("checkbox", name=f"Select {many[1].user_alias}").check()
    expect(count).to_have_text("2 selected")
    expect(start).to_be_enabled()
    expect(clear).to_be_visible()

    # another page: the ticks on page 1 are kept, and one more is added here
    page.locator(".pagination").get_by_role("link", name="Next ›").click()
    expect(page.locator("#entry-results tbody tr")).to_have_count(2)
    page.get_by_role("checkbox", name=f"Select {many[26].user_alias}").check()
    expect(count).to_have_text("3 selected")

    # another search: the three are still selected; one from these results joins them
    _search(page, other_tag)
    expect(page.locator("#entry-results tbody td.cell-alias")).to_have_text([other.user_alias])
    page.get_by_role("checkbox", name=f"Select {other.user_alias}").check()
    expect(count).to_have_text("4 selected")

    # back to the first search: its ticked rows are ticked again
    _search(page, tag)
    expect(page.locator("#entry-results tbody tr")).to_have_count(25)
    expect(page.get_by_role("checkbox", name=f"Select {many[0].user_alias}")).to_be_checked()
    expect(page.get_by_role("checkbox", name=f"Select {many[2].user_alias}")).not_to_be_checked()
    # a filter change keeps them too, and so does a reload
    proxy_filter = page.get_by_label("Proxy mode")
    proxy_filter.select_option(index=1)
    expect(page).to_have_url(re.compile(r"proxy=\w"))
    expect(count).to_have_text("4 selected")
    proxy_filter.select_option(index=0)
    expect(page.get_by_role("checkbox", name=f"Select {many[1].user_alias}")).to_be_checked()
    page.reload()
    expect(count).to_have_text("4 selected")
    expect(page.get_by_role("checkbox", name=f"Select {many[1].user_alias}")).to_be_checked()

    # the selection is what the bulk change is for, from every page and search
    bar.get_by_role("combobox", name="Change").select_option(label="Session persistence")
    start.click()
    choose = page.locator("#bulk-choose-form")
    expect(choose.get_by_role("heading", name="Change for 4 entries")).to_be_visible()
    expected = sorted(e.user_alias for e in (many[0], many[1], many[26], other))
    rows = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Selected entries")
    )
    assert sorted(rows.locator("tbody tr td:first-child").all_inner_texts()) == expected

    # Cancel: back at the list, still selected; "clear" empties it and disables the button
    choose.get_by_role("link", name="Cancel").click()
    expect(count).to_have_text("4 selected")
    clear.click()
    expect(count).to_have_text("0 selected")
    expect(start).to_be_disabled()
    expect(page.locator("#entry-results input[name=ids]:checked")).to_have_count(0)
    # "all entries matching" needs no ticks
    bar.get_by_label("all entries matching the filters").check()
    expect(start).to_be_enabled()
    assert page.console_errors == []


def test_contradictory_input_is_refused_beside_the_field(page, live_server, auth, sandbox):
    tag = unique("bulkbad")
    entry = make_entry(sandbox, user_alias=f"{tag} a")
    sign_in(page, live_server, auth, "con", "editor")
    _search(page, tag)
    page.get_by_role("checkbox", name=f"Select {entry.user_alias}").check()
    bar = page.locator("#bulk-form")
    bar.get_by_role("combobox", name="Change").select_option(label="Session expiry")
    bar.get_by_role("button", name="Bulk change…").click()
    choose = page.locator("#bulk-choose-form")
    choose.get_by_label("Expire after last use", exact=True).select_option(label="No expiry")
    interval = choose.get_by_label("Expire after last use: interval")
    interval.fill("2 hours")
    choose.get_by_role("button", name="Preview the change").click()
    field = page.get_by_label("Expire after last use: interval")
    error = choose.locator(".field", has=field).locator(".field-error")
    expect(error).to_have_text("“No expiry” takes no value; clear this field.")
    expect(interval).to_have_attribute("aria-invalid", "true")
    expect(interval).to_be_focused()
    expect(page.locator("#bulk-apply-form")).to_have_count(0)
    # the 422 is by design (htmx swaps it in place); nothing else may appear
    assert [e for e in page.console_errors if "422" not in e] == []
