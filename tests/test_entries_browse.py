"""The entries list and detail page through the test client, against the sandbox."""

from __future__ import annotations

import re

from tests.conftest import make_app
from tests.entries_support import csrf, fetch, hx, make_entry


def test_list_full_page_and_fragment_come_from_one_view(client, auth):
    auth.login("ann", "viewer")
    full = client.get("/entries")
    assert full.status_code == 200
    html = full.get_data(as_text=True)
    assert "<html" in html and 'id="entry-filters"' in html and 'id="entry-results"' in html
    part = client.get("/entries", headers={"HX-Request": "true"})
    fragment = part.get_data(as_text=True)
    assert "<html" not in fragment and 'id="entry-filters"' not in fragment
    assert fragment.lstrip().startswith('<section id="entry-results"')
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in part.headers["Vary"]


def test_search_filters_sort_and_paging_reach_the_page(client, auth, sandbox):
    auth.login("ann", "viewer")
    entry = make_entry(sandbox, user_alias="Zeta Unique Search Target", tfa_method="SMS")
    html = client.get("/entries?q=zeta+unique").get_data(as_text=True)
    assert "Zeta Unique Search Target" in html
    assert "Showing <strong>1–1</strong>" in html
    html = client.get(f"/entries?q={entry.permissioned_user_id}&tfa=EMAIL").get_data(as_text=True)
    assert "No entries match" in html and "Clear search and filters" in html
    html = client.get("/entries?per_page=25&page=2").get_data(as_text=True)
    assert "Showing <strong>26–" in html and 'aria-current="page">2<' in html
    html = client.get("/entries?sort=updated&dir=desc", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert 'aria-sort="descending"' in html


def test_list_never_shows_ciphertext(client, auth, sandbox):
    auth.login("ann", "viewer")
    entry = make_entry(sandbox, user_alias="Cipher check")
    raw = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    html = client.get("/entries?per_page=200").get_data(as_text=True)
    assert raw.password not in html and raw.user_name not in html
    assert "Corr3ct-Horse!" not in html


def test_list_is_answered_from_the_index_and_sync_now_applies_the_vault(client, auth, sandbox):
    auth.login("ann", "viewer")
    client.get("/entries")  # the first request syncs the empty index
    sandbox.faults.add("status", status=200, body=[], method="GET", path="/vault", times=1)
    indexed = client.get("/entries").get_data(as_text=True)
    assert "No vault entries yet" not in indexed  # answered from the index
    assert len(sandbox.faults.list()) == 1  # the upstream was not asked
    assert "sync now" in indexed and "Synced" in indexed
    synced = hx(client, "POST", "/entries/sync", csrf(client))
    assert "No vault entries yet" in synced.get_data(as_text=True)  # the (faked) empty vault
    assert sandbox.faults.list() == []


def test_upstream_failure_on_a_cold_cache_shows_a_banner_not_a_500(client, auth, sandbox):
    auth.login("ann", "viewer")
    sandbox.faults.add("status", status=503, method="GET", path="/vault", times=None)
    response = client.get("/entries")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The entries could not be loaded." in html and "CloudCruise answered 503" in html
    assert "Retry" in html


def test_failed_sync_keeps_the_index_and_says_so(client, auth, sandbox):
    auth.login("ann", "viewer")
    client.get("/entries")
    sandbox.faults.add("malformed", method="GET", path="/vault", times=None)
    html = hx(client, "POST", "/entries/sync", csrf(client)).get_data(as_text=True)
    assert "CloudCruise unreachable; retrying" in html and "not JSON" in html
    assert "<tbody>" in html and "Showing <strong>1–" in html  # the rows are still listed
    # every later page says so too, until a sync succeeds
    assert "CloudCruise unreachable; retrying" in client.get("/entries").get_data(as_text=True)
    sandbox.faults.clear()
    hx(client, "POST", "/entries/sync", csrf(client))
    assert "unreachable" not in client.get("/entries").get_data(as_text=True)


def test_detail_shows_every_section_with_secrets_masked(client, auth, sandbox):
    entry = make_entry(
        sandbox,
        tfa_method="AUTHENTICATOR",
        tfa_secret="JBSWY3DPEHPK3PXP",
        proxy_setting="custom",
        proxy_value="socks5://u:hunter2@proxy.example.net:1080",
        cookies=[
            {"name": "sid", "value": "cookie-value-secret", "domain": ".example-health.com",
             "path": "/", "httpOnly": True, "hostOnly": False, "secure": True,
             "session": False, "expirationDate": 1893456000, "storeId": "0", "sameSite": "lax"}
        ],
        local_storage={"auth_token": "local-secret-value"},
        persist_cookies=True,
        expiry_time_from_last_use="01:30:00",
        allow_multiple_sessions=True,
        max_concurrency=3,
    )  # fmt: skip
    raw = fetch(sandbox, entry.permissioned_user_id, entry.domain, decrypt=False)
    auth.login("ann", "viewer")
    html = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    for heading in [
        "Credentials", "Two-factor", "Session persistence", "Concurrency", "Proxy",
        "Secret provider", "Metadata", "History",
    ]:  # fmt: skip
        assert f">{heading}</h2>" in html
    assert "1 h 30 min" in html and "Max concurrent sessions" in html and ">3<" in html
    assert ">sid<" in html and "auth_token" in html
    assert entry.tfa_email in html
    for secret in (
        "Corr3ct-Horse!", "ann@example.com", "JBSWY3DPEHPK3PXP", "hunter2",
        "cookie-value-secret", "local-secret-value",
        raw.password, raw.user_name, raw.tfa_secret, raw.proxy_value,
    ):  # fmt: skip
        assert secret not in html
    # a viewer gets no controls
    for control in ("Reveal", "Delete this entry", "Clear browser state", "Show current code"):
        assert control not in html


def test_detail_controls_by_role(tmp_path, sandbox):
    entry = make_entry(sandbox, cookies=[], local_storage={"k": "v"}, tfa_method="AUTHENTICATOR",
                       tfa_secret="JBSWY3DPEHPK3PXP")  # fmt: skip
    from tests.conftest import AuthActions

    expectations = {
        "editor": {"Reveal": True, "Show current code": True, "Clear browser state": True,
                   "Delete this entry": False},
        "admin": {"Reveal": True, "Show current code": True, "Clear browser state": True,
                  "Delete this entry": True},
    }  # fmt: skip
    for role, controls in expectations.items():
        app = make_app(tmp_path / role, sandbox)
        client = app.test_client()
        AuthActions(app, client).login(f"{role}-user", role)
        html = client.get(f"/entries/{entry.id}").get_data(as_text=True)
        for control, visible in controls.items():
            assert (control in html) is visible, (role, control)


def test_unknown_entry_is_a_404_page(client, auth):
    auth.login("ann", "viewer")
    response = client.get("/entries/00000000-0000-4000-8000-00000000dead")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_deleted_elsewhere_becomes_404(client, auth, sandbox):
    from tests.entries_support import sdk_for

    entry = make_entry(sandbox)
    auth.login("ann", "viewer")
    assert client.get(f"/entries/{entry.id}").status_code == 200
    sdk_for(sandbox).vault.delete(
        {"domain": entry.domain, "permissioned_user_id": entry.permissioned_user_id}
    )
    assert client.get(f"/entries/{entry.id}").status_code == 404


def test_detail_upstream_failure_is_a_clear_page(client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("ann", "viewer")
    client.get("/entries")
    sandbox.faults.add("status", status=500, method="GET", path="/vault", times=None)
    response = client.get(f"/entries/{entry.id}")
    assert response.status_code == 503
    assert "Could not load the entry" in response.get_data(as_text=True)


def test_a_console_create_is_in_the_index_at_once(tmp_path, sandbox):
    from tests.conftest import AuthActions

    app = make_app(tmp_path, sandbox)
    client = app.test_client()
    AuthActions(app, client).login("cara", "editor")
    client.get("/entries")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/entries/new").get_data(True))[1]
    response = client.post(
        "/entries/new",
        data={
            "csrf_token": token,
            "permissioned_user_id": "cache-invalidation-check",
            "domain": "https://cache.example.com",
            "source": "stored",
            "tfa_method": "none",
            "proxy_setting": "none",
        },
    )
    assert response.status_code == 303, response.get_data(True)
    html = client.get("/entries?q=cache-invalidation-check").get_data(True)
    assert "cache-invalidation-check" in html and "Showing <strong>1–1</strong>" in html


def test_a_save_updates_the_indexed_list_without_refetching(tmp_path, sandbox):
    from tests.conftest import AuthActions
    from tests.entries_support import csrf, form_fields, hx

    entry = make_entry(sandbox, user_alias="Before cache update")
    app = make_app(tmp_path, sandbox)
    client = app.test_client()
    AuthActions(app, client).login("cachey", "editor")
    assert "Before cache update" in client.get("/entries?q=Before+cache").get_data(True)
    token = csrf(client)
    data = form_fields(
        hx(client, "GET", f"/entries/{entry.id}/sections/credentials/edit").get_data(True),
        "form-credentials",
    )
    data["user_alias"] = "After cache update"
    assert (
        hx(
            client, "POST", f"/entries/{entry.id}/sections/credentials", token, data=data
        ).status_code
        == 200
    )
    sandbox.faults.add("status", status=500, method="GET", path="/vault", times=None)
    html = client.get("/entries?q=After+cache").get_data(as_text=True)
    assert "After cache update" in html and "could not be loaded" not in html
    assert len(sandbox.faults.list()) == 1  # the list came from the updated cache


def test_clearing_browser_state_updates_the_cached_list_without_refetching(
    recorded_app, recorder, sandbox
):
    from tests.conftest import AuthActions
    from tests.entries_support import csrf, hx

    cookie = {"name": "sid", "value": "v", "domain": ".example-health.com", "path": "/",
              "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
              "storeId": "0", "sameSite": "lax"}  # fmt: skip
    entry = make_entry(sandbox, user_alias="Clearcache entry", cookies=[cookie])
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login("clary", "editor")
    assert "Clearcache entry" in client.get("/entries?q=Clearcache").get_data(True)
    assert "Clearcache entry" not in client.get("/entries?q=Clearcache&session=none").get_data(True)
    token = csrf(client)
    fetched = recorder.list_fetches()
    response = hx(client, "POST", f"/entries/{entry.id}/clear-state", token)
    assert response.status_code == 200 and "No cookies stored." in response.get_data(True)
    assert "Clearcache entry" in client.get("/entries?q=Clearcache&session=none").get_data(True)
    assert recorder.list_fetches() == fetched  # the cleared entry was folded into the cache


def test_list_marks_provider_backed_rows_and_filters_by_source(client, auth, sandbox):
    from tests.entries_support import sdk_for

    sdk = sdk_for(sandbox)
    provider = next(p for p in sdk.secret_providers.list() if sdk.secret_providers.list_items(p.id))
    item = sdk.secret_providers.list_items(provider.id)[0]
    backed = make_entry(
        sandbox,
        user_alias="Sourcebadge backed",
        user_name=None,
        password=None,
        secret_provider_id=provider.id,
        secret_ref=item.ref,
    )
    stored = make_entry(sandbox, user_alias="Sourcebadge stored")
    auth.login("ann", "viewer")
    html = client.get("/entries?q=sourcebadge&refresh=1").get_data(as_text=True)
    rows = {
        m[2]: m[1]
        for m in re.finditer(r"<tr[^>]*>((?:(?!</tr>).)*?Sourcebadge (\w+).*?)</tr>", html, re.S)
    }
    assert "1Password" in rows["backed"] and "1Password" not in rows["stored"]
    only_backed = client.get("/entries?q=sourcebadge&source=provider").get_data(as_text=True)
    assert (
        backed.permissioned_user_id in only_backed
        and stored.permissioned_user_id not in only_backed
    )
    only_stored = client.get("/entries?q=sourcebadge&source=direct").get_data(as_text=True)
    assert (
        stored.permissioned_user_id in only_stored
        and backed.permissioned_user_id not in only_stored
    )
