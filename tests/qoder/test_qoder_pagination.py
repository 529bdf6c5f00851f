"""Pagination edges, client and emulator: cursors, empty/last pages, limits, aliases."""

from __future__ import annotations

import pytest
from qoder_helpers import flat_body

from app.upstream_errors import ValidationError


def _walk_forward(client, vault_id, **kw):
    pages = [client.list_credentials(vault_id, **kw)]
    while pages[-1].has_more:
        pages.append(client.list_credentials(vault_id, after_id=pages[-1].last_id, **kw))
    return pages


@pytest.mark.parametrize("include_archived", [False, True])
def test_forward_then_backward_reproduces_the_same_pages(qoder, seeded, include_archived):
    eng = seeded["Engineering MCP"]
    forward = _walk_forward(qoder, eng, include_archived=include_archived)
    sizes = [len(p.data) for p in forward]
    assert sizes == ([20, 20, 6] if include_archived else [20, 20, 2])  # > 2 pages
    assert [p.has_more for p in forward] == [True, True, False]
    ids = [c.id for p in forward for c in p.data]
    assert len(set(ids)) == len(ids) and ids == sorted(ids, reverse=True)  # newest first
    everything = qoder.list_credentials(eng, limit=100, include_archived=include_archived)
    assert [c.id for c in everything.data] == ids and everything.has_more is False

    # walk back from the last page with before_id: the same pages, in reverse
    backward = [forward[-1]]
    while len(backward) < len(forward):
        backward.append(
            qoder.list_credentials(
                eng, before_id=backward[-1].first_id, include_archived=include_archived
            )
        )
    assert [[c.id for c in p.data] for p in reversed(backward)] == [
        [c.id for c in p.data] for p in forward
    ]
    # has_more with before_id: more items exist before first_id (newer)
    assert [p.has_more for p in backward[1:]] == [True, False]
    for back, fwd in zip(reversed(backward), forward, strict=True):
        assert (back.first_id, back.last_id) == (fwd.first_id, fwd.last_id)


def test_small_pages_cover_everything_once(qoder, seeded):
    rev = seeded["Revenue Cycle"]
    pages = _walk_forward(qoder, rev, limit=2, include_archived=True)
    assert [len(p.data) for p in pages] == [2, 2, 2]
    assert pages[-1].has_more is False
    assert len({c.id for p in pages for c in p.data}) == 6


def test_empty_pages(qoder, raw, seeded):
    page = qoder.list_credentials(seeded["Staging Playground"])
    assert page.data == [] and page.first_id is None and page.last_id is None
    assert page.has_more is False
    wire = raw.get(f"/vaults/{seeded['Staging Playground']}/credentials").json()
    assert wire == {"data": [], "first_id": None, "last_id": None, "has_more": False}
    # past the end / before the start
    full = qoder.list_credentials(seeded["Support Desk"])
    assert qoder.list_credentials(seeded["Support Desk"], after_id=full.last_id).data == []
    before = qoder.list_credentials(seeded["Support Desk"], before_id=full.first_id)
    assert before.data == [] and before.has_more is False and before.first_id is None
    # a filter that matches nothing
    assert qoder.list_vaults(name="no such vault").data == []


def test_last_page_exactly_full_has_no_more(qoder, seeded):
    support = seeded["Support Desk"]  # 3 credentials
    page = qoder.list_credentials(support, limit=3)
    assert len(page.data) == 3 and page.has_more is False
    page = qoder.list_credentials(support, limit=2)
    assert page.has_more is True
    assert qoder.list_credentials(support, limit=2, after_id=page.last_id).has_more is False


def test_cursor_of_an_archived_or_deleted_item_is_still_a_position(qoder, seeded, wqoder, wraw):
    eng = seeded["Engineering MCP"]
    every = qoder.list_credentials(eng, limit=100, include_archived=True).data
    archived = next(c for c in every if c.archived)
    after = qoder.list_credentials(eng, after_id=archived.id, limit=100).data
    assert [c.id for c in after] == [c.id for c in every if c.id < archived.id and not c.archived]

    vault = wraw.new_vault("Cursor", [flat_body(f"https://mcp.example.com/{i}") for i in range(4)])
    ids = sorted((c["id"] for c in vault["credentials"]), reverse=True)
    assert wraw.delete(f"/vaults/{vault['id']}/credentials/{ids[1]}").status_code == 200
    page = wqoder.list_credentials(vault["id"], after_id=ids[1])
    assert [c.id for c in page.data] == ids[2:]


