"""Bulk changes: selection, "Keep as is", contradictions, preview, apply with per-entry
results rebuilt from the audit log at a batch URL (POST-redirect-GET), retry."""

from __future__ import annotations

import re

import pytest
from cloudcruise.vault.types import VaultEntryInput

from app.models import AuditEvent
from tests.conftest import AuthActions, unique
from tests.entries_support import csrf, fetch, form_fields, hx, make_entry, sdk_for

BATCH_URL = re.compile(r"/entries/bulk/([0-9a-f]{32})$")


def _login(recorded_app, role="editor", name=None):
    client = recorded_app.test_client()
    AuthActions(recorded_app, client).login(name or f"bulk-{role}", role)
    return client


def _post(client, path, data):
    return client.post(path, data={"csrf_token": csrf(client), **data})


def _ids(entries):
    return [e.id for e in entries]


def _events(app, batch_id=None):
    from app.extensions import db

    with app.app_context():
        query = db.session.query(AuditEvent)
        if batch_id is not None:
            query = query.filter_by(batch_id=batch_id)
        return [
            (e.batch_id, e.phase, e.outcome, e.target_id, e.status, e.message)
            for e in query.order_by(AuditEvent.id)
        ]


def _batches(app) -> set[str]:
    return {e[0] for e in _events(app) if e[0]}


def _apply(client, form):
    """Apply a preview's form: the answer is a redirect to the batch's results page."""
    response = client.post("/entries/bulk/apply", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    batch = BATCH_URL.search(response.headers["Location"])
    assert batch, response.headers["Location"]
    return batch[1], client.get(response.headers["Location"])


def form_ids(html):
    return re.findall(r'<input type="hidden" name="ids" value="([0-9a-f-]{36})">', html)


def test_viewers_cannot_bulk_change(client, auth, sandbox):
    entry = make_entry(sandbox)
    auth.login("vee", "viewer")
    assert 'id="bulk-form"' not in client.get("/entries").get_data(as_text=True)
    response = _post(client, "/entries/bulk", {"kind": "proxy", "ids": entry.id})
    assert response.status_code == 403
    assert client.get(f"/entries/bulk/{'a' * 32}").status_code == 403


def test_list_offers_selection_to_editors(recorded_app, sandbox):
    client = _login(recorded_app)
    make_entry(sandbox)
    html = client.get("/entries").get_data(as_text=True)
    assert 'id="bulk-form"' in html and 'data-check-all="ids"' in html
    assert re.search(
        r'<input type="checkbox" name="ids" value="[0-9a-f-]{36}" form="bulk-form"', html
    )
    # disabled until something is selected (bulk.js); without JavaScript a working button
    assert '<button type="submit" class="btn btn-small" data-bulk-submit disabled>' in html
    assert '<noscript><button type="submit" class="btn btn-small">Bulk change…' in html
    assert '<script defer src="/static/js/bulk.js' in html
    assert "data-bulk-clear" in html and "data-bulk-ids" in html


@pytest.mark.parametrize("step", ["/entries/bulk", "/entries/bulk/preview", "/entries/bulk/apply"])
def test_nothing_selected_is_refused_with_a_clear_message(recorded_app, sandbox, recorder, step):
    client = _login(recorded_app)
    response = _post(client, step, {"kind": "persistence", "persist_cookies": "on"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Select at least one entry first" in html and 'role="alert"' in html
    assert recorder.writes("PUT") == [] and _batches(recorded_app) == set()


def test_every_step_defaults_to_keep_as_is_and_keep_sends_nothing(recorded_app, sandbox, recorder):
    entry = make_entry(sandbox, persist_cookies=False, max_concurrency=None)
    client = _login(recorded_app)
    for kind in ("persistence", "expiry", "concurrency", "proxy"):
        html = _post(client, "/entries/bulk", {"kind": kind, "ids": entry.id}).get_data(True)
        form = form_fields(html, "bulk-choose-form")
        selects = re.findall(r'<select[^>]*name="([\w_]+)"', html)
        assert selects, kind
        for name in selects:  # each select's first option is "Keep as is", and chosen
            assert form[name] == "keep", (kind, name)
            options = re.search(rf'name="{name}"[^>]*>\s*<option[^>]*>([^<]+)<', html)
            assert options[1] == "Keep as is", (kind, name)
        # every field left as it is: refused, nothing is previewed or sent
        refused = client.post("/entries/bulk/preview", data=form)
        assert refused.status_code == 422, kind
        assert "Nothing would change" in refused.get_data(as_text=True)
    # one change among fields left at "Keep as is": only that field is sent
    html = _post(client, "/entries/bulk", {"kind": "persistence", "ids": entry.id}).get_data(True)
    form = form_fields(html, "bulk-choose-form")
    form["persist_cookies"] = "on"
    preview = client.post("/entries/bulk/preview", data=form).get_data(as_text=True)
    assert "Persist cookies → Yes" in preview and "Persist local storage" not in preview
    _apply(client, form_fields(preview, "bulk-apply-form"))
    [put] = recorder.writes("PUT")
    assert put["json"] == {"id": entry.id, "permissioned_user_id": entry.permissioned_user_id,
                           "domain": entry.domain, "persist_cookies": True}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "expiry", "expiry_time_from_last_use_action": "none",
          "expiry_time_from_last_use": "2 hours", "expiry_time_from_session_data_set_action":
          "keep"}, "expiry_time_from_last_use", "“No expiry” takes no value; clear this field."),
        ({"kind": "expiry", "expiry_time_from_last_use_action": "set",
          "expiry_time_from_last_use": "2 hours", "expiry_time_from_session_data_set_action":
          "keep", "expiry_time_from_session_data_set": "1 day"},
         "expiry_time_from_session_data_set", "“Keep as is” takes no value; clear this field."),
        ({"kind": "concurrency", "allow_multiple_sessions": "on",
          "max_concurrency_action": "unlimited", "max_concurrency": "5",
          "prevent_concurrency_during_login": "keep"},
         "max_concurrency", "“Unlimited” takes no value; clear this field."),
        ({"kind": "concurrency", "allow_multiple_sessions": "on", "max_concurrency_action": "keep",
          "max_concurrency": "5", "prevent_concurrency_during_login": "keep"},
         "max_concurrency", "“Keep as is” takes no value; clear this field."),
        ({"kind": "proxy", "proxy_setting": "random", "proxy_value": "US"},
         "proxy_value", "Random and no-proxy modes take no value; clear this field."),
        ({"kind": "proxy", "proxy_setting": "none", "proxy_value": "US"},
         "proxy_value", "Random and no-proxy modes take no value; clear this field."),
        ({"kind": "proxy", "proxy_setting": "keep", "proxy_value": "US"},
         "proxy_value", "“Keep as is” takes no value; clear this field."),
    ],
)  # fmt: skip
def test_contradictory_input_is_refused_beside_the_field(
    recorded_app, sandbox, recorder, data, field, message
):
    entry = make_entry(sandbox)
    client = _login(recorded_app)
    for step in ("/entries/bulk/preview", "/entries/bulk/apply"):
        response = _post(client, step, {"ids": entry.id, **data})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, step
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*'
                         rf'id="{field}"', html)  # fmt: skip
        assert re.search(rf'<input[^>]*autofocus[^>]*id="{field}"|<input[^>]*id="{field}"'
                         r"[^>]*autofocus", html)  # fmt: skip
    assert recorder.writes("PUT") == [] and _batches(recorded_app) == set()


