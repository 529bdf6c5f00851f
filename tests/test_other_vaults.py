"""Qoder and r4 in the console (against their emulators over real sockets), global search."""

from __future__ import annotations

import json
import re

import requests

from app.models import AuditEvent
from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, hx, input_value, make_entry
from tests.other_vaults_support import add_qoder_credential, qoder_vault_id


def _qoder_vault_id(other_vaults, name):
    return qoder_vault_id(other_vaults["qoder"], name)


def _ids(html, prefix):
    return re.findall(rf'id="cred-({prefix}[0-9a-f]+)"', html)


def test_qoder_vaults_with_filters(client, auth, other_vaults):
    auth.login("qv", "viewer")
    html = client.get("/qoder").get_data(as_text=True)
    assert "Engineering MCP" in html and "Clinical Operations" in html
    archived_hidden = html
    everything = client.get("/qoder?include_archived=1").get_data(as_text=True)
    assert everything.count('href="/qoder/vaults/') > archived_hidden.count('href="/qoder/vaults/')
    only = client.get("/qoder?name=clinical", headers={"HX-Request": "true"}).get_data(True)
    assert "Clinical Operations" in only and "Engineering MCP" not in only and "<html" not in only


def test_qoder_credentials_page_forward_and_back(client, auth, other_vaults):
    vault = _qoder_vault_id(other_vaults, "Engineering MCP")
    auth.login("qp", "viewer")
    first = client.get(f"/qoder/vaults/{vault}").get_data(as_text=True)
    page1 = _ids(first, "vcred_")
    assert len(page1) == 20 and "‹ Newer</span>" in first  # no newer page at the start
    next_url = re.search(
        r'href="([^"]+after_id=[^"]+)" rel="next"|rel="next" href="([^"]+)"', first
    )
    next_url = next(g for g in next_url.groups() if g).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    page2 = _ids(second, "vcred_")
    assert len(page2) == 20 and not set(page1) & set(page2)
    prev_url = re.search(r'rel="prev" href="([^"]+)"', second)[1].replace("&amp;", "&")
    assert _ids(client.get(prev_url).get_data(as_text=True), "vcred_") == page1
    last = client.get(re.search(r'rel="next" href="([^"]+)"', second)[1].replace("&amp;", "&"))
    assert len(_ids(last.get_data(as_text=True), "vcred_")) == 2
    assert "Older ›</span>" in last.get_data(as_text=True)  # the end: no further page


def test_qoder_credential_filters(client, auth, other_vaults):
    vault = _qoder_vault_id(other_vaults, "Engineering MCP")
    auth.login("qf", "viewer")
    linear = client.get(f"/qoder/vaults/{vault}?name=LINEAR").get_data(as_text=True)
    urls = re.findall(r'<span class="mono">(https?://[^<]+)</span>', linear)
    assert urls and all("linear" in u.lower() for u in urls)
    active = len(_ids(client.get(f"/qoder/vaults/{vault}?limit=100").get_data(True), "vcred_"))
    total = len(
        _ids(
            client.get(f"/qoder/vaults/{vault}?limit=100&include_archived=1").get_data(True),
            "vcred_",
        )
    )
    assert total > active
    none = client.get(f"/qoder/vaults/{vault}?created_from=2001-01-01&created_to=2001-01-02")
    assert "No credentials match these filters." in none.get_data(as_text=True)


def test_archive_is_for_editors_audited_and_409_is_handled(app, client, auth, other_vaults):
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(other_vaults["qoder"], vault)
    auth.login("qa-viewer", "viewer")
    page = client.get(f"/qoder/vaults/{vault}").get_data(as_text=True)
    assert cred in _ids(page, "vcred_")
    assert "Archive</button>" not in page
    assert (
        hx(
            client, "POST", f"/qoder/vaults/{vault}/credentials/{cred}/archive", csrf(client)
        ).status_code
        == 403
    )
    auth.logout()
    auth.login("qa-editor", "editor")
    token = csrf(client)
    response = hx(client, "POST", f"/qoder/vaults/{vault}/credentials/{cred}/archive", token)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and row.lstrip().startswith(f'<tr id="cred-{cred}"')
    assert ">archived<" in row and "Credential archived" in response.headers["HX-Trigger"]
    again = hx(client, "POST", f"/qoder/vaults/{vault}/credentials/{cred}/archive", token)
    assert again.status_code == 200 and "already archived" in again.headers["HX-Trigger"]
    with app.app_context():
        from app.extensions import db

        rows = db.session.query(AuditEvent).filter_by(action="qoder.credential.archive").all()
        assert [(r.phase, r.outcome) for r in rows] == [
            ("attempt", "attempt"),
            ("result", "success"),
            ("attempt", "attempt"),
            ("result", "failure"),
        ]
        assert rows[1].target_id == cred and rows[3].status == 409