def test_vault_list_pages_with_cursors_and_aliases(qoder, raw):
    first = qoder.list_vaults(limit=2)
    second = qoder.list_vaults(limit=2, after_id=first.last_id)
    assert first.has_more and second.has_more
    assert [v.id for v in qoder.list_vaults(limit=4).data] == [
        v.id for v in first.data + second.data
    ]
    for name in ("after", "page"):  # aliases of after_id
        r = raw.get("/vaults", params={"limit": 2, name: first.last_id})
        assert r.status_code == 200 and r.json()["first_id"] == second.first_id
    r = raw.get("/vaults", params={"limit": 2, "before": second.first_id})
    assert [v["id"] for v in r.json()["data"]] == [v.id for v in first.data]


@pytest.mark.parametrize(
    "params",
    [
        {"after_id": "A", "before_id": "B"},
        {"after": "A", "before_id": "B"},
        {"after_id": "A", "page": "B"},
        {"after_id": "A", "after": "A"},
    ],
)
def test_two_cursors_are_a_400(raw, seeded, params):
    cursor = "vcred_" + "0" * 32
    params = {k: cursor for k in params}
    r = raw.get(f"/vaults/{seeded['Revenue Cycle']}/credentials", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "mutually exclusive" in body["error"]["message"]
    assert body["error"]["param"] == list(params)[-1]


def test_malformed_cursor_is_a_400(raw, qoder, seeded):
    r = raw.get("/vaults", params={"after_id": "vcred_" + "0" * 32})  # a credential id
    assert r.status_code == 400 and r.json()["error"]["param"] == "after_id"
    with pytest.raises(ValidationError) as info:
        qoder.list_credentials(seeded["Revenue Cycle"], before_id="nope")
    assert info.value.field_errors == {"before_id": [info.value.message]}


@pytest.mark.parametrize("limit", ["0", "-3", "abc", "1.5", ""])
def test_bad_limits_are_a_400(raw, limit):
    r = raw.get("/vaults", params={"limit": limit})
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"


def test_limit_over_100_is_a_400_by_default(raw, qoder, seeded):
    r = raw.get("/vaults", params={"limit": 101})
    assert r.status_code == 400
    assert r.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "limit must be less than or equal to 100.",
            "param": "limit",
        },
    }
    assert len(qoder.list_credentials(seeded["Engineering MCP"], limit=100).data) == 42
    assert len(raw.get("/vaults").json()["data"]) == 7  # default limit 20


def test_limit_over_100_is_capped_in_cap_mode(wbox, wraw):
    vault = wraw.new_vault(
        "Big", [flat_body(f"https://mcp.internal.acme-health.com/svc-{i}") for i in range(105)]
    )
    wbox.limit_over_100 = "cap"
    r = wraw.get(f"/vaults/{vault['id']}/credentials", params={"limit": 500})
    assert r.status_code == 200
    body = r.json()
    assert len(body["data"]) == 100 and body["has_more"] is True
    rest = wraw.get(
        f"/vaults/{vault['id']}/credentials", params={"limit": 500, "after_id": body["last_id"]}
    ).json()
    assert len(rest["data"]) == 5 and rest["has_more"] is False
    wbox.limit_over_100 = "error"
    assert wraw.get(f"/vaults/{vault['id']}/credentials?limit=500").status_code == 400


def test_include_archived_accepts_booleans_only(raw):
    assert len(raw.get("/vaults?include_archived=1").json()["data"]) == 8
    assert len(raw.get("/vaults?include_archived=false").json()["data"]) == 7
    r = raw.get("/vaults?include_archived=maybe")
    assert r.status_code == 400 and r.json()["error"]["param"] == "include_archived"