def test_apply_redirects_to_the_batch_results_rebuilt_from_the_audit_log(
    recorded_app, sandbox, recorder
):
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
    batch, results = _apply(client, form)
    html = results.get_data(as_text=True)
    assert results.status_code == 200 and "1 updated" in html and "1 already as requested" in html
    assert "Persist cookies: No → Yes" in html and "Already as requested; nothing sent." in html
    assert "run by bulk-editor" in html and f"q={batch}" in html
    [put] = recorder.writes("PUT")
    assert put["json"] == {"id": a.id, "permissioned_user_id": a.permissioned_user_id,
                           "domain": a.domain, "persist_cookies": True}  # fmt: skip
    assert fetch(sandbox, a.permissioned_user_id, a.domain).persist_cookies is True
    # every entry of the batch has its events: a save's attempt and result, or why not
    assert {e[1:4] for e in _events(recorded_app, batch)} == {
        ("attempt", "attempt", a.id),
        ("result", "success", a.id),
        ("event", "success", b.id),
    }
    # reloading the results reads the log again: no second batch, nothing sent again
    again = client.get(f"/entries/bulk/{batch}").get_data(as_text=True)
    assert again.count('class="bulk-') == html.count('class="bulk-')
    assert _batches(recorded_app) == {batch} and len(recorder.writes("PUT")) == 1


def test_htmx_apply_answers_with_hx_redirect_to_the_batch(recorded_app, sandbox):
    entry = make_entry(sandbox, skip_csrf_cookies=False)
    client = _login(recorded_app)
    token = csrf(client)
    data = {"kind": "persistence", "ids": entry.id, "persist_cookies": "keep",
            "persist_local_storage": "keep", "persist_session_storage": "keep",
            "skip_csrf_cookies": "on"}  # fmt: skip
    preview = hx(client, "POST", "/entries/bulk/preview", token, data=data)
    assert preview.status_code == 200 and 'id="main"' in preview.get_data(as_text=True)
    form = form_fields(preview.get_data(as_text=True), "bulk-apply-form")
    applied = hx(client, "POST", "/entries/bulk/apply", token, data=form)
    assert applied.status_code == 204
    assert BATCH_URL.search(applied.headers["HX-Redirect"])
    assert "1 updated" in client.get(applied.headers["HX-Redirect"]).get_data(as_text=True)


