"""WCAG 2.2 AA in real Chromium, checked by axe-core on every page and state, light and dark.

axe-core is vendored (tests/browser/vendor/, version, source and SHA-256 in its README). The
console's strict CSP refuses Playwright's ``add_script_tag`` (an inline <script>), so the
source is evaluated through the DevTools protocol instead, which the page's CSP does not
govern; nothing about the page is loosened for the test.

Each theme gets one browser context that emulates ``prefers-color-scheme`` and also sets
the top bar's theme switch, then walks every page and state in a loop; violations with
impact serious or critical are collected and reported together (rule ids and targets).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudcruise.vault.types import VaultEntryInput
from playwright.sync_api import Error, Page, expect

from tests.browser.test_responsive import (
    Site,
    console_errors,
    first_audit_event,
    new_context,
    open_bulk_choose,
    sign_in_as,
    start_site,
    vault_pages,
)
from tests.entries_support import sdk_for

VENDOR = Path(__file__).parent / "vendor"
AXE_VERSION = "4.14.1"
AXE = VENDOR / f"axe-{AXE_VERSION}.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}
SECTIONS = ["credentials", "twofactor", "session", "concurrency", "proxy", "provider"]
WIDTH = 1360


def test_vendored_axe_matches_its_recorded_checksum():
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256
    readme = (VENDOR / "README.md").read_text()
    assert AXE_SHA256 in readme and AXE_VERSION in readme
    assert data.startswith(f"/*! axe v{AXE_VERSION}".encode())


def test_the_csp_refuses_axe_as_an_inline_script_tag(browser, site):
    """Why axe is evaluated rather than added with add_script_tag: the CSP holds."""
    context = new_context(browser, WIDTH)
    page = context.new_page()
    errors = console_errors(page)
    try:
        page.goto(site.url + "/login")
        with pytest.raises(Error, match="Content Security Policy"):
            page.add_script_tag(path=str(AXE))
        assert page.evaluate("typeof window.axe") == "undefined"
        inject_axe(page)
    finally:
        context.close()
    assert any("Content Security Policy" in e for e in errors)


@pytest.fixture(scope="module")
def site(tmp_path_factory, sandbox, other_vaults) -> Iterator[Site]:
    running, server = start_site(tmp_path_factory.mktemp("a11y"), sandbox)
    yield running
    server.stop()
    server.app.extensions["upstream"].close()


def inject_axe(page: Page) -> None:
    """axe-core into the current document, evaluated (see the module docstring)."""
    if page.evaluate("typeof window.axe") != "object":
        page.evaluate(AXE.read_text())
    assert page.evaluate("window.axe.version") == AXE_VERSION


def settle(page: Page) -> None:
    """Let short animations (fade-ins of swapped-in forms, toasts) end: axe measures the
    colours on screen, and a half-faded text is not what the operator reads."""
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter(a => { const t = a.effect && a.effect.getComputedTiming();
                           return t && t.iterations !== Infinity && t.duration < 1000; })
            .map(a => a.finished.catch(() => null)))"""
    )


def blocking_violations(page: Page) -> list[dict]:
    settle(page)
    inject_axe(page)
    violations = page.evaluate(
        """(tags) => axe.run(document, {runOnly: tags}).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ")),
            summary: v.nodes[0] ? v.nodes[0].failureSummary : ""
        })))""",
        TAGS,
    )
    return [v for v in violations if v["impact"] in BLOCKING]


def set_theme_switch(page: Page, theme: str) -> None:
    """Choose ``theme`` with the top bar's switch (inside the menu when it is collapsed)."""
    button = page.get_by_role("banner").get_by_role("button", name="Menu")
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()
    switch = page.get_by_role("group", name="Colour theme")
    switch.get_by_role("button", name=theme.capitalize()).click()
    expect(switch.get_by_role("button", name=theme.capitalize())).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("html")).to_have_attribute("data-theme", theme)


class Tour:
    """Runs axe on each state visited and keeps what it finds."""

    def __init__(self, page: Page, site: Site, theme: str) -> None:
        self.page, self.site, self.theme = page, site, theme
        self.found: list[str] = []
        self.checked: list[str] = []

    def check(self, state: str) -> None:
        self.page.wait_for_load_state("load")
        # the theme reached the page: <html data-theme> from the switch, applied colours
        assert self.page.evaluate("document.documentElement.dataset.theme") == self.theme
        for v in blocking_violations(self.page):
            targets = ", ".join(v["targets"][:5]) + (" …" if len(v["targets"]) > 5 else "")
            self.found.append(
                f"[{self.theme}] {state}: {v['id']} ({v['impact']}, {len(v['targets'])}×) "
                f"{v['help']} → {targets}\n      {v['summary'].splitlines()[-1].strip()}"
            )
        self.checked.append(state)

    def visit(self, state: str, path: str) -> None:
        self.page.goto(self.site.url + path)
        self.check(state)


def _edit(page: Page, section: str):
    card = page.locator(f"#section-{section}")
    card.get_by_role("link", name=f"Edit {section}").click()
    form = card.locator(f"form#form-{section}")
    expect(form).to_be_visible()
    return card, form


def _cancel(page: Page, section: str) -> None:
    card = page.locator(f"#section-{section}")
    card.get_by_role("link", name=re.compile(r"^(Cancel|Discard mine)$")).click()
    expect(card.get_by_role("link", name=f"Edit {section}")).to_be_visible()


