"""Keyboard only, in real Chromium: focus that follows htmx swaps, and the shortcuts.

No mouse anywhere: Tab / Shift+Tab / Enter / Escape / arrows and the "/" and "?" shortcuts.
After every step the test asks the page where focus is (``document.activeElement``): after a
swap it must be on the control the operator expects, never fallen back to <body>.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudcruise.vault.types import VaultEntryInput
from playwright.sync_api import Locator, Page, expect

from tests.conftest import unique
from tests.entries_support import make_entry, sdk_for

UNPROCESSABLE = (
    "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
)
CONFLICT = "Failed to load resource: the server responded with a status of 409 (CONFLICT)"

ACTIVE_JS = """() => {
  const e = document.activeElement || document.body;
  const form = e.closest("form"), section = e.closest("section[id]");
  return {
    tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute("name") || "",
    label: e.getAttribute("aria-label") || "", key: e.getAttribute("data-focus-key") || "",
    text: (e.textContent || "").trim(), form: form ? form.id : "",
    section: section ? section.id : "", dialog: !!e.closest("dialog[open]"),
  };
}"""

#: the field each editor opens on
FIRST_FIELD = {
    "credentials": "user_alias",
    "twofactor": "tfa_method",
    "session": "persist_cookies",
    "concurrency": "allow_multiple_sessions",
    "proxy": "proxy_setting",
    "provider": "binding",
}


# -- helpers ----------------------------------------------------------------------------
def _active(page: Page) -> dict:
    return page.evaluate(ACTIVE_JS)


def _tab_to(page: Page, wanted: Callable[[dict], bool], back: bool = False, limit=120) -> dict:
    """Press Tab (or Shift+Tab) until the focused element is the one wanted."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        active = _active(page)
        if wanted(active):
            return active
        seen.append(active.get("label") or active.get("id") or active.get("text", "")[:20])
    raise AssertionError(f"never reached by {'Shift+' if back else ''}Tab; went through {seen}")


def _edit_link(page: Page, section: str) -> Locator:
    return page.locator(f'#section-{section} .card-head a[aria-label="Edit {section}"]')


def _is_edit(section: str) -> Callable[[dict], bool]:
    return lambda a: a.get("label") == f"Edit {section}"


def _mark(page: Page) -> None:
    """Remember the focused element, to tell afterwards that a swap replaced it."""
    page.evaluate("window.__before = document.activeElement")


def _replaced(page: Page) -> bool:
    return page.evaluate("document.activeElement !== window.__before")


def _value(card: Locator, label: str) -> Locator:
    return card.locator(f"xpath=.//dt[normalize-space()='{label}']/following-sibling::dd[1]")


