"""Phones, tablets and laptops in real Chromium: no page scrolls sideways at 320, 390, 768,
1024 or 1440 px, and the navigation reaches every page, through the menu button where it
is collapsed (a real <button aria-expanded aria-controls>; Escape closes it; without
JavaScript the navigation simply stays open).

One console (``site``) serves the whole module; each width gets one browser context that
signs in once and walks every page in a loop. Wide tables may scroll inside their own
``.table-wrap``, never the page. ``tests/browser/test_a11y.py`` reuses the helpers here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import AuthActions, LiveServer, make_app, unique
from tests.entries_support import make_entry

WIDTHS = [320, 390, 768, 1024, 1440]
HEIGHT = 800
PASSWORD = AuthActions.PASSWORD


@dataclass
class Site:
    """A live console with an admin (sees every page) and a few entries of its own."""

    url: str
    tag: str
    sandbox: Any
    entries: list = field(default_factory=list)

    @property
    def entry(self):
        return self.entries[0]


def start_site(tmp_path, sandbox, user: str = "ada") -> tuple[Site, LiveServer]:
    from app.services import operators

    app = make_app(tmp_path, sandbox)
    with app.app_context():
        operators.create(user, "admin", PASSWORD)
    server = LiveServer(app).start()
    tag = unique("looks")
    entries = [
        make_entry(
            sandbox,
            permissioned_user_id=f"{tag}-{n}",
            user_alias=f"Looks {tag} {n}",
            allow_multiple_sessions=True,
            max_concurrency=2,
        )  # fmt: skip
        for n in ("a", "b")
    ]
    return Site(server.url, tag, sandbox, entries), server


@pytest.fixture(scope="module")
def site(tmp_path_factory, sandbox, other_vaults) -> Iterator[Site]:
    running, server = start_site(tmp_path_factory.mktemp("responsive"), sandbox)
    yield running
    server.stop()
    server.app.extensions["upstream"].close()


def new_context(browser: Browser, width: int, **options) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": HEIGHT}, **options)
    context.set_default_timeout(10_000)
    return context


def sign_in_as(page: Page, site: Site, user: str = "ada") -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/entries**")


def hrefs(page: Page, selector: str) -> list[str]:
    return [href for a in page.locator(selector).all() if (href := a.get_attribute("href"))]


def vault_pages(page: Page, site: Site) -> dict[str, str]:
    """Paths of the other vaults' pages (ids differ per emulator), found by following links."""
    page.goto(site.url + "/qoder")
    qoder_vault = hrefs(page, "main table tbody a[href*='/qoder/vaults/']")[0]
    page.goto(site.url + "/r4")
    r4_vaults = hrefs(page, "main table tbody a[href*='/r4/vaults/']")
    page.goto(site.url + r4_vaults[0])
    r4_item = hrefs(page, "main table tbody a[href*='/items/']")[0]
    a, b = (path.rsplit("/", 1)[1] for path in r4_vaults[:2])
    return {
        "Qoder vault": qoder_vault,
        "r4 vault": r4_vaults[0],
        "r4 item": r4_item,
        "compare": f"/compare?provider=r4&a={a}&b={b}",
    }


def first_audit_event(page: Page, site: Site) -> str:
    page.goto(site.url + "/audit")
    return hrefs(page, "main table tbody a[aria-label^='Details of event']")[0]


def open_bulk_choose(page: Page, site: Site) -> None:
    """Tick this module's entries on the list and go to the bulk change's choose step."""
    page.goto(f"{site.url}/entries?q={site.tag}")
    for entry in site.entries:
        page.get_by_role("checkbox", name=f"Select {entry.user_alias}").check()
    page.get_by_role("combobox", name="Change").select_option(label="Concurrency")
    page.get_by_role("button", name="Bulk change…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bulk change: concurrency")


