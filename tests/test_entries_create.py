"""Creating entries: validation beside fields, kept input, upstream errors, SDK interop."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique
from tests.entries_support import csrf, fetch, hx, input_value, make_entry


def _form(**overrides):
    data = {
        "permissioned_user_id": unique("new"),
        "domain": "https://portal.example-new.com",
        "user_alias": "Nora – claims",
        "source": "stored",
        "user_name": "nora@example.com",
        "password": "S0me pässwörd with spaces ",
        "tfa_method": "none",
        "proxy_setting": "none",
    }
    data.update(overrides)
    return data


def _post(client, data, htmx=False):
    token = csrf(client, "/entries/new")
    if htmx:
        return hx(client, "POST", "/entries/new", token, data=data)
    return client.post("/entries/new", data={**data, "csrf_token": token})


def _errors(html):
    return re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', html)


def test_viewers_cannot_open_or_post_the_form(client, auth):
    auth.login("vic", "viewer")
    assert client.get("/entries/new").status_code == 403
    assert client.post("/entries/new", data=_form()).status_code in (400, 403)
    assert "New entry" not in client.get("/entries").get_data(as_text=True)


def test_created_entry_decrypts_with_the_sdk_to_exactly_what_was_typed(client, auth, sandbox):
    auth.login("eda", "editor")
    data = _form(
        tfa_method="AUTHENTICATOR",
        tfa_secret="jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp",
        proxy_setting="custom",
        proxy_value="socks5://agent:pr0xy@proxy.example.net:1080",
        persist_cookies="y",
        expiry_time_from_last_use="90 minutes",
        expiry_time_from_session_data_set="7 days",
        allow_multiple_sessions="y",
        max_concurrency="4",
        prevent_concurrency_during_login="y",
        cookie_domain_to_store=".example-new.com",
        local_storage='{"theme": "dark"}',
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )
    response = _post(client, data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    entry = fetch(sandbox, data["permissioned_user_id"], data["domain"])
    assert entry.user_name == "nora@example.com"
    assert entry.password == "S0me pässwörd with spaces "  # kept byte for byte, not trimmed
    assert entry.tfa_secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert entry.proxy_value == "socks5://agent:pr0xy@proxy.example.net:1080"
    assert entry.tfa_method == "AUTHENTICATOR" and entry.user_alias == "Nora – claims"
    assert entry.expiry_time_from_last_use == "01:30:00"
    assert entry.expiry_time_from_session_data_set == "7 days"
    assert (entry.allow_multiple_sessions, entry.max_concurrency) == (True, 4)
    assert entry.prevent_concurrency_during_login is True and entry.persist_cookies is True
    assert entry.persist_local_storage is False
    assert entry.local_storage == {"theme": "dark"} and entry.session_data_set_at
    assert entry.user_agent == "Mozilla/5.0 (X11; Linux x86_64)"
    raw = fetch(sandbox, data["permissioned_user_id"], data["domain"], decrypt=False)
    assert raw.password != data["password"] and raw.proxy_value.startswith(raw.proxy_value[:24])
    detail = client.get(response.headers["Location"])
    assert detail.status_code == 200 and "Created Nora – claims." in detail.get_data(as_text=True)


def test_htmx_submit_redirects_with_hx_redirect(client, auth, sandbox):
    auth.login("eda", "editor")
    response = _post(client, _form(), htmx=True)
    assert response.status_code == 204
    assert re.fullmatch(r"/entries/[0-9a-f-]{36}", response.headers["HX-Redirect"])


def test_invalid_input_gets_messages_beside_fields_and_keeps_typed_values(client, auth, sandbox):
    auth.login("eda", "editor")
    before = len(client.get("/entries?refresh=1").get_data(as_text=True))
    data = _form(
        domain="http://localhost:3000",
        tfa_method="AUTHENTICATOR",
        tfa_secret="short",
        max_concurrency="0",
        proxy_setting="country",
        proxy_value="Narnia",
        expiry_time_from_last_use="whenever",
        cookies="[not json",
    )
    response = _post(client, data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = dict(_errors(html))
    assert "localhost is rejected" in errors["domain"]
    assert "too short" in errors["tfa_secret"]
    assert "at least 1" in errors["max_concurrency"]
    assert "two-letter" in errors["proxy_value"]
    assert "not a duration" in errors["expiry_time_from_last_use"]
    assert "Not valid JSON" in errors["cookies"]
    # typed values stay (the username too), the password and TFA secret are asked for
    # again and the form says so
    assert f'value="{data["permissioned_user_id"]}"' in html
    assert 'value="http://localhost:3000"' in html and 'value="Narnia"' in html
    assert "[not json" in html
    assert input_value(html, "user_name") == "nora@example.com"
    assert "S0me p" not in html and 'value="short"' not in html
    assert input_value(html, "password") == "" and input_value(html, "tfa_secret") == ""
    assert "enter the password, TFA secret again" in html
    assert input_value(html, "retype") == "Password,TFA secret"
    # nothing was sent upstream
    assert fetch_or_none(sandbox, data) is None
    assert before  # the list was reachable before


def fetch_or_none(sandbox, data):
    from cloudcruise.vault.types import GetVaultEntriesFilters

    from tests.entries_support import sdk_for

    try:
        return sdk_for(sandbox).vault.get(
            GetVaultEntriesFilters(
                permissioned_user_id=data["permissioned_user_id"], domain=data["domain"]
            )
        )
    except RuntimeError:
        return None


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"permissioned_user_id": ""}, "permissioned_user_id", "Enter the permissioned user id"),
        ({"domain": "ftp://portal.example.com"}, "domain", "full URL"),
        ({"tfa_method": "AUTHENTICATOR"}, "tfa_secret", "needs its TFA secret"),
        ({"max_concurrency": "3"}, "max_concurrency", "only when multiple sessions"),
        ({"proxy_setting": "static", "proxy_value": "10.1.2.3"}, "proxy_value", "public address"),
        ({"proxy_setting": "custom", "proxy_value": ""}, "proxy_value", "Enter the proxy URL"),
        ({"proxy_setting": "random", "proxy_value": "1.2.3.4"}, "proxy_value", "take no value"),
        ({"source": "provider"}, "secret_provider_id", "Choose the 1Password connection"),
        ({"local_storage": "[1]"}, "local_storage", "JSON object"),
    ],
)
def test_each_rule_is_reported_on_its_field(client, auth, overrides, field, fragment):
    auth.login("eda", "editor")
    response = _post(client, _form(**overrides), htmx=True)
    assert response.status_code == 422
    errors = dict(_errors(response.get_data(as_text=True)))
    assert fragment in errors.get(field.replace("_", "_"), ""), errors


def test_duplicate_is_caught_with_a_link_to_the_existing_entry(client, auth, sandbox):
    existing = make_entry(sandbox)
    auth.login("eda", "editor")
    response = _post(
        client,
        _form(permissioned_user_id=existing.permissioned_user_id, domain=existing.domain),
        htmx=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already exists" in dict(_errors(html))["permissioned_user_id"]
    assert f'href="/entries/{existing.id}"' in html


def test_provider_backed_entry(client, auth, sandbox):
    from tests.entries_support import sdk_for

    providers = sdk_for(sandbox).secret_providers.list()
    provider = next(p for p in providers if sdk_for(sandbox).secret_providers.list_items(p.id))
    item = sdk_for(sandbox).secret_providers.list_items(provider.id)[0]
    auth.login("eda", "editor")
    picker = client.get(
        f"/entries/provider-items?secret_provider_id={provider.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert picker.lstrip().startswith('<div id="provider-items">') and item.ref in picker
    mixed = _post(
        client,
        _form(source="provider", secret_provider_id=provider.id, secret_ref=item.ref),
        htmx=True,
    )
    assert mixed.status_code == 204  # typed-then-hidden credentials are ignored
    entry = fetch(sandbox, *_last_pid_domain(mixed, client, sandbox))
    assert entry.secret_provider_id == provider.id and entry.secret_ref == item.ref
    assert entry.user_name is None and entry.password is None  # never sent with a provider


def _last_pid_domain(response, client, sandbox):
    import re as _re

    entry_id = _re.search(r"/entries/([0-9a-f-]{36})", response.headers["HX-Redirect"])[1]
    from tests.entries_support import sdk_for

    entry = next(e for e in sdk_for(sandbox).vault.get() if e.id == entry_id)
    return entry.permissioned_user_id, entry.domain


def test_upstream_failure_keeps_the_input_and_offers_retry(client, auth, sandbox):
    auth.login("eda", "editor")
    sandbox.faults.add("status", status=503, method="POST", path="/vault")
    data = _form()
    response = _post(client, data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "CloudCruise answered 503" in html and "Retry" in html
    assert f'value="{data["permissioned_user_id"]}"' in html
    assert fetch_or_none(sandbox, data) is None
    again = _post(client, data, htmx=True)  # operator retries
    assert again.status_code == 204


def test_upstream_field_errors_are_mapped_beside_fields(client, auth, sandbox):
    auth.login("eda", "editor")
    sandbox.faults.add(
        "status",
        status=400,
        method="POST",
        path="/vault",
        body={"statusCode": 400, "error": "Bad Request",
              "message": ["domain must match a workflow vault schema", "server says no"]},
    )  # fmt: skip
    html = _post(client, _form(), htmx=True).get_data(as_text=True)
    assert "domain must match a workflow vault schema" in dict(_errors(html))["domain"]
    assert "server says no" in html


def test_rate_limited_and_auth_errors_have_specific_messages(client, auth, sandbox):
    auth.login("eda", "editor")
    sandbox.faults.add(
        "status", status=429, method="POST", path="/vault", headers={"Retry-After": "42"}
    )
    html = _post(client, _form(), htmx=True).get_data(as_text=True)
    assert "rate limiting this console. Retry in 42 s." in html
    sandbox.faults.add("status", status=401, method="POST", path="/vault")
    html = _post(client, _form(), htmx=True).get_data(as_text=True)
    assert "rejected the API key or the encryption key" in html


def test_interval_preview(client, auth):
    auth.login("eda", "editor")
    ok = client.get("/entries/interval-preview?expiry_time_from_last_use=90+minutes")
    assert "= 1 h 30 min" in ok.get_data(as_text=True)
    bad = client.get("/entries/interval-preview?expiry_time_from_last_use=%3Cb%3Esoon")
    text = bad.get_data(as_text=True)
    assert "not a duration" in text and "<b>" not in text


def _autofocused(html):
    """The ids of the inputs that carry ``autofocus``."""
    return [
        re.search(r'\bid="([^"]+)"', tag)[1]
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
        if re.search(r"\bautofocus\b", tag)
    ]


def test_the_first_field_is_focused_and_after_a_422_the_first_error(client, auth):
    auth.login("eda", "editor")
    html = client.get("/entries/new").get_data(as_text=True)
    assert _autofocused(html) == ["permissioned_user_id"]
    assert re.search(r'<form id="entry-form"[^>]*data-focus-first-error', html)
    # errors on the domain and further down: the domain (the first on the page) is focused
    response = _post(client, _form(domain="http://localhost:3000", max_concurrency="0"), True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _autofocused(html) == ["domain"]
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="domain"', html)
    # an error only in a later section (the session expiry, drawn by a shared macro)
    html = _post(client, _form(expiry_time_from_last_use="whenever"), True).get_data(True)
    assert _autofocused(html) == ["expiry_time_from_last_use"]
    # an error in the collapsed Advanced card opens it
    html = _post(client, _form(user_agent="bad\x01agent"), True).get_data(True)
    assert _autofocused(html) == ["user_agent"]
    assert re.search(r'<details class="card advanced-card" open>', html)


def test_the_username_is_kept_exactly_as_typed_and_nothing_else_secret(client, auth, sandbox):
    auth.login("eda", "editor")
    typed = '  "nora" <b>&amp; co</b>\u00e9 '
    data = _form(
        user_name=typed,
        domain="http://localhost:3000",
        tfa_method="AUTHENTICATOR",
        tfa_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        proxy_setting="custom",
        proxy_value="socks5://agent:Pr0xyPw@proxy.example.net:1080",
    )
    html = _post(client, data, htmx=True).get_data(as_text=True)
    assert input_value(html, "user_name") is not None
    import html as html_lib

    assert html_lib.unescape(input_value(html, "user_name")) == typed  # byte for byte
    assert "<b>&amp; co</b>" not in html  # rendered as text, never as markup
    for secret in ("S0me pässwörd", "JBSWY3DPEHPK3PXP", "Pr0xyPw"):
        assert secret not in html, secret
    assert "enter the password, TFA secret, proxy URL again" in html


def test_the_password_is_asked_again_before_the_entry_is_created(client, auth, sandbox):
    auth.login("eda", "editor")
    data = _form(domain="http://localhost:3000")
    html = _post(client, data, htmx=True).get_data(as_text=True)
    retype = input_value(html, "retype")
    assert retype == "Password"
    # fixed the domain but not the password: refused, so the entry is not made without it
    again = _post(client, {**data, "domain": "https://portal.example-new.com",
                           "password": "", "retype": retype}, htmx=True)  # fmt: skip
    errors = dict(_errors(again.get_data(as_text=True)))
    assert again.status_code == 422
    assert errors["password"] == "Enter the password again (it was not kept)."
    assert input_value(again.get_data(as_text=True), "retype") == "Password"  # still owed
    assert fetch_or_none(sandbox, {**data, "domain": "https://portal.example-new.com"}) is None
    done = _post(client, {**data, "domain": "https://portal.example-new.com", "retype": retype},
                 htmx=True)  # fmt: skip
    assert done.status_code == 204
    entry = fetch(sandbox, data["permissioned_user_id"], "https://portal.example-new.com")
    assert entry.password == data["password"] and entry.user_name == data["user_name"]


def test_a_bare_host_gets_https_and_the_form_shows_it(client, auth, sandbox):
    auth.login("eda", "editor")
    # after a round trip (another field is wrong) the domain shows as it will be sent
    data = _form(domain="portal.example-bare.com", max_concurrency="0")
    html = _post(client, data, htmx=True).get_data(as_text=True)
    assert "domain" not in dict(_errors(html))
    assert input_value(html, "domain") == "https://portal.example-bare.com"
    assert "https:// was added in front of the host you typed." in html
    response = _post(client, {**data, "max_concurrency": ""})
    assert response.status_code == 303
    entry = fetch(sandbox, data["permissioned_user_id"], "https://portal.example-bare.com")
    assert entry.domain == "https://portal.example-bare.com"
