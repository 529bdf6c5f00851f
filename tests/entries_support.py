"""Helpers for entry tests: make entries through the official SDK (an independent client)."""

from __future__ import annotations

import re
from typing import Any

from cloudcruise import CloudCruise, CloudCruiseParams
from cloudcruise.vault.types import GetVaultEntriesFilters, VaultEntryInput

from tests.conftest import unique


def sdk_for(sandbox) -> CloudCruise:
    return CloudCruise(
        CloudCruiseParams(
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            encryption_key=sandbox.encryption_key,
        )
    )


def make_entry(sandbox, **fields: Any):
    """Create an entry with the SDK and return the SDK's (decrypted) view of it."""
    data: dict[str, Any] = {
        "permissioned_user_id": unique("entry"),
        "domain": "https://portal.example-health.com",
        "user_name": "ann@example.com",
        "password": "Corr3ct-Horse!",
        "user_alias": "Ann – billing",
    }
    data.update(fields)
    return sdk_for(sandbox).vault.create(VaultEntryInput(**data))


def fetch(sandbox, pid: str, domain: str, decrypt: bool = True):
    entries = sdk_for(sandbox).vault.get(
        GetVaultEntriesFilters(permissioned_user_id=pid, domain=domain, decryptCredentials=decrypt)
    )
    return entries[0]


def csrf(client, path: str = "/entries") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def hx(client, method: str, path: str, token: str | None = None, **kwargs):
    """An htmx-style request: HX-Request header plus the CSRF header from <body>."""
    headers = {"HX-Request": "true", **kwargs.pop("headers", {})}
    if token:
        headers["X-CSRFToken"] = token
    return client.open(path, method=method, headers=headers, **kwargs)


def input_value(html: str, name: str) -> str | None:
    """The value of the ``<input name=...>`` in ``html`` (attributes in any order)."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            return value[1] if value else ""
    return None


def form_fields(html: str, form_id: str):
    """What a browser would submit for the form ``form_id`` in ``html`` (no JavaScript), as a
    MultiDict (repeated names such as ``ids`` keep every value)."""
    from html.parser import HTMLParser

    from werkzeug.datastructures import MultiDict

    class FormData(MultiDict):
        def update(self, *args, **kwargs):  # dict semantics: replace, do not append
            for key, value in dict(*args, **kwargs).items():
                self[key] = value

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = False
            self.data = FormData()
            self.select: str | None = None
            self.first_option: str | None = None
            self.textarea: str | None = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form" and a.get("id") == form_id:
                self.inside = True
            if not self.inside:
                return
            name = a.get("name")
            if tag == "input" and name:
                kind = a.get("type", "text")
                if kind in ("checkbox", "radio"):
                    if "checked" in a:
                        self.data.add(name, a.get("value", "on"))
                elif kind not in ("submit", "button"):
                    self.data.add(name, a.get("value", ""))
            elif tag == "select" and name:
                self.select, self.first_option = name, None
            elif tag == "option" and self.select:
                value = a.get("value", "")
                if self.first_option is None:
                    self.first_option = value
                    self.data[self.select] = value
                if "selected" in a:
                    self.data[self.select] = value
            elif tag == "textarea" and name:
                self.textarea = name
                self.data[name] = ""

        def handle_endtag(self, tag):
            if tag == "form":
                self.inside = False
            elif tag == "select":
                self.select = None
            elif tag == "textarea":
                self.textarea = None

        def handle_data(self, data):
            if self.textarea:
                self.data[self.textarea] += data

    parser = Parser()
    parser.feed(html)
    return parser.data


def index_sync(client, token: str | None = None):
    """Press "sync now": entries made outside the console (through the SDK) since the
    index last synced are not in the console until a sync."""
    response = hx(client, "POST", "/entries/sync", token or csrf(client))
    assert response.status_code == 200, response.status_code
    return response


def section_form(client, entry_id: str, section: str) -> dict[str, str]:
    """Open a detail section's editor the way htmx does; what the browser would submit."""
    html = hx(client, "GET", f"/entries/{entry_id}/sections/{section}/edit").get_data(as_text=True)
    assert f'id="form-{section}"' in html, html[:500]
    return form_fields(html, f"form-{section}")


def save_section(client, entry_id: str, section: str, data, token: str):
    return hx(client, "POST", f"/entries/{entry_id}/sections/{section}", token, data=data)