def test_qoder_down_is_a_banner(client, auth, other_vaults):
    auth.login("qd", "viewer")
    other_vaults["qoder"].faults.add("status", status=503, times=None)
    response = client.get("/qoder")
    assert response.status_code == 200
    assert "Qoder could not be reached." in response.get_data(as_text=True)


def _r4_vault(other_vaults, name):
    return other_vaults["r4"].vault_id(name)


def test_r4_trust_status_per_vault(client, auth, other_vaults):
    auth.login("rv", "viewer")
    html = client.get("/r4").get_data(as_text=True)
    rows = dict(
        re.findall(
            r"<strong>([^<]+)</strong></a>.*?<span class=\"badge [^\"]+\"[^>]*>([^<]+)</span>",
            html,
            re.S,
        )
    )
    assert rows["Production – agents"] == "Verified" and rows["Staging"] == "Verified"
    assert rows["Finance"] == "Unverified" and rows["Legacy import"] == "Unverified"
    production = client.get(
        f"/r4/vaults/{_r4_vault(other_vaults, 'Production – agents')}"
    ).get_data(True)
    assert "<strong>Verified.</strong>" in production and "API key" in production
    finance = client.get(f"/r4/vaults/{_r4_vault(other_vaults, 'Finance')}").get_data(True)
    assert "<strong>Unverified.</strong>" in finance and "cannot be trusted" in finance


def test_r4_rollback_is_detected_and_remembered_across_restarts(tmp_path, sandbox, other_vaults):
    model = other_vaults["r4"].model
    payments = _r4_vault(other_vaults, "Payments")
    model.clear_rollback(payments)  # serve the latest signed checkpoint (v12)
    try:
        app = make_app(tmp_path / "one", sandbox, INSTANCE_PATH=str(tmp_path / "shared"))
        client = app.test_client()
        AuthActions(app, client).login("rb", "viewer")
        first = client.get(f"/r4/vaults/{payments}").get_data(as_text=True)
        assert "<strong>Verified.</strong>" in first and "version 12" in first
        model.rollback(payments, 9)  # the server now replays an older, validly signed checkpoint
        second = client.get(f"/r4/vaults/{payments}").get_data(as_text=True)
        assert "<strong>Rollback detected.</strong>" in second
        assert "version 9" in second and "version 12 was seen before" in second
        # a restart (a new app on the same database) still knows the highest version seen
        again = make_app(tmp_path / "two", sandbox, INSTANCE_PATH=str(tmp_path / "shared"))
        client2 = again.test_client()
        AuthActions(again, client2).login("rb", "viewer")
        third = client2.get(f"/r4/vaults/{payments}").get_data(as_text=True)
        assert "<strong>Rollback detected.</strong>" in third
    finally:
        model.clear_rollback(payments)


def test_r4_item_shows_field_names_never_values(client, auth, other_vaults):
    box = other_vaults["r4"]
    vault = _r4_vault(other_vaults, "Production – agents")
    items = requests.get(f"{box.base_url}/vault/{vault}/items", headers={"X-API-Key": box.api_key},
                         timeout=5).json()["items"]  # fmt: skip
    item = items[0]
    raw = requests.get(f"{box.base_url}/vault/{vault}/items/{item['id']}",
                       headers={"X-API-Key": box.api_key}, timeout=5).json()  # fmt: skip
    auth.login("ri", "viewer")
    html = client.get(f"/r4/vaults/{vault}/items/{item['id']}").get_data(as_text=True)
    assert item["name"] in html and "encrypted" in html
    for field in raw["fields"]:
        assert field["name"] in html
        if field.get("value"):
            envelope = field["value"]
            assert envelope not in html and '"d"' not in html


