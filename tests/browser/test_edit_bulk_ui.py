"""Bulk change from the entries list in real Chromium: tick rows, choose the change, preview,
apply with one upstream failure, then retry the one not applied. The official SDK confirms
what is stored."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.entries_support import fetch, make_entry

SEARCH_PLACEHOLDER = "Search alias, permissioned user or domain"


def _words(text: str) -> re.Pattern[str]:
    """``text`` with any whitespace between its words (the page wraps lines freely)."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()))


def test_bulk_concurrency_change_with_one_failure_then_retry(page, live_server, auth, sandbox):
    tag = unique("bulkui")
    entries = [
        make_entry(sandbox, permissioned_user_id=f"{tag}-{n}", user_alias=f"{tag} {n}")
        for n in ("a", "b", "c")
    ]
    aliases = [e.user_alias for e in entries]
    sign_in(page, live_server, auth, "bea", "editor")
    page.get_by_placeholder(SEARCH_PLACEHOLDER).fill(tag)
    rows = page.locator("#entry-results tbody td.cell-alias")
    expect(rows).to_have_text(aliases)

    bar = page.locator("#bulk-form")
    for alias in aliases:
        box = page.get_by_role("checkbox", name=f"Select {alias}")
        box.check()
        expect(box).to_be_checked()
    expect(bar).to_be_visible()
    change = bar.get_by_role("combobox", name="Change")
    expect(change).to_be_visible()
    change.select_option(label="Concurrency")
    bar.get_by_role("button", name="Bulk change…").click()

    # choose
    expect(page.get_by_role("heading", level=1)).to_have_text("Bulk change: concurrency")
    choose = page.locator("#bulk-choose-form")
    expect(choose.get_by_role("heading", name="Change for 3 entries")).to_be_visible()
    selected = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Selected entries")
    )
    expect(selected.locator("tbody tr td:first-child")).to_have_text(aliases)
    choose.get_by_label("Allow multiple sessions").select_option(label="Turn on")
    choose.get_by_label("Max concurrent sessions").select_option(label="Set to")
    choose.get_by_label("Limit").fill("5")
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

    # apply: one of the three PUTs fails upstream
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    apply_form.get_by_role("button", name="Apply to 3 entries").click()
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
    failed_alias = failed.locator("td").first.get_by_role("link").inner_text()
    assert failed_alias in aliases
    stored = {
        e.user_alias: fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency
        for e in entries
    }
    assert stored == {a: (None if a == failed_alias else 5) for a in aliases}
    assert sandbox.faults.list() == []

    # retry the one not applied: preview again, then apply
    page.get_by_role("button", name="Retry the 1 not applied").click()
    apply_form = page.locator("#bulk-apply-form")
    expect(apply_form.locator(".preview-summary")).to_have_text(
        _words("1 will change · 0 already as requested")
    )
    expect(apply_form.locator("tbody tr")).to_have_count(1)
    expect(apply_form.locator("tbody tr td").first).to_contain_text(failed_alias)
    apply_form.get_by_role("button", name="Apply to 1 entry").click()
    summary = page.get_by_role("status").filter(has_text="updated")
    expect(summary).to_contain_text(_words("1 updated."))
    expect(page.get_by_role("button", name=re.compile(r"^Retry the"))).to_have_count(0)
    results = page.locator("table.bulk-table tbody tr")
    expect(results).to_have_count(1)
    expect(results.locator("td").nth(1)).to_have_text("updated")

    for entry in entries:
        after = fetch(sandbox, entry.permissioned_user_id, entry.domain)
        assert after.max_concurrency == 5, entry.user_alias
        assert after.allow_multiple_sessions is True, entry.user_alias
    assert page.console_errors == []
