"""HTTP client for the CloudCruise vault API (wire reference: ../shared/cloudcruise-api.md).

* One pooled :class:`requests.Session` per client; connect and read timeouts on every call.
* Retries (urllib3 ``Retry``): GET on 5xx, connection and read errors, with backoff; any
  method on 429 when ``Retry-After`` is short (a rate-limited request was not processed).
  POST/PUT/DELETE/PATCH are otherwise never retried.
* Credentials (and a custom proxy URL) are encrypted here, before they leave the process,
  in the SDK's exact format. Responses are wrapped in :class:`VaultEntry`, which keeps
  unknown fields and hides ciphertext.
* Every failure is one of the typed errors in :mod:`app.cloudcruise.errors`.

No Flask imports: the client is usable from the CLI, tests and benchmarks.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from app.cloudcruise import crypto
from app.cloudcruise.entry import TfaCode, VaultEntry
from app.cloudcruise.errors import (
    CloudCruiseError,
    RateLimitedError,
    UnavailableError,
    error_from_response,
)

log = logging.getLogger("app.cloudcruise")

USER_AGENT = "vault-console/0.1"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class ConsoleRetry(Retry):
    """urllib3 Retry that also retries 429 for every method, but only for a short wait."""

    max_retry_after = 5.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):
        if response is not None and response.status == 429:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                # Too long to wait inside a page request: hand the 429 to the operator.
                raise MaxRetryError(_pool, url or "", "Retry-After too long")
        return super().increment(method, url, response, error, _pool, **kw)


def _retry_policy(retries: int, backoff: float) -> Retry:
    return ConsoleRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        status_forcelist=frozenset({500, 502, 503, 504}),
        backoff_factor=backoff,
        backoff_max=4.0,
        respect_retry_after_header=True,
        # No cap here: ConsoleRetry.increment refuses waits above max_retry_after instead
        # of sleeping a shortened (too early) wait.
        retry_after_max=86400,
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )


def _retry_after(resp: requests.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class CloudCruiseClient:
    """Talks to one CloudCruise workspace (or the sandbox) with one API and encryption key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        encryption_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        crypto.validate_key(encryption_key)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._encryption_key = encryption_key
        self.timeout = (connect_timeout, read_timeout)
        self.max_response_bytes = max_response_bytes
        self.session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=16, max_retries=_retry_policy(retries, backoff)
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "cc-key": api_key,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "X-CloudCruise-Client": USER_AGENT,
            }
        )

    def __repr__(self) -> str:
        return f"CloudCruiseClient(base_url={self.base_url!r}, api_key=<redacted>)"

    @property
    def api_key_hint(self) -> str:
        """Last four characters of the API key, for a status display."""
        return "…" + self._api_key[-4:] if len(self._api_key) > 8 else "…"

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ transport
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> Any:
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        headers = {"X-Request-Id": request_id or uuid.uuid4().hex}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        started = time.perf_counter()
        status: int | None = None
        try:
            resp = self.session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, stream=True
            )
            status = resp.status_code
            payload = self._read_body(resp)
        except requests.exceptions.Timeout:
            raise UnavailableError(
                f"CloudCruise did not answer within {self.timeout[1]:g} s.", kind="timeout"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                # a read timeout while streaming the body surfaces as ConnectionError
                raise UnavailableError(
                    f"CloudCruise did not answer within {self.timeout[1]:g} s.", kind="timeout"
                ) from None
            raise UnavailableError(
                "Could not reach CloudCruise (connection refused or dropped).", kind="connection"
            ) from None
        except requests.exceptions.RequestException:
            raise UnavailableError(
                "The request to CloudCruise failed.", kind="connection"
            ) from None
        finally:
            log.info(
                "cloudcruise %s %s -> %s in %.0f ms",
                method,
                path,
                status if status is not None else "no response",
                (time.perf_counter() - started) * 1000,
                extra={"upstream_status": status, "request_id": headers["X-Request-Id"]},
            )
        if not resp.ok:
            parsed = payload if isinstance(payload, dict) else None
            raise error_from_response(resp.status_code, parsed, _retry_after(resp))
        if payload is _NOT_JSON:
            raise UnavailableError(
                "CloudCruise answered with something that is not JSON.",
                kind="malformed",
                status=resp.status_code,
            )
        return payload

    def _read_body(self, resp: requests.Response) -> Any:
        try:
            declared = int(resp.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > self.max_response_bytes:
            resp.close()
            raise UnavailableError(
                "CloudCruise sent a response too large to process.", kind="malformed"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > self.max_response_bytes:
                resp.close()
                raise UnavailableError(
                    "CloudCruise sent a response too large to process.", kind="malformed"
                )
            chunks.append(chunk)
        raw = b"".join(chunks)
        ctype = resp.headers.get("Content-Type", "")
        if not raw.strip():
            return None
        if "json" not in ctype.lower():
            return _NOT_JSON
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _NOT_JSON

    @staticmethod
    def _expect(payload: Any, kind: type, what: str) -> Any:
        if not isinstance(payload, kind):
            raise UnavailableError(
                f"CloudCruise answered {what} in an unexpected shape.", kind="malformed"
            )
        return payload

    def _entry(self, payload: Any) -> VaultEntry:
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        data = self._expect(payload, dict, "the vault entry")
        if not isinstance(data.get("permissioned_user_id"), str) or not isinstance(
            data.get("domain"), str
        ):
            raise UnavailableError(
                "CloudCruise answered a vault entry without its identifiers.", kind="malformed"
            )
        return VaultEntry(data)

    # ------------------------------------------------------------------ vault
    def list_entries(self, *, request_id: str | None = None) -> list[VaultEntry]:
        """``GET /vault``: every entry of the workspace (the API does not paginate)."""
        payload = self._request("GET", "/vault", request_id=request_id)
        if isinstance(payload, dict):  # the SDKs tolerate a single object; so do we
            payload = [payload]
        rows = self._expect(payload, list, "the vault list")
        return [self._entry(row) for row in rows]

    def get_entry(
        self, permissioned_user_id: str, domain: str, *, request_id: str | None = None
    ) -> VaultEntry:
        """``GET /vault?permissioned_user_id=&domain=``: one entry (404 → NotFoundError)."""
        payload = self._request(
            "GET",
            "/vault",
            params={"permissioned_user_id": permissioned_user_id, "domain": domain},
            request_id=request_id,
        )
        return self._entry(payload)

    def create_entry(self, fields: Mapping[str, Any], *, request_id: str | None = None):
        """``POST /vault`` with plaintext ``fields``; secrets are encrypted here first."""
        body = crypto.encrypt_payload(dict(fields), self._encryption_key)
        return self._entry(self._request("POST", "/vault", body=body, request_id=request_id))

    def update_entry(self, fields: Mapping[str, Any], *, request_id: str | None = None):
        """``PUT /vault``: a partial update. ``fields`` must identify the entry (``id`` or
        ``permissioned_user_id`` + ``domain``) and holds only what should change."""
        body = crypto.encrypt_payload(dict(fields), self._encryption_key)
        return self._entry(self._request("PUT", "/vault", body=body, request_id=request_id))

    def delete_entry(
        self, permissioned_user_id: str, domain: str, *, request_id: str | None = None
    ) -> None:
        """``DELETE /vault`` with the identifiers as a JSON body, as the SDKs send them."""
        self._request(
            "DELETE",
            "/vault",
            body={"domain": domain, "permissioned_user_id": permissioned_user_id},
            request_id=request_id,
        )

    def clear_browser_state(
        self, permissioned_user_id: str, domain: str, *, request_id: str | None = None
    ) -> bool:
        """``PATCH /vault/clear-browser-state``: drop stored cookies and storage."""
        payload = self._request(
            "PATCH",
            "/vault/clear-browser-state",
            body={"permissioned_user_id": permissioned_user_id, "domain": domain},
            request_id=request_id,
        )
        return bool(isinstance(payload, dict) and payload.get("success", True))

    def get_tfa_code(
        self, permissioned_user_id: str, domain: str, *, request_id: str | None = None
    ) -> TfaCode:
        """``GET /vault/tfa-code``: the current authenticator or last email code."""
        payload = self._request(
            "GET",
            "/vault/tfa-code",
            params={"permissioned_user_id": permissioned_user_id, "domain": domain},
            request_id=request_id,
        )
        data = self._expect(payload, dict, "the 2FA code")
        if not isinstance(data.get("code"), str | int):
            raise UnavailableError(
                "CloudCruise answered a 2FA code without a code.", kind="malformed"
            )
        expires = data.get("expires_in_seconds")
        received = data.get("received_at")
        return TfaCode(
            type=str(data.get("type") or ""),
            code=str(data["code"]),
            expires_in_seconds=int(expires) if isinstance(expires, int | float) else None,
            received_at=received if isinstance(received, str) else None,
        )

    # ------------------------------------------------------------------ secret providers
    def list_secret_providers(self, *, request_id: str | None = None) -> list[dict[str, Any]]:
        payload = self._request("GET", "/secret-providers", request_id=request_id)
        if isinstance(payload, dict):
            payload = [payload]
        rows = self._expect(payload, list, "the secret providers")
        return [row for row in rows if isinstance(row, dict) and row.get("id")]

    def list_provider_items(
        self, provider_id: str, *, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        payload = self._request(
            "GET", f"/secret-providers/{quote(provider_id, safe='')}/items", request_id=request_id
        )
        if isinstance(payload, dict):
            payload = [payload]
        rows = self._expect(payload, list, "the provider items")
        return [row for row in rows if isinstance(row, dict) and row.get("ref")]

    # ------------------------------------------------------------------ diagnostics
    def probe(self) -> dict[str, Any]:
        """One cheap authenticated read: latency and the server's clock (``Date`` header)."""
        from email.utils import parsedate_to_datetime

        started = time.perf_counter()
        resp = self.session.get(
            self.base_url + "/secret-providers", timeout=self.timeout, allow_redirects=False
        )
        latency_ms = (time.perf_counter() - started) * 1000
        resp.close()
        server_time = None
        if resp.headers.get("Date"):
            try:
                server_time = parsedate_to_datetime(resp.headers["Date"])
            except (TypeError, ValueError):
                server_time = None
        return {"status": resp.status_code, "latency_ms": latency_ms, "server_time": server_time}

    # ------------------------------------------------------------------ secrets
    def decrypt_secret(self, entry: VaultEntry, field: str) -> Any:
        """Plaintext of one encrypted field of ``entry`` (raises crypto.DecryptionError)."""
        ciphertext = entry.ciphertext(field)
        if ciphertext is None:
            return None
        return crypto.decrypt_value(ciphertext, self._encryption_key)


class _NotJson:
    def __repr__(self) -> str:
        return "<not json>"


_NOT_JSON = _NotJson()

__all__ = ["CloudCruiseClient", "CloudCruiseError", "RateLimitedError", "UnavailableError"]
