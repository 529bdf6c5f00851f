"""Reveal with the sudo window, live 2FA codes, clear browser state and delete."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import OperatorSession, utcnow
from tests.entries_support import csrf, fetch, hx, index_sync, make_entry, sdk_for

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits: pyotp refuses < 112


@pytest.fixture
def entry(sandbox):
    return make_entry(
        sandbox,
        tfa_method="AUTHENTICATOR",
        tfa_secret=SECRET,
        proxy_setting="custom",
        proxy_value="socks5://u:hunter2@proxy.example.net:1080",
        cookies=[
            {"name": "sid", "value": "v", "domain": ".example-health.com", "path": "/",
             "httpOnly": True, "hostOnly": False, "secure": True, "session": True,
             "storeId": "0", "sameSite": "lax"}
        ],
    )  # fmt: skip


def _reveal(client, entry, field, token, **data):
    return hx(client, "POST", f"/entries/{entry.id}/secrets/{field}/reveal", token, data=data)


def test_viewer_cannot_reveal_or_view_codes(client, auth, entry):
    auth.login("vic", "viewer")
    token = csrf(client)
    assert _reveal(client, entry, "password", token).status_code == 403
    assert _reveal(client, entry, "password", token, password=auth.PASSWORD).status_code == 403
    assert hx(client, "POST", f"/entries/{entry.id}/tfa-code", token).status_code == 403


def test_reveal_requires_csrf_and_post(client, auth, entry):
    auth.login("eve", "editor")
    assert hx(client, "POST", f"/entries/{entry.id}/secrets/password/reveal").status_code == 400
    assert client.get(f"/entries/{entry.id}/secrets/password/reveal").status_code == 405


def test_reveal_asks_for_the_password_then_shows_the_plaintext(client, auth, entry):
    auth.login("eve", "editor")
    token = csrf(client)
    ask = _reveal(client, entry, "password", token)
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200
    assert "Confirm your password to reveal the password" in html
    assert "Corr3ct-Horse!" not in html

    wrong = _reveal(client, entry, "password", token, password="not my password")
    assert wrong.status_code == 422
    assert "That password is not right." in wrong.get_data(as_text=True)

    right = _reveal(client, entry, "password", token, password=auth.PASSWORD)
    html = right.get_data(as_text=True)
    assert right.status_code == 200
    assert '<code class="secret-value" id="secret-value-password">Corr3ct-Horse!</code>' in html
    assert "no-store" in right.headers["Cache-Control"]
    assert 'hx-trigger="load delay:30s"' in html  # masks itself again
    assert "HX-Trigger" not in right.headers  # the value never travels in a header

    # within the sudo window other fields reveal without asking again
    for field, plain in [
        ("user_name", "ann@example.com"),
        ("tfa_secret", SECRET),
        ("proxy_value", "socks5://u:hunter2@proxy.example.net:1080"),
    ]:
        html = _reveal(client, entry, field, token).get_data(as_text=True)
        assert f">{plain}</code>" in html


def test_sudo_window_expires(app, client, auth, entry):
    auth.login("eve", "editor")
    token = csrf(client)
    assert ">Corr3ct-Horse!<" in _reveal(
        client, entry, "password", token, password=auth.PASSWORD
    ).get_data(as_text=True)
    with app.app_context():  # the sudo window is server-side: end it there
        db.session.execute(update(OperatorSession).values(sudo_until=utcnow()))
        db.session.commit()
    html = _reveal(client, entry, "password", token).get_data(as_text=True)
    assert "Confirm your password" in html and "Corr3ct-Horse!" not in html


def test_masked_fragment_and_unknown_field(client, auth, entry):
    auth.login("eve", "editor")
    masked = hx(client, "GET", f"/entries/{entry.id}/secrets/password/masked")
    assert masked.status_code == 200
    html = masked.get_data(as_text=True)
    assert "••••" in html and "Reveal" in html and "Corr3ct" not in html
    assert hx(client, "GET", f"/entries/{entry.id}/secrets/headers/masked").status_code == 404
    token = csrf(client)
    assert _reveal(client, entry, "cookies", token).status_code == 404


def test_reveal_of_a_value_the_console_key_cannot_decrypt(app, client, auth, entry, sandbox):
    """A ciphertext made with another key (here: forced into the store) is reported, not shown."""
    from app.cloudcruise import crypto

    auth.login("eve", "editor")
    token = csrf(client)
    foreign = crypto.encrypt_value("x", "cd" * 32)
    sandbox.faults.add(
        "status",
        status=200,
        method="GET",
        path="/vault",
        body={**_raw_dict(sandbox, entry), "password": foreign},
    )
    html = _reveal(client, entry, "password", token, password=auth.PASSWORD).get_data(as_text=True)
    assert "different key" in html and foreign not in html


def _raw_dict(sandbox, entry):
    import requests

    response = requests.get(
        f"{sandbox.base_url}/vault",
        params={"permissioned_user_id": entry.permissioned_user_id, "domain": entry.domain},
        headers={"cc-key": sandbox.api_key},
        timeout=5,
    )
    return response.json()


def test_authenticator_code_matches_totp_and_refreshes_itself(client, auth, entry):
    auth.login("eve", "editor")
    token = csrf(client)
    response = hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    codes = {pyotp.TOTP(SECRET).at(time.time() + d) for d in (-30, 0, 30)}
    assert any(f'id="tfa-digits">{code}<' in html for code in codes)
    assert 'hx-trigger="load delay:' in html and '"round": "2"' in html
    last = hx(client, "POST", f"/entries/{entry.id}/tfa-code", token, data={"round": "10"})
    assert 'hx-trigger="load delay:' not in last.get_data(as_text=True)  # stops refreshing
    assert "Show a fresh code" in last.get_data(as_text=True)


def test_tfa_code_views_for_other_methods(client, auth, sandbox):
    auth.login("eve", "editor")
    token = csrf(client)
    email = make_entry(sandbox, tfa_method="EMAIL")
    index_sync(client, token)
    html = hx(client, "POST", f"/entries/{email.id}/tfa-code", token).get_data(as_text=True)
    assert "No fresh code yet" in html and "Check again" in html
    import requests

    requests.post(
        f"{sandbox.base_url}/_sandbox/email-codes",
        json={"permissioned_user_id": email.permissioned_user_id, "domain": email.domain,
              "code": "482913"},
        headers={"cc-key": sandbox.api_key},
        timeout=5,
    ).raise_for_status()  # fmt: skip
    html = hx(client, "POST", f"/entries/{email.id}/tfa-code", token).get_data(as_text=True)
    assert 'id="tfa-digits">482913<' in html and "received" in html
    sms = make_entry(sandbox, tfa_method="SMS")
    index_sync(client, token)
    page = client.get(f"/entries/{sms.id}").get_data(as_text=True)
    assert "the API does not expose SMS codes" in page
    html = hx(client, "POST", f"/entries/{sms.id}/tfa-code", token).get_data(as_text=True)
    assert "does not expose SMS codes" in html


def test_tfa_code_upstream_failure_is_reported_in_place(client, auth, entry, sandbox):
    auth.login("eve", "editor")
    token = csrf(client)
    client.get(f"/entries/{entry.id}")
    sandbox.faults.add("status", status=503, method="GET", path="/vault/tfa-code", times=None)
    response = hx(client, "POST", f"/entries/{entry.id}/tfa-code", token)
    assert response.status_code == 200
    assert "CloudCruise answered 503" in response.get_data(as_text=True)
    assert "Try again" in response.get_data(as_text=True)


def test_clear_browser_state(client, auth, entry, sandbox):
    auth.login("vic", "viewer")
    token = csrf(client)
    assert hx(client, "POST", f"/entries/{entry.id}/clear-state", token).status_code == 403
    auth.logout()
    auth.login("eve", "editor")
    token = csrf(client)
    response = hx(client, "POST", f"/entries/{entry.id}/clear-state", token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="section-session"')
    assert "No cookies stored." in html
    assert "Browser state cleared" in response.headers["HX-Trigger"]
    after = fetch(sandbox, entry.permissioned_user_id, entry.domain)
    assert after.cookies == [] and after.session_data_set_at is None


def test_delete_needs_admin_and_the_typed_user_id(client, auth, entry, sandbox):
    auth.login("eve", "editor")
    token = csrf(client)
    assert hx(client, "POST", f"/entries/{entry.id}/delete", token,
              data={"confirm": entry.permissioned_user_id}).status_code == 403  # fmt: skip
    auth.logout()
    auth.login("ada", "admin")
    token = csrf(client)
    wrong = hx(client, "POST", f"/entries/{entry.id}/delete", token, data={"confirm": "nope"})
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "Type the permissioned user id exactly" in html and 'value="nope"' in html
    assert fetch(sandbox, entry.permissioned_user_id, entry.domain).id == entry.id
    done = hx(client, "POST", f"/entries/{entry.id}/delete", token,
              data={"confirm": entry.permissioned_user_id})  # fmt: skip
    assert done.status_code == 204 and done.headers["HX-Redirect"] == "/entries"
    assert "Deleted Ann – billing" in client.get("/entries").get_data(as_text=True)
    remaining = sdk_for(sandbox).vault.get()
    assert entry.id not in {e.id for e in remaining}


def test_delete_without_javascript_is_a_plain_form_post(client, auth, entry):
    auth.login("ada", "admin")
    token = csrf(client)
    response = client.post(
        f"/entries/{entry.id}/delete",
        data={"csrf_token": token, "confirm": entry.permissioned_user_id},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/entries"
