"""The entries index: sync, drift, what it stores, upstream calls at the floor, overview.

Everything runs against the sandbox over a real socket and a real SQLite file; outside
changes are made through the official SDK, an independent client.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cloudcruise.vault.types import VaultEntryInput
from sqlalchemy import select

from app.background import wait_idle
from app.config import Upstream
from app.extensions import db
from app.models import AuditEvent
from tests.conftest import AuthActions, make_app, unique
from tests.entries_support import csrf, fetch, form_fields, hx, index_sync, make_entry, sdk_for


def _sync(app) -> str:
    result = app.test_cli_runner().invoke(args=["entries", "sync"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Synced "), result.output
    return result.output


def _drift_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "entry.changed_outside")
                .order_by(AuditEvent.id)
            )
        )


def _count(output: str, what: str) -> int:
    pattern = r"Synced ([\d,]+) entries" if what == "Synced" else rf"([\d,]+) {what}"
    match = re.search(pattern, output)
    assert match, (what, output)
    return int(match.group(1).replace(",", ""))


def test_changes_made_outside_the_console_are_audited_by_the_next_sync(app, client, sandbox):
    changed = make_entry(sandbox, user_alias="Before rename", proxy_setting="random")
    doomed = make_entry(sandbox, user_alias="Soon deleted")
    _sync(app)
    sdk = sdk_for(sandbox)
    sdk.vault.update(
        VaultEntryInput(
            domain=changed.domain,
            permissioned_user_id=changed.permissioned_user_id,
            user_alias="After rename",
            proxy_setting="country",
            proxy_value="DE",
            password="Brand-N3w-Secret!",
        )
    )
    born = make_entry(sandbox, user_alias="Born outside")
    sdk.vault.delete({"permissioned_user_id": doomed.permissioned_user_id, "domain": doomed.domain})

    output = _sync(app)
    assert _count(output, "changed outside the console") == 3
    assert (_count(output, "added"), _count(output, "removed")) == (1, 1)
    events = {e.target_id: e for e in _drift_events(app)}
    assert set(events) == {changed.id, born.id, doomed.id}
    for event in events.values():
        assert event.operator == "outside the console" and event.operator_id is None
        assert event.outcome == "success"

    rename = events[changed.id]
    changes = json.loads(rename.changes)
    assert changes["user_alias"] == {"before": "Before rename", "after": "After rename"}
    assert changes["proxy_setting"] == {"before": "random", "after": "country"}
    assert changes["proxy_value"] == {"before": None, "after": "DE"}
    assert changes["password"] == {"changed": True}  # a secret: only that it changed
    assert set(json.loads(rename.fields)) == {
        "user_alias",
        "proxy_setting",
        "proxy_value",
        "password",
    }
    raw = fetch(sandbox, changed.permissioned_user_id, changed.domain, decrypt=False)
    everything = json.dumps([e.changes for e in events.values()])
    assert "Brand-N3w-Secret!" not in everything and raw.password not in everything
    assert events[born.id].message == "created outside the console"
    assert events[doomed.id].message == "deleted outside the console"
    assert json.loads(events[doomed.id].changes)["user_alias"]["before"] == "Soon deleted"

    # the list marks them and filters them; the deleted one is gone from it
    auth = AuthActions(app, client)
    auth.login("vera", "viewer")
    html = client.get("/entries?check=changed_outside&per_page=200").get_data(as_text=True)
    assert "After rename" in html and "Born outside" in html and "Soon deleted" not in html
    assert html.count("badge-outside") >= 2
    assert f"/entries/{doomed.id}" not in client.get("/entries?per_page=200").get_data(True)
    # an editor sees the event in the entry's History
    client = app.test_client()
    AuthActions(app, client).login("edna", "editor")
    history = hx(client, "GET", f"/audit/entry/{changed.id}").get_data(as_text=True)
    assert "Changed outside the console" in history and "outside the console" in history

    # nothing changed since: the next sync reports no drift
    assert _count(_sync(app), "changed outside the console") == 0


def test_a_console_save_followed_by_a_sync_is_not_drift(app, client, auth, sandbox):
    entry = make_entry(sandbox, user_alias="Console edit")
    auth.login("eddie", "editor")
    token = csrf(client)  # the first page syncs the index
    index_sync(client, token)
    page = hx(client, "GET", f"/entries/{entry.id}/sections/credentials/edit").get_data(True)
    data = form_fields(page, "form-credentials")
    data.update(user_alias="Console edit, renamed")
    saved = hx(client, "POST", f"/entries/{entry.id}/sections/credentials", token, data=data)
    assert saved.status_code == 200
    page = hx(client, "GET", f"/entries/{entry.id}/sections/proxy/edit").get_data(True)
    data = form_fields(page, "form-proxy")
    data.update(proxy_setting="custom", proxy_value="http://u:Secr3t@proxy.example.net:8080")
    assert hx(client, "POST", f"/entries/{entry.id}/sections/proxy", token, data=data).status_code
    assert _count(_sync(app), "changed outside the console") == 0
    assert _drift_events(app) == []
    # and the list showed the change at once, without a sync
    assert "Console edit, renamed" in client.get(
        f"/entries?q={entry.permissioned_user_id}"
    ).get_data(True)


def test_a_detail_view_heals_the_row_and_audits_what_changed_outside(app, client, sandbox):
    entry = make_entry(sandbox, user_alias="Seen in detail")
    auth = AuthActions(app, client)
    auth.login("vic", "viewer")
    client.get("/entries")
    sdk_for(sandbox).vault.update(
        VaultEntryInput(
            domain=entry.domain,
            permissioned_user_id=entry.permissioned_user_id,
            user_alias="Renamed elsewhere",
        )
    )
    # a fresh read of the entry: the page writes nothing itself, it hands the heal to a
    # background thread
    page = client.get(f"/entries/{entry.id}").get_data(True)
    assert "Renamed elsewhere" in page
    assert wait_idle()
    listed = client.get(f"/entries?q={entry.permissioned_user_id}").get_data(True)
    assert "Renamed elsewhere" in listed and "badge-outside" in listed
    [event] = _drift_events(app)
    assert json.loads(event.changes)["user_alias"]["after"] == "Renamed elsewhere"
    # the sync that follows finds nothing new
    assert _count(_sync(app), "changed outside the console") == 0


def test_a_malformed_entry_is_reported_by_id_and_the_others_are_kept(app, client, sandbox):
    make_entry(sandbox, user_alias="Fine one")
    first = _sync(app)
    total = _count(first, "Synced")
    body = sdk_raw_list(sandbox)
    broken = next(e for e in body if e.get("user_alias") == "Fine one")
    broken_id = broken["id"]
    broken["permissioned_user_id"] = 42  # not text: the index cannot take it
    broken["user_alias"] = "Renamed but broken"
    other = next(e for e in body if e["id"] != broken_id)
    other["user_alias"] = "Renamed and fine"
    sandbox.faults.add("status", status=200, body=body, method="GET", path="/vault", times=1)
    output = _sync(app)
    assert "1 malformed" in output and broken_id in output and "permissioned_user_id" in output
    assert _count(output, "removed") == 0  # the malformed one was not taken for deleted
    auth = AuthActions(app, client)
    auth.login("val", "viewer")
    html = client.get("/entries?per_page=200").get_data(as_text=True)
    assert "Fine one" in html and "Renamed but broken" not in html  # kept as it was
    assert "Renamed and fine" in html
    assert client.get("/entries?per_page=25").status_code == 200
    assert _count(_sync(app), "Synced") == total


def sdk_raw_list(sandbox) -> list[dict]:
    import requests

    answer = requests.get(
        f"{sandbox.base_url}/vault", headers={"cc-key": sandbox.api_key}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


def test_the_console_database_holds_no_secret_plaintext_or_ciphertext(app, client, sandbox):
    made = [
        make_entry(
            sandbox,
            tfa_method="AUTHENTICATOR",
            tfa_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            proxy_setting="custom",
            proxy_value="socks5://u:Pr0xyScan@proxy.example.net:1080",
            cookies=[{"name": "sid", "value": "cookie-value-scan", "domain": ".e.com"}],
            local_storage={"token": "local-value-scan"},
            session_storage={"k": "session-value-scan"},
        )
        for _ in range(2)
    ]
    auth = AuthActions(app, client)
    auth.login("ada", "admin")
    token = csrf(client)
    index_sync(client, token)
    for entry in made:  # detail, reveal, a save: each writes the index or the audit log
        client.get(f"/entries/{entry.id}")
        hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token,
           data={"password": auth.PASSWORD})  # fmt: skip
        page = hx(client, "GET", f"/entries/{entry.id}/sections/credentials/edit").get_data(True)
        data = form_fields(page, "form-credentials")
        data.update(password="Scanned-N3w-Pass")
        hx(client, "POST", f"/entries/{entry.id}/sections/credentials", token, data=data)
    _sync(app)

    forbidden = {"Scanned-N3w-Pass", "Pr0xyScan", "cookie-value-scan", "local-value-scan",
                 "session-value-scan", "JBSWY3DPEHPK3PXP", "Corr3ct-Horse!"}  # fmt: skip
    sdk = sdk_for(sandbox)
    for raw in sdk_raw_list(sandbox):
        for name in ("user_name", "password", "tfa_secret"):
            if raw.get(name):
                forbidden.add(raw[name])  # ciphertext
        if raw.get("proxy_setting") == "custom" and raw.get("proxy_value"):
            forbidden.add(raw["proxy_value"])
    for entry in made:
        plain = fetch(sandbox, entry.permissioned_user_id, entry.domain)
        forbidden |= {plain.user_name, plain.password}
    del sdk
    instance = Path(app.config["INSTANCE_PATH"])
    files = [p for p in instance.iterdir() if p.name.startswith("vault_console.db")]
    assert files, list(instance.iterdir())
    blob = b"".join(p.read_bytes() for p in files)
    assert len(forbidden) > 10
    leaked = [s for s in forbidden if s and s.encode() in blob]
    assert leaked == []


def test_upstream_calls_are_at_the_floor(recorded_app, sandbox, recorder):
    totp = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret="JBSWY3DPEHPK3PXP")
    doomed = make_entry(sandbox)
    client = recorded_app.test_client()
    auth = AuthActions(recorded_app, client)
    auth.login("ann", "admin")
    token = csrf(client)  # the first list page syncs: one GET /vault
    assert recorder.list_fetches() == 1

    def calls(action) -> list[tuple[str, str]]:
        recorder.requests.clear()
        response = action()
        assert response.status_code < 500
        assert response.status_code in (200, 204, 303, 404), re.findall(
            r"field-error\" id=\"([^\"]+)", response.get_data(True)
        )
        return [(r["method"], r["path"]) for r in recorder.requests]

    assert calls(lambda: client.get("/entries?q=a&sort=updated")) == []  # from the index
    missing = calls(lambda: client.get("/entries/no-such-entry"))
    assert missing == []
    assert "Sync now" in client.get("/entries/no-such-entry").get_data(as_text=True)
    assert client.get("/entries/no-such-entry").status_code == 404
    client.get("/entries/new")  # the form lists the provider connections (cached a minute)
    code = calls(lambda: hx(client, "POST", f"/entries/{totp.id}/tfa-code", token))
    assert code == [("GET", "/vault/tfa-code")]
    pid = unique("floor")
    created = calls(
        lambda: hx(
            client,
            "POST",
            "/entries/new",
            token,
            data={
                "permissioned_user_id": pid,
                "domain": "https://floor.example.com",
                "user_name": "f@example.com",
                "password": "Fl00r-Pass!",
                "tfa_method": "none",
                "proxy_setting": "none",
                "source": "stored",
            },
        )  # fmt: skip
    )
    assert created == [("POST", "/vault")], created
    gone = calls(
        lambda: hx(
            client,
            "POST",
            f"/entries/{doomed.id}/delete",
            token,
            data={"confirm": doomed.permissioned_user_id},
        )  # fmt: skip
    )
    assert gone == [("DELETE", "/vault")]
    # the index shows both writes at once
    assert f">{pid}<" in client.get(f"/entries?q={pid}").get_data(as_text=True)
    assert "No entries match" in client.get(f"/entries?q={doomed.permissioned_user_id}").get_data(
        as_text=True
    )
    # a duplicate is the API's 409, mapped to the usual message with a link
    again = hx(client, "POST", "/entries/new", token, data={
        "permissioned_user_id": pid, "domain": "https://floor.example.com",
        "user_name": "f@example.com", "password": "Fl00r-Pass!", "tfa_method": "none",
        "proxy_setting": "none", "source": "stored",
    })  # fmt: skip
    assert again.status_code == 422 and "already exists" in again.get_data(as_text=True)
    assert "Open the existing entry" in again.get_data(as_text=True)


def test_secret_providers_are_reused_for_a_minute(recorded_app, recorder):
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login("ed", "editor")
    recorder.requests.clear()
    for _ in range(3):
        assert client.get("/entries/new").status_code == 200
    fetched = [r for r in recorder.requests if r["path"] == "/secret-providers"]
    assert len(fetched) == 1


def test_overview_counts_equal_counts_from_the_vault(app, client, auth, sandbox):
    from datetime import UTC, datetime, timedelta

    auth.login("olga", "viewer")
    response = client.get("/overview")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    vault = sdk_raw_list(sandbox)
    now = datetime.now(UTC)

    def when(value):
        return datetime.fromisoformat(value) if value else None

    def has_session(e):
        return bool(e.get("session_data_set_at") or e.get("cookies") or e.get("local_storage")
                    or e.get("session_storage"))  # fmt: skip

    def expires(e):
        return when(e.get("effective_expires_at"))

    expected = {
        "Entries": len(vault),
        "Sessions expired": sum(
            1 for e in vault if has_session(e) and expires(e) and expires(e) <= now
        ),
        "Expiring within 24\u00a0h": sum(
            1
            for e in vault
            if has_session(e) and expires(e) and now < expires(e) <= now + timedelta(days=1)
        ),
        "Authenticator 2FA without a secret": sum(
            1 for e in vault if e.get("tfa_method") == "AUTHENTICATOR" and not e.get("tfa_secret")
        ),
        "No 2FA": sum(1 for e in vault if not e.get("tfa_method")),
        "Persistence off": sum(
            1
            for e in vault
            if not (
                e.get("persist_cookies")
                or e.get("persist_local_storage")
                or e.get("persist_session_storage")
            )  # fmt: skip
        ),
        "Changed outside the console": 0,
        "Provider-backed": sum(1 for e in vault if e.get("secret_provider_id")),
    }
    shown = dict(
        (title, int(count.replace(",", "")))
        for count, title in re.findall(
            r'<span class="tile-count">([\d,]+)</span>\s*<span class="tile-title">([^<]+)</span>',
            html,
        )
    )
    assert shown == expected
    # each tile opens the list filtered the same way: same number of entries
    for href, title in re.findall(
        r'<a href="([^"]+)">\s*<span class="tile-count">[^<]+</span>\s*'
        r'<span class="tile-title">([^<]+)</span>',
        html,
    ):
        page = client.get(
            href.replace("&amp;", "&") + ("&" if "?" in href else "?") + "per_page=25"
        )
        listed = page.get_data(as_text=True)
        count = expected[title]
        if count:
            assert re.search(rf"of <strong>{count:,}</strong>", listed), (title, href)
        else:
            assert "No entries" in listed, (title, href)
    # latest console events: the sign-in is there; the page is linked from the navigation
    assert "Sign-in" in html and 'href="/overview"' in html


def test_restarted_console_with_the_api_down_lists_from_the_index(tmp_path, other_vaults):
    from app.sandbox import start_sandbox

    box = start_sandbox(data=tmp_path / "own.db", host="127.0.0.1", port=0, seed=12,
                        rate_limits=None)  # fmt: skip
    try:
        app = make_app(tmp_path, box)
        client = app.test_client()
        AuthActions(app, client).login("rita", "viewer")
        assert "of <strong>12</strong>" in client.get("/entries").get_data(as_text=True)
        app.extensions["upstream"].close()
    finally:
        box.stop()
    # a new console process on the same instance folder, the API unreachable
    restarted = make_app(tmp_path, box, SYNC_SECONDS=1)
    client = restarted.test_client()
    AuthActions(restarted, client).login("rita", "viewer")
    import time

    time.sleep(1.2)
    first = client.get("/entries").get_data(as_text=True)
    assert "of <strong>12</strong>" in first  # answered from the index at once
    deadline = time.monotonic() + 15
    html = first
    while "CloudCruise unreachable; retrying" not in html and time.monotonic() < deadline:
        time.sleep(0.2)  # the background sync that request started fails meanwhile
        html = client.get("/entries").get_data(as_text=True)
    assert "CloudCruise unreachable; retrying" in html and "of <strong>12</strong>" in html
    assert "Could not reach CloudCruise" in html
    restarted.extensions["upstream"].close()


def test_a_stale_index_is_answered_at_once_and_synced_once_in_the_background(
    tmp_path, sandbox, recorder
):
    import time
    from concurrent.futures import ThreadPoolExecutor

    entry = make_entry(sandbox, user_alias="Stale before")
    app = make_app(
        tmp_path,
        sandbox,
        SYNC_SECONDS=1,
        UPSTREAM=Upstream(True, recorder.base_url, sandbox.api_key, sandbox.encryption_key),
    )
    try:
        client = app.test_client()
        AuthActions(app, client).login("sam", "viewer")
        assert "Stale before" in client.get(f"/entries?q={entry.permissioned_user_id}").get_data(
            True
        )
        assert recorder.list_fetches() == 1
        sdk_for(sandbox).vault.update(
            VaultEntryInput(
                domain=entry.domain,
                permissioned_user_id=entry.permissioned_user_id,
                user_alias="Stale after",
            )
        )
        # a slow upstream list: the page must not wait for it
        sandbox.faults.add("latency", delay=1.0, method="GET", path="/vault", times=1)
        time.sleep(1.1)
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:  # several requests find it stale at once
            pages = list(
                pool.map(
                    lambda _: client.get(f"/entries?q={entry.permissioned_user_id}").get_data(True),
                    range(4),
                )
            )
        assert time.perf_counter() - started < 0.9  # answered from the index, not after the fetch
        assert all("Stale before" in page for page in pages)
        deadline = time.monotonic() + 10
        html = ""
        while "Stale after" not in html and time.monotonic() < deadline:
            time.sleep(0.1)
            html = client.get(f"/entries?q={entry.permissioned_user_id}").get_data(True)
        assert "Stale after" in html
        assert recorder.list_fetches() == 2  # one background sync for all of them
    finally:
        app.extensions["upstream"].close()


def test_a_fresh_read_during_a_console_save_is_not_taken_for_drift(app, sandbox):
    """Another request reads the entry after the save reached CloudCruise but before its
    answer landed in the index: that difference is the console's own write."""
    import threading
    import time

    entry = make_entry(sandbox, user_alias="Racing before")
    saver, reader = app.test_client(), app.test_client()
    AuthActions(app, saver).login("sara", "editor")
    AuthActions(app, reader).login("rob", "viewer")
    token = csrf(saver)  # first sync
    page = hx(saver, "GET", f"/entries/{entry.id}/sections/credentials/edit").get_data(True)
    data = form_fields(page, "form-credentials")
    data.update(user_alias="Racing after")
    # CloudCruise applies the PUT at once but its answer arrives 1.5 s later
    sandbox.faults.add("slow_read", delay=1.5, method="PUT", path="/vault", times=1)
    done = {}
    thread = threading.Thread(
        target=lambda: done.update(
            r=hx(saver, "POST", f"/entries/{entry.id}/sections/credentials", token, data=data)
        )
    )
    thread.start()
    deadline = time.monotonic() + 5
    seen = ""
    while "Racing after" not in seen and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = reader.get(f"/entries/{entry.id}").get_data(as_text=True)
    thread.join(10)
    assert "Racing after" in seen and done["r"].status_code == 200
    assert wait_idle()  # the reads' background heals too
    assert _drift_events(app) == []
    listed = reader.get(f"/entries?q={entry.permissioned_user_id}").get_data(True)
    assert "Racing after" in listed and "badge-outside" not in listed


def test_a_cold_start_makes_one_sync_for_all_waiting_requests(recorded_app, recorder):
    from concurrent.futures import ThreadPoolExecutor

    clients = []
    for i in range(6):
        client = recorded_app.test_client()
        AuthActions(recorded_app, client).login(f"cold{i}", "viewer")
        clients.append(client)
    recorder.requests.clear()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda c: c.get("/entries").status_code, clients))
    assert statuses == [200] * 6
    assert recorder.list_fetches() == 1