def test_global_search_finds_all_three(client, auth, sandbox, other_vaults):
    make_entry(sandbox, user_alias="Zebra stripe billing bot")
    auth.login("gs", "viewer")
    html = client.get("/search?q=stripe").get_data(as_text=True)
    assert "Zebra stripe billing bot" in html  # CloudCruise (alias)
    assert "mcp.stripe.com" in html  # Qoder (MCP server URL)
    assert "dashboard.stripe.com" in html  # r4 (website)
    part = hx(client, "GET", "/search?q=stripe").get_data(as_text=True)
    assert "<html" not in part and 'id="results-qoder"' in part
    other_vaults["r4"].faults.add("status", status=503, times=None)
    degraded = client.get("/search?q=stripe").get_data(as_text=True)
    assert "r4 items could not be searched" in degraded and "mcp.stripe.com" in degraded


def test_banner_names_every_sandboxed_service(client, auth):
    auth.login("bn", "viewer")
    html = client.get("/qoder").get_data(as_text=True)
    assert "CloudCruise, Qoder, r4 are local emulators" in html


# -- token rotation ---------------------------------------------------------------------------
NEW_TOKEN = "tok-rotated-Zq81-secret"


def _rotate(client, vault, cred, token, data=None, **kw):
    form = {"token": NEW_TOKEN, "credential_type": "static_bearer"} | (data or {})
    return hx(client, "POST", f"/qoder/vaults/{vault}/credentials/{cred}/token", token,
              data=form, **kw)  # fmt: skip


def _rotate_events(app):
    with app.app_context():
        from app.extensions import db

        return db.session.query(AuditEvent).filter_by(action="qoder.credential.rotate").all()


def test_rotate_is_for_editors_only(client, auth, other_vaults):
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(other_vaults["qoder"], vault)
    auth.login("qr-viewer", "viewer")
    page = client.get(f"/qoder/vaults/{vault}").get_data(as_text=True)
    assert cred in _ids(page, "vcred_") and "Rotate token" not in page
    assert _rotate(client, vault, cred, csrf(client)).status_code == 403
    auth.logout()
    auth.login("qr-editor", "editor")
    page = client.get(f"/qoder/vaults/{vault}").get_data(as_text=True)
    row = page[page.index(f'<tr id="cred-{cred}"') :].split("</tr>", 1)[0]
    assert "Rotate token" in row and 'type="password"' in row and 'name="csrf_token"' in row
    # no CSRF token: refused before anything else
    assert _rotate(client, vault, cred, None).status_code == 400


def test_rotate_replaces_the_token_audits_without_it_and_never_shows_it(
    app, client, auth, other_vaults, log_stream
):
    box = other_vaults["qoder"]
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, url = add_qoder_credential(box, vault)
    headers = {"Authorization": f"Bearer {box.pat}"}
    before = requests.get(f"{box.base_url}/vaults/{vault}/credentials/{cred}", headers=headers,
                          timeout=5).json()  # fmt: skip
    auth.login("qr-rotator", "editor")
    response = _rotate(client, vault, cred, csrf(client))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="cred-{cred}"')
    assert response.headers["HX-Retarget"] == "closest tr"
    assert "Token rotated" in response.headers["HX-Trigger"]
    assert NEW_TOKEN not in html and NEW_TOKEN not in str(response.headers)
    after = requests.get(f"{box.base_url}/vaults/{vault}/credentials/{cred}", headers=headers,
                         timeout=5).json()  # fmt: skip
    assert after["updated_at"] > before["updated_at"] and not after.get("archived_at")
    rows = _rotate_events(app)
    assert [(r.phase, r.outcome) for r in rows] == [("attempt", "attempt"), ("result", "success")]
    assert rows[1].target_id == cred and rows[1].target_pid == url
    assert rows[1].target_domain == f"qoder:{vault}" and json.loads(rows[1].fields) == ["token"]
    assert json.loads(rows[1].changes) == {"token": {"changed": True}}
    for row in rows:
        assert NEW_TOKEN not in str({c.name: getattr(row, c.name) for c in row.__table__.columns})
    assert NEW_TOKEN not in log_stream.getvalue()
    # the audit page names the action
    audit_page = client.get("/audit?action=qoder.credential.rotate").get_data(as_text=True)
    assert "Qoder credential token rotated" in audit_page