def page_width(page: Page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def wide_elements(page: Page) -> list[str]:
    """What sticks out past the right edge (outside any scrolling box): for the message."""
    return page.evaluate(
        """() => { const W = innerWidth, out = [];
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.width === 0 || r.right <= W + 1) continue;
          let p = el.parentElement, inside = false;
          for (; p; p = p.parentElement) {
            if (/(auto|scroll|hidden|clip)/.test(getComputedStyle(p).overflowX)
                && p.getBoundingClientRect().right <= W + 1) { inside = true; break; }
          }
          const name = `${el.tagName.toLowerCase()}.${el.className}`;
          if (!inside) out.push(`${name} (${Math.round(r.right)} px)`);
        }
        return out.slice(0, 6); }"""
    )


def console_errors(page: Page) -> list[str]:
    """Script errors and CSP violations logged by ``page`` from now on."""
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def menu_button(page: Page):
    return page.get_by_role("banner").get_by_role("button", name="Menu")


def open_menu_if_collapsed(page: Page) -> None:
    button = menu_button(page)
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")


# -- no sideways scrolling ---------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browser, site, width):
    context = new_context(browser, width)
    page = context.new_page()
    wide: list[str] = []

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        scroll, inner = page_width(page)
        if scroll > inner:
            wide.append(f"{name} ({page.url}): {scroll} px > {inner} px; {wide_elements(page)}")

    try:
        page.goto(site.url + "/login")
        check("login")
        sign_in_as(page, site)
        others = vault_pages(page, site)
        event = first_audit_event(page, site)
        pages = {
            "entries list": "/entries",
            "new entry": "/entries/new",
            "overview": "/overview",
            "audit log": "/audit",
            "audit detail": event,
            "entry history": f"/audit/entry/{site.entry.id}",
            "Qoder vaults": "/qoder",
            "r4 vaults": "/r4",
            **others,
            "search results": "/search?q=prod",
            "status": "/status",
            "not found": "/entries/no/such/page",
        }
        for name, path in pages.items():
            page.goto(site.url + path)
            check(name)

        # the entries list stays usable: every column of a row on screen (cards below
        # 1000 px, all nine columns above), nothing hidden in a sideways-scrolling table
        page.goto(f"{site.url}/entries?q={site.tag}")
        check("entries list, filtered")
        cut = page.evaluate(
            """() => [...document.querySelectorAll('#entry-results tbody tr:first-child td')]
                .filter(td => td.getBoundingClientRect().right > innerWidth
                              || td.getBoundingClientRect().width === 0)
                .map(td => td.className || td.cellIndex)"""
        )
        wrap = page.locator("#entry-results .table-wrap")
        scrolls = wrap.evaluate("w => w.scrollWidth > w.clientWidth")
        if cut or scrolls:
            wide.append(f"entries list: columns cut {cut}, table scrolls sideways: {scrolls}")

        page.goto(f"{site.url}/entries/{site.entry.id}")
        check("entry detail")
        card = page.locator("#section-credentials")
        card.get_by_role("link", name="Edit credentials").click()
        expect(card.locator("form#form-credentials")).to_be_visible()
        check("entry detail, credentials editor open")

        open_bulk_choose(page, site)
        check("bulk choose")

        page.goto(site.url + "/entries")
        open_menu_if_collapsed(page)
        check("entries list, menu open")
    finally:
        context.close()
    assert not wide, f"pages wider than {width} px:\n" + "\n".join(wide)


# -- the navigation reaches every page -----------------------------------------------------
NAV = [  # (group, link, heading of the page it opens)
    ("Vault service", "CloudCruise", "Vault entries"),
    ("Vault service", "Qoder", "Qoder vaults"),
    ("Vault service", "r4", "r4 vaults"),
    (None, "Overview", "Overview"),
    (None, "Audit log", "Audit log"),
    (None, "Status", "Status"),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_navigation_reaches_every_page(browser, site, width):
    context = new_context(browser, width)
    page = context.new_page()
    errors = console_errors(page)
    try:
        sign_in_as(page, site)
        collapsed = menu_button(page).is_visible()
        assert collapsed == (width < 1200), "the menu button shows below 1200 px only"
        nav = page.get_by_role("navigation", name="Main")
        for group, name, heading in NAV:
            open_menu_if_collapsed(page)
            scope = nav.get_by_role("group", name=group) if group else nav
            scope.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            open_menu_if_collapsed(page)
            expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute(
                "aria-current", "page"
            )
        # the search box and Sign out are in the menu too
        open_menu_if_collapsed(page)
        search = page.get_by_role("banner").get_by_role("searchbox", name="Search everywhere")
        search.fill("stripe")
        search.press("Enter")
        expect(page).to_have_url(re.compile(r"/search\?q=stripe$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Search everywhere")
        open_menu_if_collapsed(page)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_role("group", name="Colour theme")).to_be_visible()
        assert errors == [], "script errors or CSP violations"
    finally:
        context.close()


def test_menu_button_works_with_the_keyboard_and_escape_closes_it(browser, site):
    context = new_context(browser, 390)
    page = context.new_page()
    try:
        sign_in_as(page, site)
        button = menu_button(page)
        menu_id = button.get_attribute("aria-controls")
        assert menu_id and page.locator(f"#{menu_id}").count() == 1
        menu = page.locator(f"#{menu_id}")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(menu).to_be_hidden()

        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")  # the brand
        page.keyboard.press("Tab")
        expect(button).to_be_focused()
        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(menu).to_be_visible()
        page.keyboard.press("Tab")
        expect(menu.get_by_role("link", name="CloudCruise")).to_be_focused()
        page.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(menu).to_be_hidden()
        expect(button).to_be_focused()
        page.keyboard.press("Space")
        expect(menu).to_be_visible()
        button.click()
        expect(menu).to_be_hidden()
    finally:
        context.close()


def test_without_javascript_the_navigation_stays_open(browser, site):
    context = new_context(browser, 390, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in_as(page, site)
        expect(menu_button(page)).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        for name in ("CloudCruise", "Qoder", "r4", "Overview", "Audit log", "Status"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        scroll, inner = page_width(page)
        assert scroll <= inner
        nav.get_by_role("link", name="Overview", exact=True).click()
        expect(page).to_have_url(re.compile(r"/overview$"))
    finally:
        context.close()
