"""Qoder and r4 in the console (against their emulators over real sockets), global search."""

from __future__ import annotations

import re

import requests

from app.models import AuditEvent
from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, hx, make_entry
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
