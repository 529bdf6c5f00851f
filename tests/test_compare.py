"""Comparing two vaults: matching, groups, trust, a failing side, filters, export, empty
states. Pages are requested through the console; the r4 and Qoder emulators answer over
real sockets (the ``other_vaults`` fixture)."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.qoder.compare import normalise_url
from app.vaults.comparison import Row, pair
from tests.entries_support import csrf
from tests.other_vaults_support import qoder_vault_id


def _row(key: str, title: str | None = None, **values) -> Row:
    return Row(key=key, title=title or key, type=values.get("type", "LOGIN"), url="#",
               values=values, shown={k: str(v) for k, v in values.items()})  # fmt: skip


def test_pairs_by_key_into_groups_and_keeps_duplicates_on_their_side():
    a = [_row("x", type="LOGIN"), _row("y", type="LOGIN"), _row("dup"), _row("dup", "Dup 2")]
    b = [_row("y", type="API_KEY"), _row("z"), _row("dup")]
    pairs = {(p.group, p.key, p.title): p for p in pair(a, b, ["type"])}
    assert set(pairs) == {
        ("only_a", "x", "x"), ("different", "y", "y"), ("only_b", "z", "z"),
        ("same", "dup", "dup"), ("only_a", "dup", "Dup 2"),
    }  # fmt: skip
    assert pairs[("different", "y", "y")].differences == ("type",)
    groups = [p.group for p in pair(a, b, ["type"])]
    assert groups == sorted(groups, key=["only_a", "only_b", "different", "same"].index)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://mcp.linear.app/sse", "HTTPS://MCP.Linear.app:443/sse/"),
        ("http://mcp.example.com/", "http://MCP.example.com:80"),
        ("https://[2001:db8::1]:8443/mcp", "https://[2001:DB8::1]:8443/mcp/"),
    ],
)
def test_one_mcp_server_written_two_ways_is_one_key(a, b):
    assert normalise_url(a) == normalise_url(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://mcp.example.com/sse", "https://mcp.example.com/SSE"),  # paths keep case
        ("https://mcp.example.com:8443/sse", "https://mcp.example.com/sse"),
        ("http://mcp.example.com/sse", "https://mcp.example.com/sse"),
    ],
)
def test_different_mcp_servers_stay_apart(a, b):
    assert normalise_url(a) != normalise_url(b)


def _r4(other_vaults, name: str) -> str:
    return other_vaults["r4"].vault_id(name)


def _page(client, provider: str, a: str, b: str, **filters) -> tuple[int, str]:
    response = client.get("/compare", query_string={"provider": provider, "a": a, "b": b,
                                                    **filters})  # fmt: skip
    return response.status_code, response.get_data(as_text=True)


def _counts(html: str) -> dict[str, int]:
    return {
        group: int(count)
        for group, count in re.findall(
            r'data-group="(\w+)">[^<]*<span class="count">(\d+)</span>', html
        )
    }


def _titles(html: str, side: str) -> list[str]:
    """Titles in the A or B column of the result rows (the main table only)."""
    table = html.split('<details class="compare-same">')[0]
    column = 1 if side == "A" else 2
    out = []
    for row in re.findall(r'<tr class="compare-row[^"]*">(.*?)</tr>', table, re.S):
        cells = re.findall(r"<td>(.*?)</td>\s*(?=<td>|$)", row + "<td>", re.S)
        link = (
            re.search(r'<a href="[^"]+">([^<]+)</a>', cells[column])
            if len(cells) > column
            else None
        )
        if link:
            out.append(link.group(1))
    return out


def test_every_role_compares_two_r4_vaults_by_item_name(client, auth, other_vaults):
    auth.login("cmpv", "viewer")
    prod, staging = _r4(other_vaults, "Production – agents"), _r4(other_vaults, "Staging")
    status, html = _page(client, "r4", prod, staging)
    assert status == 200
    assert _counts(html) == {"only_a": 25, "only_b": 6, "different": 0, "same": 0}
    assert 'id="compare-trust"' in html and "<strong>Verified.</strong>" in html
    # each row links to the item in its vault
    item = re.search(rf'href="(/r4/vaults/{prod}/items/[^"]+)">GitHub – deploy bot<', html)
    assert item and client.get(item[1]).status_code == 200
    only_b = _page(client, "r4", prod, staging, group="only_b")[1]
    assert len(_titles(only_b, "B")) == 6 and _titles(only_b, "A") == []
    searched = _page(client, "r4", prod, staging, q="github")[1]
    assert sorted(_titles(searched, "A") + _titles(searched, "B")) == [
        "GitHub – deploy bot", "GitHub – staging bot",
    ]  # fmt: skip
    typed = _page(client, "r4", prod, staging, type="SSH_KEY")[1]
    assert sorted(_titles(typed, "A") + _titles(typed, "B")) == [
        "Bastion SSH", "Build runner SSH", "Staging deploy key",
    ]  # fmt: skip


def test_an_unverified_side_marks_the_comparison_not_verified(client, auth, other_vaults):
    auth.login("cmpu", "viewer")
    finance, staging = _r4(other_vaults, "Finance"), _r4(other_vaults, "Staging")
    status, html = _page(client, "r4", staging, finance)
    assert status == 200
    banner = re.search(r'id="compare-trust"><div class="banner-body">(.*?)</div>', html, re.S)[1]
    assert "Not verified." in banner and "vault B (Finance)" in banner
    assert "unauthenticated metadata" in banner and "vault A" not in banner
    assert 'class="table-wrap untrusted"' in html


def test_a_signature_tampered_at_the_server_is_caught(client, auth, other_vaults):
    box = other_vaults["r4"]
    prod, staging = _r4(other_vaults, "Production – agents"), _r4(other_vaults, "Staging")
    control = f"{box.root_url}/_sandbox/tamper/{staging}"
    headers = {"X-API-Key": box.api_key}
    assert requests.post(control, json={"mode": "signature"}, headers=headers, timeout=5).ok
    try:
        auth.login("cmpt", "viewer")
        html = _page(client, "r4", prod, staging)[1]
        assert "Not verified." in html and "vault B (Staging)" in html
        assert "signature does not match" in html
    finally:
        requests.post(control, json={"mode": None}, headers=headers, timeout=5)


def test_a_rolled_back_side_blocks_the_comparison(client, auth, other_vaults):
    model = other_vaults["r4"].model
    payments, prod = _r4(other_vaults, "Payments"), _r4(other_vaults, "Production – agents")
    model.clear_rollback(payments)
    try:
        auth.login("cmpr", "viewer")
        assert "Verified" in client.get(f"/r4/vaults/{payments}").get_data(True)
        from app.background import wait_idle

        assert wait_idle()  # the highest version seen is recorded
        model.rollback(payments, 9)
        status, html = _page(client, "r4", prod, payments)
        assert status == 200
        assert "Comparison blocked: rollback detected in vault B (Payments)." in html
        assert "version 12 was seen before" in html
        assert "compare-row" not in html and "compare-export" not in html
    finally:
        model.clear_rollback(payments)


def test_a_failing_side_is_named_and_the_other_kept(client, auth, other_vaults):
    box = other_vaults["r4"]
    prod, staging = _r4(other_vaults, "Production – agents"), _r4(other_vaults, "Staging")
    path = f"{urlsplit(box.base_url).path}/vault/{staging}/items"
    box.faults.add("status", status=503, path=path, times=None)
    auth.login("cmpf", "viewer")
    status, html = _page(client, "r4", prod, staging)
    assert status == 200
    assert "Vault B (Staging) could not be read." in html
    assert "25 items" in html  # side A still shown
    assert "compare-row" not in html


def test_qoder_side_failure_and_one_vault_with_itself(client, auth, other_vaults):
    box = other_vaults["qoder"]
    names = [v["display_name"] for v in requests.get(
        f"{box.base_url}/vaults", params={"limit": 100},
        headers={"Authorization": f"Bearer {box.pat}"}, timeout=5,
    ).json()["data"]]  # fmt: skip
    a, b = (qoder_vault_id(box, n) for n in names[:2])
    auth.login("cmpq", "viewer")
    status, html = _page(client, "qoder", a, a)
    assert status == 422 and "a vault compared with itself has no differences" in html
    status, html = _page(client, "qoder", a, b)
    assert status == 200 and "compare-groups" in html
    credentials = f"{urlsplit(box.base_url).path}/vaults/{a}/credentials"
    box.faults.add("status", status=500, path=credentials, times=None)
    status, html = _page(client, "qoder", a, b)
    assert status == 200 and "Vault A (" in html and "could not be read." in html


def test_unknown_vault_or_provider_is_a_404(client, auth, other_vaults):
    auth.login("cmpn", "viewer")
    prod = _r4(other_vaults, "Production – agents")
    assert _page(client, "r4", prod, "f" * 24)[0] == 404
    assert _page(client, "nothing", prod, "x")[0] == 404
    assert _page(client, "cloudcruise", "a", "b")[0] == 404  # no vaults to compare there
    # the vault page offers every other vault
    page = client.get(f"/r4/vaults/{prod}").get_data(as_text=True)
    offered = re.findall(r'<option value="([^"]+)">', page.split('id="compare-with"')[1])
    assert prod not in offered and _r4(other_vaults, "Staging") in offered


def test_export_is_metadata_only_neutralised_and_audited(app, client, auth, other_vaults):
    auth.login("cmpe", "viewer")
    prod, staging = _r4(other_vaults, "Production – agents"), _r4(other_vaults, "Staging")
    token = csrf(client)
    form = {"csrf_token": token, "provider": "r4", "a": prod, "b": staging}
    response = client.post("/compare/export", data={**form, "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 31
    assert {r["group"] for r in rows} == {"only_a", "only_b"}
    github = next(r for r in rows if r["name_a"] == "GitHub – deploy bot")
    assert github["type_a"] == "Login" and github["websites_a"] == "https://github.com"
    assert github["name_b"] == "" and github["field_count_a"].isdigit()
    lines = client.post("/compare/export", data={**form, "format": "jsonl"}).get_data(True)
    records = [json.loads(line) for line in lines.splitlines()]
    assert len(records) == 31 and {r["match_key"] for r in records} >= {"github – deploy bot"}
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "r4.compare.export")
        ).all()
    assert [e.outcome for e in events] == ["success", "success"]
    assert "Production – agents" in events[0].message and "31 rows" in events[0].message
    assert client.post("/compare/export", data={**form, "format": "xml"}).status_code == 400
    assert (
        client.post(
            "/compare/export", data={"provider": "r4", "a": prod, "b": staging, "format": "csv"}
        ).status_code
        == 400
    )  # no CSRF


def test_export_cells_cannot_run_as_formulas(app, client, auth, other_vaults):
    from app.exports import lines

    text = "".join(lines("csv", ["name"], [{"name": '=HYPERLINK("x")'}, {"name": "+1"}]))
    assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == ['\'=HYPERLINK("x")', "'+1"]


def _key_of(title: str) -> str:
    return " ".join(title.split()).casefold()


def test_the_seeded_r4_pair_differs_in_every_way_compared(client, auth, other_vaults):
    from app.sandbox.r4 import seed

    a = _r4(other_vaults, seed.PRODUCTION_SECRETS_NAME)
    b = _r4(other_vaults, seed.STAGING_SECRETS_NAME)
    auth.login("cmps", "viewer")
    status, html = _page(client, "r4", a, b)
    assert status == 200 and "<strong>Verified.</strong>" in html
    assert _counts(html) == {
        "only_a": len(seed.SECRETS_ONLY_A), "only_b": len(seed.SECRETS_ONLY_B),
        "different": len(seed.SECRETS_CHANGED), "same": len(seed.SECRETS_SAME),
    }  # fmt: skip
    only_a = _page(client, "r4", a, b, group="only_a")[1]
    assert sorted(map(_key_of, _titles(only_a, "A"))) == sorted(seed.SECRETS_ONLY_A)
    only_b = _page(client, "r4", a, b, group="only_b")[1]
    assert sorted(map(_key_of, _titles(only_b, "B"))) == sorted(seed.SECRETS_ONLY_B)
    different = _page(client, "r4", a, b, group="different")[1]
    labels = {"type": "Type", "websites": "Websites", "field_count": "Fields", "group": "Group"}
    for row in re.findall(r'<tr class="compare-row group-different">(.*?)</tr>', different, re.S):
        name = _key_of(re.search(r'<a href="[^"]+">([^<]+)</a>', row)[1])
        differs = re.findall(r"<td>([^<]*)</td>\s*$", row.strip() + "")  # the last cell
        assert differs == [labels[seed.SECRETS_CHANGED[name]]], (name, row)
    same = _page(client, "r4", a, b, group="same")[1]
    # a case- and space-only difference in the name is one item
    assert sorted(map(_key_of, _titles(same, "A"))) == sorted(seed.SECRETS_SAME)
    assert "  github deploy key " in _titles(same, "B")  # as served, matched all the same
    # the collapsed group on the unfiltered page lists them too
    assert f"{len(seed.SECRETS_SAME)} items are the same in both" in html


def test_the_seeded_qoder_pair_matches_urls_written_differently(client, auth, other_vaults):
    from app.qoder.compare import normalise_url
    from app.sandbox.qoder import seed

    a, b = seed.vault_id(seed.PRODUCTION_MCP), seed.vault_id(seed.STAGING_MCP)
    auth.login("cmpm", "viewer")
    status, html = _page(client, "qoder", a, b)
    assert status == 200 and 'id="compare-trust"' not in html  # Qoder has no checkpoints
    counts = _counts(html)
    assert counts["only_a"] == len(seed.MCP_ONLY_A) and counts["only_b"] == len(seed.MCP_ONLY_B)
    only_a = _page(client, "qoder", a, b, group="only_a")[1]
    assert sorted(normalise_url(t) for t in _titles(only_a, "A")) == sorted(
        normalise_url(u) for u in seed.MCP_ONLY_A
    )
    same = _page(client, "qoder", a, b, group="same")[1]
    matched = {normalise_url(t) for t in _titles(same, "A")}
    assert {normalise_url(u) for u in seed.MCP_SAME} <= matched
    different = _page(client, "qoder", a, b, group="different")[1]
    changed = {normalise_url(t) for t in _titles(different, "A")}
    # the embedded emulator serves the nested (G3) shape, which has no protocol: type and
    # status differences show; a protocol difference shows when the API serves it (G2)
    assert {normalise_url(u) for u, what in seed.MCP_CHANGED.items() if what != "protocol"} <= (
        changed
    )
    assert counts["same"] + counts["different"] == len(seed.MCP_SAME) + len(seed.MCP_CHANGED)


def _qoder_vault(box, name: str, urls: list[str]) -> str:
    headers = {"Authorization": f"Bearer {box.pat}"}
    vault = requests.post(f"{box.base_url}/vaults", json={"display_name": name},
                          headers=headers, timeout=5)  # fmt: skip
    vault.raise_for_status()
    vault_id = vault.json()["id"]
    for url in urls:
        requests.post(
            f"{box.base_url}/vaults/{vault_id}/credentials",
            json={"mcp_server_url": url, "protocol": "streamable_http", "type": "static_bearer",
                  "access_token": "tok-test-only"},
            headers=headers, timeout=5,
        ).raise_for_status()  # fmt: skip
    return vault_id


def test_identical_vaults_say_so_and_large_ones_are_paged(client, auth, other_vaults):
    box = other_vaults["qoder"]
    tag = re.sub(r"\W", "", str(id(client)))[-6:]
    urls = [f"https://mcp{i}.cmp{tag}.example.com/mcp" for i in range(3)]
    a = _qoder_vault(box, f"Twin A {tag}", urls)
    b = _qoder_vault(box, f"Twin B {tag}", [u.upper().replace("/MCP", "/mcp") + "/" for u in urls])
    auth.login("cmpi", "viewer")
    html = _page(client, "qoder", a, b)[1]
    assert "No differences: 3 credentials match." in html and "compare-row" in html
    # 130 credentials only in one vault: read in pages of 100, shown in pages of 50
    many = [f"https://m{i:03d}.big{tag}.example.com/mcp" for i in range(130)]
    big = _qoder_vault(box, f"Big {tag}", many)
    first = _page(client, "qoder", big, a)[1]
    assert _counts(first)["only_a"] == 130 and "Page 1 of 3" in first
    assert len(_titles(first, "A")) == 50
    last = _page(client, "qoder", big, a, page=3)[1]
    assert len(_titles(last, "A")) == 30 and 'rel="prev"' in last and 'rel="next"' not in last
