"""A real OpenID Connect provider on loopback for the SSO tests: ``oidc-provider-mock``
(Authlib's server) in a thread, behind a switch that lets a test make it misbehave.

Modes: ``normal``; ``wrong-issuer`` (the token endpoint sees another host name, so the ID
token's ``iss`` is not the discovery document's); ``other-key`` (the JWKS is a second
provider's, so the ID token is signed by a key the console does not trust); ``expired``
(every request goes to a provider whose tokens expired an hour ago).

The mock leaves ``auth_time`` out of its ID tokens; a real provider sends it when
``max_age`` is asked (OpenID Connect Core 3.1.2.1), so :data:`AUTH_TIME` stands in for it:
"now" unless a test sets ``offset``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import oidc_provider_mock
import requests
from oidc_provider_mock import _storage
from werkzeug.serving import make_server

CLIENT_ID = "vault-console"
CLIENT_SECRET = "s3cret-for-tests"
ROLE_MAP = "vault-admins=admin,vault-editors=editor,*=viewer"

#: seconds added to "now" for the ID token's auth_time (negative: an old sign-in)
AUTH_TIME = {"offset": 0}


class Provider:
    def __init__(self) -> None:
        self.apps = {
            "main": oidc_provider_mock.app(),
            "other": oidc_provider_mock.app(),
            "expired": oidc_provider_mock.app(access_token_max_age=timedelta(hours=-1)),
        }
        self.mode = "normal"
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.port = self.server.server_port
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if self.mode == "expired":
            return self.apps["expired"](environ, start_response)
        if self.mode == "other-key" and path == "/jwks":
            return self.apps["other"](environ, start_response)
        if self.mode == "wrong-issuer" and path == "/oauth2/token":
            environ["HTTP_HOST"] = f"localhost:{self.port}"
        return self.apps["main"](environ, start_response)

    def set_user(self, sub: str, **claims: Any) -> None:
        """The claims the provider signs in ``sub`` with (every provider of the switch)."""
        for app in self.apps.values():
            response = app.test_client().put(f"/users/{sub}", json=claims)
            assert response.status_code == 204, response.get_data(as_text=True)

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "VAULT_CONSOLE_OIDC_ISSUER": self.issuer,
            "VAULT_CONSOLE_OIDC_CLIENT_ID": CLIENT_ID,
            "VAULT_CONSOLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "VAULT_CONSOLE_OIDC_ROLE_MAP": ROLE_MAP,
            **overrides,
        }


@contextmanager
def running_provider() -> Iterator[Provider]:
    original = _storage.AuthorizationCode.get_auth_time
    _storage.AuthorizationCode.get_auth_time = lambda self: int(time.time()) + AUTH_TIME["offset"]  # type: ignore[method-assign]
    provider = Provider()
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.thread.join(timeout=5)
        _storage.AuthorizationCode.get_auth_time = original  # type: ignore[method-assign]


def authorize(location: str, sub: str) -> str:
    """Choose ``sub`` on the provider's authorization page (as a person would): the
    redirect back to the console's callback."""
    response = requests.post(location, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
