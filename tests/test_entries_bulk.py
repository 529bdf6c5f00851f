"""Bulk changes: selection, preview, apply with per-entry results, audit batch, retry."""

from __future__ import annotations

import re

from cloudcruise.vault.types import VaultEntryInput

from app.models import AuditEvent
from tests.conftest import AuthActions, unique
from tests.entries_support import csrf, fetch, form_fields, make_entry, sdk_for


def _login(recorded_app, role="editor"):
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login(f"bulk-{role}", role)
    return client


def _post(client, path, data):
    return client.post(path, data={"csrf_token": csrf(client), **data})


def _ids(entries):
    return [e.id for e in entries]


def test_viewers_cannot_bulk_change(client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("vee", "viewer")
    assert 'id="bulk-form"' not in client.get("/entries").get_data(as_text=True)
    response = _post(client, "/entries/bulk", {"kind": "proxy", "ids": entry.id})
    assert response.status_code == 403


def test_list_offers_selection_to_editors(recorded_app, sandbox):
    client = _login(recorded_app)
    make_entry(sandbox)
    html = client.get("/entries").get_data(as_text=True)
    assert 'id="bulk-form"' in html and 'data-check-all="ids"' in html
    assert re.search(
        r'<input type="checkbox" name="ids" value="[0-9a-f-]{36}" form="bulk-form"', html
    )


def test_choose_preview_apply_results_and_audit_batch(recorded_app, sandbox, recorder):
    tag = unique("bulkset")
    a = make_entry(sandbox, user_alias=f"{tag} a", persist_cookies=False)
    b = make_entry(sandbox, user_alias=f"{tag} b", persist_cookies=True)
    client = _login(recorded_app)
    choose = _post(client, "/entries/bulk", {"kind": "persistence", "ids": _ids([a, b])})
    html = choose.get_data(as_text=True)
    assert choose.status_code == 200 and "Change for 2 entries" in html
    preview = _post(client, "/entries/bulk/preview", {
        "kind": "persistence", "ids": _ids([a, b]), "persist_cookies": "on",
        "persist_local_storage": "keep", "persist_session_storage": "keep",
        "skip_csrf_cookies": "keep",
    })  # fmt: skip
    html = preview.get_data(as_text=True)
    assert "1 will change · 1 already as requested" in html
    assert recorder.writes("PUT") == []  # previewing sends nothing
    form = form_fields(html, "bulk-apply-form")
    assert form["persist_cookies"] == "on" and form[f"seen-{a.id}"]
    applied = client.post("/entries/bulk/apply", data=form)
    html = applied.get_data(as_text=True)
    assert applied.status_code == 200 and "1 updated" in html and "1 already as requested" in html
    [put] = recorder.writes("PUT")
    assert put["json"] == {"id": a.id, "permissioned_user_id": a.permissioned_user_id,
                           "domain": a.domain, "persist_cookies": True}  # fmt: skip
    assert fetch(sandbox, a.permissioned_user_id, a.domain).persist_cookies is True
    batch = re.search(r"q=([0-9a-f]{32})", html)[1]
    with recorded_app.app_context():
        from app.extensions import db

        rows = db.session.query(AuditEvent).filter_by(batch_id=batch).all()
        assert {(r.action, r.outcome, r.target_id) for r in rows} == {
            ("entry.session.update", "attempt", a.id),
            ("entry.session.update", "success", a.id),
        }


def test_all_matching_the_filters(recorded_app, sandbox, recorder):
    tag = unique("bulkall")
    entries = [make_entry(sandbox, user_alias=f"{tag} {i}") for i in range(3)]
    client = _login(recorded_app)
    preview = _post(client, "/entries/bulk/preview", {
        "kind": "expiry", "all_matching": "1", "q": tag,
        "expiry_time_from_last_use_action": "set", "expiry_time_from_last_use": "45 minutes",
        "expiry_time_from_session_data_set_action": "keep",
    })  # fmt: skip
    html = preview.get_data(as_text=True)
    assert "3 will change" in html and html.count(f"{tag} ") >= 3
    form = form_fields(html, "bulk-apply-form")
    assert sorted(form_ids(html)) == sorted(_ids(entries))
    client.post("/entries/bulk/apply", data=form)
    for entry in entries:
        assert (
            fetch(sandbox, entry.permissioned_user_id, entry.domain).expiry_time_from_last_use
            == "00:45:00"
        )


def form_ids(html):
    return re.findall(r'<input type="hidden" name="ids" value="([0-9a-f-]{36})">', html)


def test_invalid_change_is_refused_before_anything_is_sent(recorded_app, sandbox, recorder):
    entry = make_entry(sandbox)
    client = _login(recorded_app)
    response = _post(client, "/entries/bulk/preview", {
        "kind": "proxy", "ids": entry.id, "proxy_setting": "country", "proxy_value": "Atlantis",
    })  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "two-letter ISO 3166" in html
    assert 'value="Atlantis"' in html
    assert recorder.writes("PUT") == []


def test_one_failure_leaves_the_others_applied_and_can_be_retried(client, auth, sandbox):
    auth.login("bulky", "editor")
    tag = unique("bulkfail")
    entries = [make_entry(sandbox, user_alias=f"{tag} {i}", allow_multiple_sessions=True)
               for i in range(3)]  # fmt: skip
    preview = _post(client, "/entries/bulk/preview", {
        "kind": "concurrency", "ids": _ids(entries), "allow_multiple_sessions": "keep",
        "max_concurrency_action": "set", "max_concurrency": "6",
        "prevent_concurrency_during_login": "on",
    })  # fmt: skip
    form = form_fields(preview.get_data(as_text=True), "bulk-apply-form")
    # one entry is changed by someone else after the preview
    other = entries[2]
    sdk_for(sandbox).vault.update(
        VaultEntryInput(
            domain=other.domain, permissioned_user_id=other.permissioned_user_id, user_alias="moved"
        )
    )
    # and one PUT fails upstream; the others go through
    sandbox.faults.add("status", status=503, method="PUT", path="/vault", times=1)
    html = client.post("/entries/bulk/apply", data=form).get_data(as_text=True)
    assert "1 updated" in html and "1 failed" in html and "1 changed meanwhile" in html
    assert "CloudCruise answered 503" in html
    assert "Retry the 2 not applied" in html
    stored = [fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency for e in entries]
    assert sorted(stored, key=lambda x: x is None)[0] == 6 and stored.count(6) == 1
    retry = form_fields(html, "bulk-retry-form")
    assert len(form_ids(html)) == 2
    again = client.post("/entries/bulk/preview", data=retry).get_data(as_text=True)
    assert "2 will change" in again
    form = form_fields(again, "bulk-apply-form")
    done = client.post("/entries/bulk/apply", data=form).get_data(as_text=True)
    assert "2 updated" in done
    assert all(
        fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency == 6 for e in entries
    )


def test_blocked_entries_are_skipped_with_a_reason(recorded_app, sandbox):
    single = make_entry(sandbox, allow_multiple_sessions=False)
    client = _login(recorded_app)
    html = _post(client, "/entries/bulk/preview", {
        "kind": "concurrency", "ids": single.id, "allow_multiple_sessions": "keep",
        "max_concurrency_action": "set", "max_concurrency": "2",
        "prevent_concurrency_during_login": "keep",
    }).get_data(as_text=True)  # fmt: skip
    assert (
        "Multiple sessions are not allowed for this entry" in html and "Apply to 0 entries" in html
    )


def test_custom_proxy_url_is_never_sent_back_to_the_browser(recorded_app, sandbox, recorder):
    entry = make_entry(sandbox)
    client = _login(recorded_app)
    url = "socks5://team:Sup3rSecret@proxy.example.net:1080"
    preview = _post(client, "/entries/bulk/preview", {
        "kind": "proxy", "ids": entry.id, "proxy_setting": "custom", "proxy_value": url,
    })  # fmt: skip
    html = preview.get_data(as_text=True)
    assert "Sup3rSecret" not in html and "enter it again to apply" in html
    form = form_fields(html, "bulk-apply-form")
    assert form["proxy_value"] == ""
    form["proxy_value"] = url
    result = client.post("/entries/bulk/apply", data=form).get_data(as_text=True)
    assert "1 updated" in result and "Sup3rSecret" not in result
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).proxy_value == url