def _sign_in_by_keyboard(page: Page, live_server, auth) -> None:
    auth.create("kim", "editor")
    page.goto(live_server.url + "/login")
    _tab_to(page, lambda a: a["id"] == "username")
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    assert _active(page)["id"] == "password"
    page.keyboard.type(auth.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/entries**")


# -- the flow -----------------------------------------------------------------------------
def test_keyboard_only_find_edit_save_cancel_sort_and_help(page, live_server, auth, sandbox):
    tag = unique("kbd")
    entry = make_entry(sandbox, permissioned_user_id=tag, user_alias=f"Keys {tag}")
    _sign_in_by_keyboard(page, live_server, auth)

    # "/" focuses the list's own search box; type to find the entry
    page.keyboard.press("/")
    assert _active(page)["id"] == "q"
    page.keyboard.type(tag)
    expect(page.locator("#entry-results tbody td.cell-pid")).to_have_text([tag])
    assert _active(page)["id"] == "q"  # the live search swap left focus in the box

    # Tab to the entry's link, Enter opens it
    _tab_to(page, lambda a: a["tag"] == "a" and a["text"] == f"Keys {tag}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/entries/{entry.id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.evaluate("window.__marker = 'same document'")

    # no search box of its own here: "/" goes to the global search; "?" while typing is typed
    page.keyboard.press("/")
    assert _active(page)["id"] == "topbar-q"
    page.keyboard.type("?")
    expect(page.locator("#topbar-q")).to_have_value("?")
    expect(page.locator("#shortcuts-dialog")).not_to_have_attribute("open", "")
    page.keyboard.press("Backspace")

    # Proxy: Edit → focus in the editor; change the mode with arrows; Tab to Save, Enter
    _tab_to(page, _is_edit("proxy"))
    page.keyboard.press("Enter")
    mode = page.locator("#form-proxy #proxy_setting")
    expect(mode).to_be_focused()
    active = _active(page)
    assert (active["form"], active["id"]) == ("form-proxy", "proxy_setting")
    expect(mode).to_have_value("none")
    page.keyboard.press("ArrowDown")
    expect(mode).to_have_value("random")
    _tab_to(page, lambda a: a["form"] == "form-proxy" and a["text"] == "Save")
    page.keyboard.press("Enter")
    expect(page.locator("#form-proxy")).to_have_count(0)
    expect(_edit_link(page, "proxy")).to_be_focused()
    assert _active(page)["label"] == "Edit proxy"
    expect(_value(page.locator("#section-proxy"), "Proxy mode")).to_have_text("Random (managed)")

    # every editor opens with focus on its first field; Escape puts focus on its Edit link
    _tab_to(page, _is_edit("credentials"), back=True)
    for section, field in FIRST_FIELD.items():
        if section != "credentials":
            _tab_to(page, _is_edit(section))
        page.keyboard.press("Enter")
        expect(page.locator(f"#form-{section}")).to_be_visible()
        expect(page.locator(f"#form-{section} [name={field}]:focus")).to_have_count(1)
        active = _active(page)
        assert (active["form"], active["name"]) == (f"form-{section}", field), active
        page.keyboard.press("Escape")
        expect(page.locator(f"#form-{section}")).to_have_count(0)
        expect(_edit_link(page, section)).to_be_focused()
        assert _active(page)["label"] == f"Edit {section}"
        if section == "credentials":
            # the next Tab goes on inside the section, not back to the top of the page
            page.keyboard.press("Tab")
            assert _active(page)["section"] == "section-credentials"

    # a 422: focus on the invalid field
    _tab_to(page, _is_edit("proxy"), back=True)
    page.keyboard.press("Enter")
    expect(mode).to_be_focused()
    page.keyboard.press("ArrowDown")  # none is gone once a proxy is set: random → static
    expect(mode).to_have_value("static")
    page.keyboard.press("Tab")
    assert _active(page)["id"] == "proxy_value"
    page.keyboard.type("10.0.0.1")
    _tab_to(page, lambda a: a["form"] == "form-proxy" and a["text"] == "Save")
    page.keyboard.press("Enter")
    value = page.locator("#form-proxy #proxy_value")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(value).to_be_focused()
    assert _active(page)["id"] == "proxy_value"
    page.keyboard.press("Escape")
    expect(_edit_link(page, "proxy")).to_be_focused()

    # a 409: focus on the conflict panel
    _tab_to(page, _is_edit("concurrency"), back=True)
    page.keyboard.press("Enter")
    expect(page.locator("#form-concurrency #allow_multiple_sessions")).to_be_focused()
    sdk_for(sandbox).vault.update(
        VaultEntryInput(domain=entry.domain, permissioned_user_id=tag, max_concurrency=9)
    )
    page.keyboard.press("Space")  # allow multiple sessions
    _tab_to(page, lambda a: a["form"] == "form-concurrency" and a["text"] == "Save")
    page.keyboard.press("Enter")
    expect(page.locator("#form-concurrency .conflict")).to_be_focused()
    _tab_to(page, lambda a: a["text"] == "Discard mine")
    page.keyboard.press("Enter")
    expect(_edit_link(page, "concurrency")).to_be_focused()
    assert page.evaluate("window.__marker") == "same document"

    # sorting keeps focus on the column's sort link, in the new table
    page.goto(live_server.url + "/entries?per_page=25")  # the sandbox holds over 25
    _tab_to(page, lambda a: a["key"] == "sort-domain")
    _mark(page)
    page.keyboard.press("Enter")
    domain = page.locator("#entry-results thead th").filter(
        has=page.locator("[data-focus-key=sort-domain]")
    )
    expect(domain).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#entry-results [data-focus-key=sort-domain]")).to_be_focused()
    assert _replaced(page) and _active(page)["key"] == "sort-domain"
    _mark(page)
    page.keyboard.press("Enter")
    expect(domain).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#entry-results [data-focus-key=sort-domain]")).to_be_focused()
    assert _replaced(page)

    # paging: focus stays on Next (or, on the last page, moves to the results region)
    _tab_to(page, lambda a: a["key"] == "page-next")
    page.keyboard.press("Enter")
    expect(page.locator(".pagination .page-link.current")).to_have_text("2")
    next_link = page.locator("#entry-results [data-focus-key=page-next]")
    expect(next_link if next_link.count() else page.locator("#entry-results")).to_be_focused()

    # "?" opens the help; Escape closes it and focus goes back
    _tab_to(page, lambda a: a["key"] == "sort-alias", back=True)
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    assert _active(page)["dialog"] is True
    page.keyboard.press("/")  # shortcuts are off over the dialog
    assert _active(page)["dialog"] is True
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _active(page)["key"] == "sort-alias"
    # … and its Close button does the same
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    _tab_to(page, lambda a: a["dialog"] and a["text"] == "Close", limit=5)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert _active(page)["key"] == "sort-alias"

    # with a modifier, "/" is not the shortcut
    page.keyboard.press("Control+/")
    assert _active(page)["key"] == "sort-alias"
    page.keyboard.press("/")
    assert _active(page)["id"] == "q"

    assert page.console_errors == [UNPROCESSABLE, CONFLICT]