def test_batch_results_are_for_the_editor_who_ran_it_and_admins(recorded_app, sandbox):
    entry = make_entry(sandbox, prevent_concurrency_during_login=False)
    client = _login(recorded_app, name="runner")
    form = form_fields(
        _post(client, "/entries/bulk/preview", {
            "kind": "concurrency", "ids": entry.id, "allow_multiple_sessions": "keep",
            "max_concurrency_action": "keep", "prevent_concurrency_during_login": "on",
        }).get_data(as_text=True),
        "bulk-apply-form",
    )  # fmt: skip
    batch, _results = _apply(client, form)
    other = _login(recorded_app, name="other-editor")
    assert other.get(f"/entries/bulk/{batch}").status_code == 403
    admin = _login(recorded_app, "admin", name="boss")
    page = admin.get(f"/entries/bulk/{batch}")
    assert page.status_code == 200 and "run by runner" in page.get_data(as_text=True)
    assert admin.get(f"/entries/bulk/{'0' * 32}").status_code == 404
    assert admin.get("/entries/bulk/not-a-batch").status_code == 404


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
    assert "Expire after last use → 45 min" in html
    form = form_fields(html, "bulk-apply-form")
    assert sorted(form_ids(html)) == sorted(_ids(entries))
    _batch, results = _apply(client, form)
    assert "3 updated" in results.get_data(as_text=True)
    for entry in entries:
        assert (
            fetch(sandbox, entry.permissioned_user_id, entry.domain).expiry_time_from_last_use
            == "00:45:00"
        )


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


def test_one_failure_leaves_the_others_applied_and_can_be_retried(recorded_app, sandbox):
    client = _login(recorded_app)
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
    batch, results = _apply(client, form)
    html = results.get_data(as_text=True)
    assert "1 updated" in html and "1 failed" in html and "1 changed meanwhile" in html
    assert "CloudCruise answered 503" in html
    assert "Changed by someone else since the preview; not overwritten." in html
    assert "Retry the 2 not applied" in html
    stored = [fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency for e in entries]
    assert sorted(stored, key=lambda x: x is None)[0] == 6 and stored.count(6) == 1
    conflict = [e for e in _events(recorded_app, batch) if e[3] == other.id]
    assert conflict == [
        (batch, "event", "refused", other.id, 409, "Changed by someone else since the preview; "
         "not overwritten.")
    ]  # fmt: skip
    # the retry asks for the same change (rebuilt from the batch's events)
    retry = form_fields(html, "bulk-retry-form")
    assert len(form_ids(html)) == 2
    assert (retry["max_concurrency_action"], retry["max_concurrency"]) == ("set", "6")
    assert retry["prevent_concurrency_during_login"] == "on"
    again = client.post("/entries/bulk/preview", data=retry).get_data(as_text=True)
    assert "2 will change" in again
    _batch2, done = _apply(client, form_fields(again, "bulk-apply-form"))
    assert "2 updated" in done.get_data(as_text=True)
    assert all(
        fetch(sandbox, e.permissioned_user_id, e.domain).max_concurrency == 6 for e in entries
    )
    assert len(_batches(recorded_app)) == 2


def test_a_failed_read_before_saving_is_a_failure_of_that_entry(recorded_app, sandbox, recorder):
    entry = make_entry(sandbox, persist_local_storage=False)
    client = _login(recorded_app)
    form = form_fields(
        _post(client, "/entries/bulk/preview", {
            "kind": "persistence", "ids": entry.id, "persist_cookies": "keep",
            "persist_local_storage": "on", "persist_session_storage": "keep",
            "skip_csrf_cookies": "keep",
        }).get_data(as_text=True),
        "bulk-apply-form",
    )  # fmt: skip
    sandbox.faults.add("status", status=503, method="GET", path="/vault", times=10)  # retries too
    batch, results = _apply(client, form)
    sandbox.faults.clear()
    html = results.get_data(as_text=True)
    assert "1 failed" in html and "CloudCruise answered 503" in html
    assert "Retry the 1 not applied" in html and recorder.writes("PUT") == []
    assert [e[1:5] for e in _events(recorded_app, batch)] == [("event", "failure", entry.id, 503)]


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
    assert "Proxy mode → Custom proxy URL" in html
    form = form_fields(html, "bulk-apply-form")
    assert form["proxy_value"] == ""
    form["proxy_value"] = url
    batch, results = _apply(client, form)
    html = results.get_data(as_text=True)
    assert "1 updated" in html and "Sup3rSecret" not in html
    assert "Proxy value: changed" in html
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).proxy_value == url
    assert not any("Sup3rSecret" in str(e) for e in _events(recorded_app, batch))
