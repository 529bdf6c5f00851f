"""HTTP client for the CloudCruise vault API (wire reference: docs/cloudcruise-api.md).

* Transport (pooled session, timeouts, retries for reads and short 429s, size cap) is the
  shared :class:`app.httpclient.JsonHttp`.
* Credentials (and a custom proxy URL) are encrypted here, before they leave the process,
  in the SDK's exact format. Responses are wrapped in :class:`VaultEntry`, which keeps
  unknown fields and hides ciphertext.
* Every failure is one of the typed errors of :mod:`app.upstream_errors`, chosen by the
  shared status table (:data:`app.httpclient.STATUS_ERRORS`); :mod:`app.cloudcruise.errors`
  reads CloudCruise's error bodies.
* ``GET /vault`` for one key (``permissioned_user_id`` + ``domain``) answered 200 with
  ``[]``, ``{}``, ``null`` or an empty body means "no such entry" (NotFoundError), not a
  malformed answer: the API answers an unknown key that way as well as with a 404.

No Flask imports: the client is usable from the CLI, tests and benchmarks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from app.cloudcruise import crypto
from app.cloudcruise import errors as cc_errors
from app.cloudcruise.entry import TfaCode, VaultEntry
from app.httpclient import USER_AGENT, Answer, ApiClient, ErrorDetail, JsonHttp, retry_after
from app.upstream_errors import (
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
)

log = logging.getLogger("app.cloudcruise")


class CloudCruiseClient(ApiClient):
    """Talks to one CloudCruise workspace (or the sandbox) with one API and encryption key."""

    service = cc_errors.SERVICE
    logger = log
    probe_path = "/secret-providers"
    field_of = staticmethod(cc_errors.field_of)

    def __init__(
        self,
        base_url: str,
        api_key: str,
        encryption_key: str,
        **options: Any,
    ) -> None:
        """``options``: the transport settings of :class:`app.httpclient.ApiClient`."""
        crypto.validate_key(encryption_key)
        self._encryption_key = encryption_key
        super().__init__(base_url, api_key, **options)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"cc-key": key, "X-CloudCruise-Client": USER_AGENT}

    # ------------------------------------------------------------------ transport
    def error_detail(self, payload: Any) -> ErrorDetail:
        return cc_errors.error_detail(payload)

    @classmethod
    def describe_error(
        cls, status: int, detail: ErrorDetail, context: Mapping[str, str] | None = None
    ) -> str | None:
        if status in (401, 403) and not detail.message:
            return "CloudCruise rejected the API key or the encryption key."
        if status == 404 and not detail.message:
            return "The vault entry no longer exists."
        return None

    def answer_retry_after(self, answer: Answer, detail: ErrorDetail) -> float | None:
        wait = retry_after(answer.headers)
        return wait if wait is not None else detail.extra.get("retry_after")

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> Any:
        return self.call(method, path, params=params, body=body, request_id=request_id)

    def _expect(self, payload: Any, kind: type, what: str) -> Any:
        return JsonHttp.expect(payload, kind, "CloudCruise", what)

    def _entry(self, payload: Any) -> VaultEntry:
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        data = self._expect(payload, dict, "the vault entry")
        if not isinstance(data.get("permissioned_user_id"), str) or not isinstance(
            data.get("domain"), str
        ):
            raise UnavailableError(
                "CloudCruise answered a vault entry without its identifiers.",
                kind="malformed",
                service=self.service,
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

    @contextlib.contextmanager
    def stream_entries(self, *, request_id: str | None = None) -> Iterator[Iterator[Any]]:
        """``GET /vault`` parsed as a stream: yields an iterator of the raw entries as they
        arrive (for the entries index, whose memory must not grow with the vault).

        The raw entries still hold their ciphertext: the caller keeps only fingerprints.
        Elements are not checked here (a malformed one is the caller's to report).
        """
        with self.http.stream_items("/vault", request_id=request_id) as (answer, items):
            if not answer.ok:
                raise self.error(answer)
            yield items

    def get_entry(
        self, permissioned_user_id: str, domain: str, *, request_id: str | None = None
    ) -> VaultEntry:
        """``GET /vault?permissioned_user_id=&domain=``: one entry. No such entry (a 404, or
        a 200 with ``[]``, ``{}``, ``null`` or no body) is :class:`NotFoundError`."""
        payload = self._request(
            "GET",
            "/vault",
            params={"permissioned_user_id": permissioned_user_id, "domain": domain},
            request_id=request_id,
        )
        if payload is None or payload == [] or payload == {}:
            raise NotFoundError("The vault entry no longer exists.", service=self.service)
        return self._entry(payload)

    def create_entry(
        self, fields: Mapping[str, Any], *, request_id: str | None = None
    ) -> VaultEntry:
        """``POST /vault`` with plaintext ``fields``; secrets are encrypted here first."""
        body = crypto.encrypt_payload(dict(fields), self._encryption_key)
        return self._entry(self._request("POST", "/vault", body=body, request_id=request_id))

    def update_entry(
        self, fields: Mapping[str, Any], *, request_id: str | None = None
    ) -> VaultEntry:
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
                "CloudCruise answered a 2FA code without a code.",
                kind="malformed",
                service=self.service,
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

    # ------------------------------------------------------------------ secrets
    def decrypt_secret(self, entry: VaultEntry, field: str) -> Any:
        """Plaintext of one encrypted field of ``entry`` (raises crypto.DecryptionError)."""
        ciphertext = entry.ciphertext(field)
        if ciphertext is None:
            return None
        return crypto.decrypt_value(ciphertext, self._encryption_key)


__all__ = ["CloudCruiseClient", "UpstreamError", "RateLimitedError", "UnavailableError"]