def walk(tour: Tour) -> None:
    page, site = tour.page, tour.site
    entry = site.entry
    detail = f"/entries/{entry.id}"

    tour.visit("entries list", "/entries")
    tour.visit("entries list, filtered", f"/entries?q={site.tag}")
    tour.visit("entries list, no match", "/entries?q=no-such-entry-anywhere")
    tour.visit("entry detail", detail)
    for section in SECTIONS:
        _edit(page, section)
        tour.check(f"entry detail, {section} editor open")
        _cancel(page, section)

    # a 422: refused beside the field
    _, form = _edit(page, "concurrency")
    form.get_by_label("Max concurrent sessions").fill("0")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".field-error")).to_be_visible()
    tour.check("entry detail, invalid save (422)")
    _cancel(page, "concurrency")

    # a 409: someone else saved meanwhile
    _, form = _edit(page, "concurrency")
    sdk_for(site.sandbox).vault.update(
        VaultEntryInput(
            domain=entry.domain, permissioned_user_id=entry.permissioned_user_id, max_concurrency=7
        )
    )
    form.get_by_label("Max concurrent sessions").fill("4")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".conflict")).to_be_visible()
    tour.check("entry detail, conflict panel (409)")
    _cancel(page, "concurrency")

    # a toast after a save
    _, form = _edit(page, "concurrency")
    form.get_by_label("Max concurrent sessions").fill("3")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts .toast")).to_be_visible()
    tour.check("entry detail, toast after a save")

    tour.visit("new entry", "/entries/new")

    open_bulk_choose(page, site)
    tour.check("bulk change, choose")
    choose = page.locator("#bulk-choose-form")
    # by field name: the labels are the catalogue's and may be reworded
    choose.locator("select[name=allow_multiple_sessions]").select_option(label="Turn on")
    choose.locator("select[name=max_concurrency_action]").select_option(label="Set to")
    limit = "5" if tour.theme == "light" else "6"  # a change on each run
    choose.locator("input[name=max_concurrency]").fill(limit)
    choose.get_by_role("button", name="Preview the change").click()
    apply = page.get_by_role("button", name=re.compile(r"^Apply to \d+ entr"))
    expect(apply).to_be_visible()
    tour.check("bulk change, preview")
    apply.click()
    expect(page.locator("table.bulk-table tbody tr").first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Apply to"))).to_have_count(0)
    tour.check("bulk change, results")

    tour.visit("audit log", "/audit")
    tour.visit("audit event", first_audit_event(page, site))
    tour.visit("entry history", f"/audit/entry/{entry.id}")
    tour.visit("overview", "/overview")
    tour.visit("Qoder vaults", "/qoder")
    tour.visit("r4 vaults", "/r4")
    for state, path in vault_pages(page, site).items():
        tour.visit(state, path)
    tour.visit("search results", f"/search?q={site.tag}")
    tour.visit("status", "/status")
    tour.visit("not found (404)", "/entries/no/such/page")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_or_critical_axe_violations(browser, site, theme):
    context = new_context(browser, WIDTH, color_scheme=theme)
    page = context.new_page()
    errors = console_errors(page)
    tour = Tour(page, site, theme)
    try:
        page.goto(site.url + "/login")
        set_theme_switch(page, theme)
        tour.check("login")
        sign_in_as(page, site)
        expect(page.locator("html")).to_have_attribute("data-theme", theme)  # remembered
        walk(tour)
    finally:
        context.close()
    assert len(tour.checked) >= 30
    assert not tour.found, (
        f"{len(tour.found)} serious/critical axe violations ({theme}):\n" + "\n".join(tour.found)
    )
    # 409 and 422 are answered on purpose (htmx swaps them in), 404 by the not-found page;
    # nothing else may be logged
    unexpected = [e for e in errors if not re.search(r"status of (404|409|422) ", e)]
    assert unexpected == [], "script errors or CSP violations"


def test_theme_follows_the_system_until_the_switch_overrides_it(browser, site):
    """No choice: prefers-color-scheme decides. A choice is remembered per browser (across
    pages and reloads), applied by the blocking theme.js before the stylesheet paints."""
    dark_bg, light_bg = "rgb(15, 19, 25)", "rgb(245, 246, 248)"
    context = new_context(browser, 390, color_scheme="dark")
    page = context.new_page()
    errors = console_errors(page)

    def background() -> str:
        return page.evaluate("getComputedStyle(document.body).backgroundColor")

    try:
        page.goto(site.url + "/login")
        assert page.evaluate("document.documentElement.hasAttribute('data-theme')") is False
        assert background() == dark_bg
        switch = page.get_by_role("group", name="Colour theme")
        expect(switch.get_by_role("button", name="System")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.emulate_media(color_scheme="light")
        assert background() == light_bg

        set_theme_switch(page, "dark")
        assert background() == dark_bg
        sign_in_as(page, site)
        assert background() == dark_bg
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        # theme.js runs before the stylesheet, blocking (not deferred): no light flash
        head = page.evaluate(
            """() => [...document.head.querySelectorAll('script, link[rel=stylesheet]')]
                .map(e => e.tagName + (e.defer ? ' defer' : '') + ' ' + (e.src || e.href))"""
        )
        theme_at = next(i for i, tag in enumerate(head) if "/js/theme.js" in tag)
        css_at = next(i for i, tag in enumerate(head) if "/css/app.css" in tag)
        assert theme_at < css_at and "defer" not in head[theme_at]
        assert all(" defer " in tag for tag in head if tag.startswith("SCRIPT") and
                   "theme.js" not in tag), head  # fmt: skip

        set_theme_switch(page, "light")
        page.emulate_media(color_scheme="dark")
        assert background() == light_bg  # the choice beats the system

        page.get_by_role("group", name="Colour theme").get_by_role("button", name="System").click()
        assert page.evaluate("document.documentElement.hasAttribute('data-theme')") is False
        assert background() == dark_bg
        page.reload()
        assert background() == dark_bg
    finally:
        context.close()
    assert errors == []
