"""Upstream faults through sandbox fault injection: a specific message, never a 500 page,
the operator's input kept, the failed outcome audited; reads retried, writes not."""

from __future__ import annotations

import socket

import pytest

from app.config import Upstream
from app.models import AuditEvent
from tests.conftest import AuthActions, make_app
from tests.entries_support import csrf, fetch, form_fields, hx, make_entry

FAULTS = {
    "500": ({"kind": "status", "status": 500}, "CloudCruise answered 500"),
    "502": ({"kind": "status", "status": 502}, "CloudCruise answered 502"),
    "503": ({"kind": "status", "status": 503}, "CloudCruise answered 503"),
    "429": ({"kind": "status", "status": 429, "headers": {"Retry-After": "37"}}, "Retry in 37 s"),
    "timeout": ({"kind": "slow_read", "delay": 4}, "did not answer within"),
    "malformed": ({"kind": "malformed"}, "not JSON"),
    "content_type": ({"kind": "content_type"}, "not JSON"),
    "oversized": ({"kind": "oversized", "size": 3 * 1024 * 1024}, "too large"),
}


@pytest.fixture
def small_app(tmp_path, sandbox):
    """Short read timeout and a 1 MB response cap, so timeouts and oversize bodies are quick."""
    app = make_app(
        tmp_path, sandbox, UPSTREAM_READ_TIMEOUT=2, UPSTREAM_MAX_RESPONSE_BYTES=1024 * 1024
    )
    yield app
    app.extensions["upstream"].close()


def _signed_in(app, role="editor"):
    client = app.test_client()
    AuthActions(app, client).login(f"res-{role}", role)
    return client


@pytest.mark.parametrize("name", list(FAULTS))
def test_list_page_explains_every_read_fault(small_app, sandbox, name):
    fault, expected = FAULTS[name]
    client = _signed_in(small_app)
    kind = fault.pop("kind") if "kind" in fault else None
    sandbox.faults.add(kind, method="GET", path="/vault", times=None, **dict(fault))
    fault["kind"] = kind
    response = client.get("/entries")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, name
    assert "The entries could not be loaded." in html and expected in html
    assert "Retry" in html and "Something went wrong" not in html


@pytest.mark.parametrize("name", list(FAULTS))
def test_saving_a_section_explains_every_write_fault_keeps_input_and_audits(
    small_app, sandbox, name
):
    fault, expected = dict(FAULTS[name][0]), FAULTS[name][1]
    entry = make_entry(sandbox, allow_multiple_sessions=True)
    client = _signed_in(small_app)
    token = csrf(client)
    html = hx(client, "GET", f"/entries/{entry.id}/sections/concurrency/edit").get_data(True)
    data = form_fields(html, "form-concurrency")
    data["max_concurrency"] = "8"
    kind = fault.pop("kind")
    sandbox.faults.add(kind, method="PUT", path="/vault", **fault)
    response = hx(client, "POST", f"/entries/{entry.id}/sections/concurrency", token, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    if name in ("timeout", "malformed", "content_type", "oversized"):
        expected = "may or may not have been applied"  # a write whose outcome is unknown
    assert expected in body and 'value="8"' in body
    with small_app.app_context():
        from app.extensions import db

        result = (
            db.session.query(AuditEvent)
            .filter_by(action="entry.concurrency.update", phase="result")
            .order_by(AuditEvent.id.desc())
            .first()
        )
        assert result.outcome == "failure" and result.target_id == entry.id


def test_connection_refused_is_explained(tmp_path, sandbox):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    app = make_app(
        tmp_path,
        sandbox,
        UPSTREAM=Upstream(
            True, f"http://127.0.0.1:{port}", sandbox.api_key, sandbox.encryption_key
        ),
    )
    client = _signed_in(app)
    html = client.get("/entries").get_data(as_text=True)
    assert "Could not reach CloudCruise" in html
    assert client.get("/entries/does-not-matter").status_code in (404, 503)
    status = _signed_in(app, "admin").get("/status").get_data(as_text=True)
    assert "not reachable" in status


def test_reads_are_retried_with_backoff(small_app, sandbox):
    client = _signed_in(small_app)
    sandbox.faults.add("status", status=503, method="GET", path="/vault", times=2)
    html = client.get("/entries?refresh=1").get_data(as_text=True)
    assert "The entries could not be loaded" not in html and "Showing" in html
    assert sandbox.faults.list() == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_writes_are_never_retried_blindly(small_app, sandbox, status):
    entry = make_entry(sandbox, allow_multiple_sessions=True)
    client = _signed_in(small_app)
    token = csrf(client)
    data = form_fields(
        hx(client, "GET", f"/entries/{entry.id}/sections/concurrency/edit").get_data(True),
        "form-concurrency",
    )
    data["max_concurrency"] = "3"
    sandbox.faults.add("status", status=status, method="PUT", path="/vault", times=3)
    hx(client, "POST", f"/entries/{entry.id}/sections/concurrency", token, data=data)
    [left] = sandbox.faults.list()
    assert left["times"] == 2  # exactly one PUT reached the API
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).max_concurrency is None


def test_detail_and_reveal_and_code_survive_faults(small_app, sandbox):
    entry = make_entry(sandbox, tfa_method="AUTHENTICATOR", tfa_secret="JBSWY3DPEHPK3PXPJBSWY3DP")
    client = _signed_in(small_app, "admin")
    client.get("/entries")  # the entry is cached: only the detail read fails
    token = csrf(client)
    sandbox.faults.add("malformed", method="GET", path="/vault", times=None)
    detail = client.get(f"/entries/{entry.id}")
    assert detail.status_code == 503 and "not JSON" in detail.get_data(as_text=True)
    reveal = hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal", token,
                data={"password": AuthActions.PASSWORD})  # fmt: skip
    assert reveal.status_code == 503 and "Corr3ct" not in reveal.get_data(as_text=True)
    assert "HX-Trigger" in reveal.headers  # a toast explains it
    sandbox.faults.clear()
    sandbox.faults.add("content_type", method="GET", path="/vault/tfa-code")
    code = hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    assert code.status_code == 200 and "not JSON" in code.get_data(as_text=True)