def test_rotate_explains_bad_input_beside_the_field_and_sends_nothing(
    app, client, auth, other_vaults
):
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(other_vaults["qoder"], vault)
    auth.login("qr-typo", "editor")
    token = csrf(client)
    for typed, message in (
        ("", "Enter the new token."),
        ("   ", "Enter the new token."),
        (" tok-x ", "starts or ends with white space"),
        ("tok\nx", "control character"),
    ):
        response = _rotate(client, vault, cred, token, {"token": typed})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, typed
        assert html.lstrip().startswith(f'<form id="rotate-{cred}"')
        assert 'class="field-error"' in html and message in html
        assert 'aria-invalid="true"' in html and not input_value(html, "token")
    assert _rotate_events(app) == []  # nothing attempted, nothing audited


def test_rotate_upstream_errors_are_a_banner_and_audited(app, client, auth, other_vaults):
    box = other_vaults["qoder"]
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(box, vault)
    auth.login("qr-down", "editor")
    token = csrf(client)
    box.faults.add("status", status=503, method="POST", times=1)
    response = _rotate(client, vault, cred, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="banner banner-error"' in html
    assert "Not rotated: Qoder answered 503" in html and NEW_TOKEN not in html
    box.faults.add("status", status=409, method="POST", times=1)
    conflict = _rotate(client, vault, cred, token)
    assert conflict.status_code == 409 and "reported a conflict" in conflict.headers["HX-Trigger"]
    assert [(r.outcome, r.status) for r in _rotate_events(app) if r.phase == "result"] == [
        ("failure", 503),
        ("failure", 409),
    ]


def test_rotating_an_archived_credential_is_refused(app, client, auth, other_vaults):
    box = other_vaults["qoder"]
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(box, vault)
    auth.login("qr-late", "editor")
    page = client.get(f"/qoder/vaults/{vault}").get_data(as_text=True)  # loaded while active
    assert f'id="rotate-{cred}"' in page
    requests.post(f"{box.base_url}/vaults/{vault}/credentials/{cred}/archive",
                  headers={"Authorization": f"Bearer {box.pat}"}, timeout=5)  # fmt: skip
    response = _rotate(client, vault, cred, csrf(client))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "an archived credential cannot be rotated" in html
    rows = _rotate_events(app)
    assert [(r.phase, r.outcome) for r in rows] == [("event", "refused")]
    archived = client.get(f"/qoder/vaults/{vault}?include_archived=1").get_data(as_text=True)
    assert cred in _ids(archived, "vcred_") and f'id="rotate-{cred}"' not in archived


def test_rotate_without_javascript_redirects_back_with_a_banner(client, auth, other_vaults):
    vault = _qoder_vault_id(other_vaults, "Support Desk")
    cred, _url = add_qoder_credential(other_vaults["qoder"], vault)
    auth.login("qr-nojs", "editor")
    page = f"/qoder/vaults/{vault}"
    token = csrf(client, page)
    response = client.post(f"{page}/credentials/{cred}/token",
                           data={"token": NEW_TOKEN, "csrf_token": token},
                           headers={"Referer": f"http://localhost{page}"})  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"].endswith(page)
    assert "Token rotated" in client.get(page).get_data(as_text=True)
    empty = client.post(f"{page}/credentials/{cred}/token", data={"token": "", "csrf_token": token})
    assert empty.status_code == 303
    assert "Enter the new token." in client.get(page).get_data(as_text=True)
    missing = client.post(f"{page}/credentials/vcred_{'0' * 32}/token",
                          data={"token": NEW_TOKEN, "csrf_token": token})  # fmt: skip
    assert missing.status_code == 404
