"""Filtering, sorting and paging as SQL on the entries index (a real SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert

from app.cloudcruise import VaultEntry
from app.entries.listing import ListQuery, page_window
from app.entries.listing import run_query as sql_query
from app.extensions import db
from app.models import IndexedEntry
from app.services.entry_index import row_values

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _row(i, **fields):
    base = {
        "id": f"id-{i}",
        "permissioned_user_id": f"user-{i:03d}",
        "domain": f"https://portal{i % 3}.example.com",
        "user_alias": f"Alias {i:03d}",
        "updated_at": (NOW - timedelta(hours=i)).isoformat(),
        "user_name": "ciphertext-of-a-name",
    }
    base.update(fields)
    return row_values(VaultEntry(base), b"k" * 32)


def _expires(hours):
    return {
        "session_data_set_at": (NOW - timedelta(days=1)).isoformat(),
        "effective_expires_at": (NOW + timedelta(hours=hours)).isoformat(),
    }


ROWS = [
    _row(0, tfa_method="AUTHENTICATOR", proxy_setting="random", **_expires(48)),
    _row(1, tfa_method="EMAIL", proxy_setting="static", proxy_value="203.0.113.1", **_expires(5)),
    _row(2, tfa_method="SMS", proxy_setting="country", proxy_value="US", **_expires(-1)),
    _row(3, proxy={"enable": True, "target_ip": "203.0.113.9"}, secret_provider_id="p"),
    _row(4, user_alias=None, proxy_setting="custom", proxy_value="deadbeef" * 10),
]


@pytest.fixture(autouse=True)
def _context(app):
    with app.app_context():
        yield


def run_query(rows, query, now):
    """Index exactly ``rows``, then run ``query`` as the list does."""
    with db.engine.begin() as conn:
        conn.execute(delete(IndexedEntry.__table__))
        conn.execute(insert(IndexedEntry.__table__), rows)
    db.session.expire_all()
    return sql_query(query, now)


def q(**args):
    return ListQuery.from_args({k: str(v) for k, v in args.items()})


def test_search_matches_alias_user_id_and_domain_case_insensitively():
    assert [r.id for r in run_query(ROWS, q(q="ALIAS 001"), NOW).rows] == ["id-1"]
    assert [r.id for r in run_query(ROWS, q(q="user-004"), NOW).rows] == ["id-4"]
    assert {r.id for r in run_query(ROWS, q(q="portal2."), NOW).rows} == {"id-2"}


def test_filters():
    assert [r.id for r in run_query(ROWS, q(tfa="none"), NOW).rows] == ["id-3", "id-4"]
    assert [r.id for r in run_query(ROWS, q(proxy="legacy"), NOW).rows] == ["id-3"]
    assert [r.id for r in run_query(ROWS, q(proxy="custom"), NOW).rows] == ["id-4"]
    assert [r.id for r in run_query(ROWS, q(session="expiring"), NOW).rows] == ["id-1"]
    assert [r.id for r in run_query(ROWS, q(session="expired"), NOW).rows] == ["id-2"]
    assert [r.id for r in run_query(ROWS, q(session="active"), NOW).rows] == ["id-0"]
    assert {r.id for r in run_query(ROWS, q(session="none"), NOW).rows} == {"id-3", "id-4"}
    assert [r.id for r in run_query(ROWS, q(source="provider"), NOW).rows] == ["id-3"]
    assert len(run_query(ROWS, q(source="direct"), NOW).rows) == 4


def test_custom_proxy_value_and_secrets_are_never_indexed():
    assert ROWS[4]["proxy_value"] is None and ROWS[4]["fp_proxy_value"]
    assert ROWS[1]["proxy_value"] == "203.0.113.1"
    assert "ciphertext-of-a-name" not in repr(ROWS)
    assert ROWS[0]["fp_user_name"] and ROWS[0]["fp_password"] is None


def test_checks_tfa_without_secret_and_persistence_off():
    rows = [
        _row(0, tfa_method="AUTHENTICATOR"),
        _row(1, tfa_method="AUTHENTICATOR", tfa_secret="c2VjcmV0"),
        _row(2, persist_cookies=True),
    ]
    assert [r.id for r in run_query(rows, q(check="tfa_no_secret"), NOW).rows] == ["id-0"]
    assert [r.id for r in run_query(rows, q(check="persistence_off"), NOW).rows] == [
        "id-0",
        "id-1",
    ]


def test_sorting():
    ids = lambda query: [r.id for r in run_query(ROWS, query, NOW).rows]  # noqa: E731
    assert ids(q()) == ["id-0", "id-1", "id-2", "id-3", "id-4"]  # unnamed last
    assert ids(q(sort="updated", dir="desc")) == ["id-0", "id-1", "id-2", "id-3", "id-4"]
    assert ids(q(sort="updated", dir="asc"))[0] == "id-4"
    assert ids(q(sort="session"))[:3] == ["id-2", "id-1", "id-0"]
    assert ids(q(sort="tfa"))[-2:] == ["id-3", "id-4"]


def test_paging_and_counts():
    rows = [_row(i) for i in range(120)]
    result = run_query(rows, q(page=3, per_page=50), NOW)
    assert (result.page, result.pages, result.first, result.last) == (3, 3, 101, 120)
    assert result.matched == result.total == 120
    past_the_end = run_query(rows, q(page=99, per_page=25), NOW)
    assert past_the_end.page == 5 and past_the_end.first == 101


def test_malformed_query_arguments_fall_back_to_defaults():
    query = ListQuery.from_args(
        {"page": "x", "per_page": "7", "sort": "drop table", "tfa": "BOGUS", "dir": "sideways"}
    )
    assert query == ListQuery()


def test_urls_keep_state_and_drop_defaults():
    query = q(q="aetna", tfa="EMAIL", sort="domain")
    assert query.url("/entries", page=2) == "/entries?q=aetna&tfa=EMAIL&sort=domain&page=2"
    assert query.sort_url("/entries", "domain") == "/entries?q=aetna&tfa=EMAIL&sort=domain&dir=desc"
    assert q().sort_url("/entries", "updated") == "/entries?sort=updated&dir=desc"
    assert q().url("/entries") == "/entries"


def test_page_window():
    assert page_window(1, 1) == [1]
    assert page_window(6, 20) == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert page_window(2, 5) == [1, 2, 3, 4, 5]
