"""Helpers of the account and two-factor tests: set up TOTP through the pages, sign in."""

from __future__ import annotations

import html as html_lib
import re

import pyotp
import segno


def token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'"X-CSRFToken": "([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def set_up_totp(client) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for the signed-in operator: (secret, recovery codes).
    The secret is read from the setup link shown as text, and the QR code is checked to
    encode that same link."""
    csrf = token(client, "/account")
    page = client.post("/account/two-factor/setup", data={"csrf_token": csrf})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    uri = html_lib.unescape(re.search(r"data-otpauth-uri>([^<]+)<", text).group(1))
    assert uri.startswith("otpauth://totp/")
    svg = re.search(r"data-otpauth-qr>(<svg.*?</svg>)", text, re.S).group(1)
    expected = segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title="QR code to scan"
    )
    assert svg == expected  # the QR code encodes the link
    secret = pyotp.parse_uri(uri).secret
    confirm = client.post(
        "/account/two-factor/confirm",
        data={"csrf_token": csrf, "setup-code": pyotp.TOTP(secret).now()},
    )
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", confirm.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def password_step(client, username: str, password: str):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token(client, "/login")},
    )


def code_step(client, code: str):
    return client.post(
        "/login/two-factor",
        data={"code": code, "csrf_token": token(client, "/login/two-factor")},
    )


def logout(client) -> None:
    client.post("/logout", data={"csrf_token": token(client, "/account")})


def next_code(secret: str) -> str:
    """A valid code of the next time step (accepted after the current one was used)."""
    import time

    return pyotp.TOTP(secret).at(time.time() + 30)
