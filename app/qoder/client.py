"""HTTP client for the Qoder Cloud Agents vaults API (``/api/v1/cloud``): reads, archive
and token rotation.

Wire reference: ``docs/qoder-api.md``. The console targets the G2
shape but reads both credential shapes: the flat G2 object (``mcp_server_url``,
``protocol``, ``type``, ``status``) and the nested G3 object (``auth{type,
mcp_server_url | secret_name, ...}``, ``archived_at`` instead of ``status``).

* Transport is the shared :class:`app.httpclient.JsonHttp` (pooled session, timeouts,
  GET retries on 5xx/connection errors, short-429 retries, size cap).
* ``Authorization: Bearer <PAT>``, plus ``qoder-workspace-id`` when a workspace is
  configured (``QODER_WORKSPACE_ID``). The PAT never appears in ``repr`` or in a message
  (:attr:`QoderClient.key_hint` gives its last four characters), nor does a token being
  rotated.
* Errors are keyed on the HTTP status (the 401 ``error.type`` differs between doc
  versions) through the shared table (:data:`app.httpclient.STATUS_ERRORS`) into the
  typed errors of :mod:`app.upstream_errors`; 501 ``feature_not_available`` is
  :class:`NotAvailableError`.
* Token rotation is the G3 *Update credential* (``POST .../credentials/{id}``, a merge
  patch whose ``auth.type`` must equal the credential's type; the credential must be
  active).
* Parsed objects keep only the documented, non-secret fields: a token, refresh token,
  client secret or secret value sent by mistake is never kept.

No Flask imports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from app.httpclient import (
    Answer,
    ApiClient,
    ErrorDetail,
    malformed,
    nested_error_detail,
    retry_after,
)
from app.upstream_errors import UnavailableError

log = logging.getLogger("app.qoder")
NAME = "Qoder"
MAX_LIMIT = 100

T = TypeVar("T")


#: the secret an update replaces, per auth type (the only one the console rotates)
TOKEN_FIELDS = {
    "static_bearer": "token",
    "mcp_oauth": "access_token",
    "environment_variable": "secret_value",
}


# ------------------------------------------------------------------ data classes
@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``data`` newest first (as the server orders it)."""

    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool


@dataclass(frozen=True)
class Vault:
    id: str
    display_name: str | None
    #: ``active`` or ``archived`` (derived from ``archived_at`` when the G3 shape has none)
    status: str
    metadata: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None

    @property
    def archived(self) -> bool:
        return self.status == "archived"


@dataclass(frozen=True)
class Credential:
    id: str
    vault_id: str
    #: the MCP server URL; for ``environment_variable`` credentials the variable name
    #: (``auth.secret_name``), with ``kind == "environment_variable"``
    mcp_server_url: str | None
    #: ``streamable_http`` / ``sse`` (flat shape only; None for the nested shape)
    protocol: str | None
    #: auth type: ``static_bearer``, ``mcp_oauth`` or ``environment_variable``
    type: str | None
    status: str
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None
    display_name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: ``flat`` (G2) or ``nested`` (G3, ``auth`` object)
    shape: str = "flat"
    #: ``mcp_server`` or ``environment_variable``
    kind: str = "mcp_server"

    @property
    def archived(self) -> bool:
        return self.status == "archived"


# ------------------------------------------------------------------ parsing
def _malformed(what: str) -> UnavailableError:
    return malformed(NAME, what)


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None}


def _status(data: Mapping[str, Any]) -> str:
    status = data.get("status")
    if status in ("active", "archived"):
        return status
    # G3 has no status; G1 also knew "deleted", which is not active either
    if data.get("archived_at") or status == "deleted":
        return "archived"
    return "active"


def parse_vault(payload: Any) -> Vault:
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise _malformed("a vault")
    return Vault(
        id=payload["id"],
        display_name=_opt_str(payload, "display_name"),
        status=_status(payload),
        metadata=_metadata(payload.get("metadata")),
        created_at=_opt_str(payload, "created_at"),
        updated_at=_opt_str(payload, "updated_at"),
        archived_at=_opt_str(payload, "archived_at"),
    )


def parse_credential(payload: Any, vault_id: str | None = None) -> Credential:
    """A credential from either shape; only documented non-secret fields are kept."""
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise _malformed("a credential")
    auth = payload.get("auth")
    if isinstance(auth, dict):
        shape, protocol = "nested", None
        auth_type = _opt_str(auth, "type")
        source: Mapping[str, Any] = auth
    elif auth is None:
        shape = "flat"
        auth_type = _opt_str(payload, "type")
        protocol = _opt_str(payload, "protocol")
        source = payload
    else:
        raise _malformed("a credential")
    if auth_type == "environment_variable":
        kind, target = "environment_variable", _opt_str(source, "secret_name")
    else:
        kind, target = "mcp_server", _opt_str(source, "mcp_server_url")
    owner = _opt_str(payload, "vault_id") or vault_id
    if not owner:
        raise _malformed("a credential")
    return Credential(
        id=payload["id"],
        vault_id=owner,
        mcp_server_url=target,
        protocol=protocol,
        type=auth_type,
        status=_status(payload),
        created_at=_opt_str(payload, "created_at"),
        updated_at=_opt_str(payload, "updated_at"),
        archived_at=_opt_str(payload, "archived_at"),
        display_name=_opt_str(payload, "display_name"),
        metadata=_metadata(payload.get("metadata")),
        shape=shape,
        kind=kind,
    )


def parse_page(payload: Any, item: Any, what: str) -> Page:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise _malformed(what)
    data = [item(row) for row in payload["data"]]
    has_more = payload.get("has_more", False)
    if not isinstance(has_more, bool):
        raise _malformed(what)
    ids = []
    for key, default in (
        ("first_id", data[0].id if data else None),
        ("last_id", data[-1].id if data else None),
    ):
        value = payload.get(key, default)
        if value is not None and not isinstance(value, str):
            raise _malformed(what)
        ids.append(value)
    return Page(data=data, first_id=ids[0], last_id=ids[1], has_more=has_more)


# ------------------------------------------------------------------ errors
def error_detail(payload: Any) -> ErrorDetail:
    """``{"type":"error","error":{type,message,param?,feature?,available_from?}}``."""
    return nested_error_detail(payload, codes=("type", "code"), extra=("feature", "available_from"))


# ------------------------------------------------------------------ client
def _path_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return quote(value, safe="")


def _time_param(value: Any, name: str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be an RFC 3339 timestamp")
    return value


def _list_params(
    limit: int,
    after_id: str | None,
    before_id: str | None,
    include_archived: bool,
    name: str | None,
    created_gte: Any = None,
    created_lte: Any = None,
) -> dict[str, str]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    if after_id is not None and before_id is not None:
        raise ValueError("after_id and before_id are mutually exclusive")
    params = {"limit": str(limit)}
    for key, value in (("after_id", after_id), ("before_id", before_id)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} must be a non-empty string")
            params[key] = value
    if include_archived:
        params["include_archived"] = "true"
    if name:
        params["name"] = name
    if created_gte is not None:
        params["created_at[gte]"] = _time_param(created_gte, "created_gte")
    if created_lte is not None:
        params["created_at[lte]"] = _time_param(created_lte, "created_lte")
    return params


class QoderClient(ApiClient):
    """One Qoder workspace (or the emulator), authenticated with a personal access token."""

    service = NAME
    logger = log
    probe_path = "/vaults?limit=1"

    def __init__(
        self, base_url: str, pat: str, *, workspace_id: str | None = None, **options: Any
    ) -> None:
        """``workspace_id`` is sent as ``qoder-workspace-id`` (a token that reaches several
        workspaces needs it); ``options``: the transport settings of
        :class:`app.httpclient.ApiClient`."""
        if not isinstance(pat, str) or not pat.strip():
            raise ValueError("The Qoder access token (QODER_PAT) is empty.")
        workspace = (workspace_id or "").strip()
        if workspace and not workspace.isprintable():
            raise ValueError("The Qoder workspace id (QODER_WORKSPACE_ID) is not printable.")
        self.workspace_id = workspace or None
        headers = {"qoder-workspace-id": workspace} if workspace else {}
        super().__init__(base_url, pat.strip(), extra_headers=headers, **options)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    # -------------------------------------------------------------- errors
    def error_detail(self, payload: Any) -> ErrorDetail:
        return error_detail(payload)

    @classmethod
    def describe_error(
        cls, status: int, detail: ErrorDetail, context: Mapping[str, str] | None = None
    ) -> str | None:
        if status == 401:  # keyed on the status: the 401 type differs between doc versions
            return "Qoder rejected the access token (QODER_PAT)."
        if status == 403:
            said = f" ({detail.message})" if detail.message else ""
            return f"The Qoder access token (QODER_PAT) is not permitted to do this{said}."
        if status == 404 and not detail.message:
            return "The Qoder vault or credential does not exist."
        return None

    def answer_retry_after(self, answer: Answer, detail: ErrorDetail) -> float | None:
        raw = answer.headers.get("retry-after-ms")
        if raw is not None:
            try:
                return max(0.0, float(raw) / 1000)
            except ValueError:
                pass
        return retry_after(answer.headers)

    # -------------------------------------------------------------- transport
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        request_id: str | None = None,
        secrets: tuple[str, ...] = (),
    ) -> Any:
        return self.call(
            method, path, params=params, body=body, request_id=request_id, secrets=secrets
        )

    # -------------------------------------------------------------- vaults
    def list_vaults(
        self,
        *,
        limit: int = 20,
        after_id: str | None = None,
        before_id: str | None = None,
        include_archived: bool = False,
        name: str | None = None,
        request_id: str | None = None,
    ) -> Page[Vault]:
        params = _list_params(limit, after_id, before_id, include_archived, name)
        payload = self._request("GET", "/vaults", params=params, request_id=request_id)
        return parse_page(payload, parse_vault, "the vault list")

    def get_vault(self, vault_id: str, *, request_id: str | None = None) -> Vault:
        path = f"/vaults/{_path_id(vault_id, 'vault_id')}"
        return parse_vault(self._request("GET", path, request_id=request_id))

    # -------------------------------------------------------------- credentials
    def list_credentials(
        self,
        vault_id: str,
        *,
        limit: int = 20,
        after_id: str | None = None,
        before_id: str | None = None,
        include_archived: bool = False,
        name: str | None = None,
        created_gte: str | None = None,
        created_lte: str | None = None,
        request_id: str | None = None,
    ) -> Page[Credential]:
        path = f"/vaults/{_path_id(vault_id, 'vault_id')}/credentials"
        params = _list_params(
            limit, after_id, before_id, include_archived, name, created_gte, created_lte
        )
        payload = self._request("GET", path, params=params, request_id=request_id)
        return parse_page(
            payload, lambda row: parse_credential(row, vault_id), "the credential list"
        )

    def get_credential(
        self, vault_id: str, credential_id: str, *, request_id: str | None = None
    ) -> Credential:
        path = (
            f"/vaults/{_path_id(vault_id, 'vault_id')}"
            f"/credentials/{_path_id(credential_id, 'credential_id')}"
        )
        return parse_credential(self._request("GET", path, request_id=request_id), vault_id)

    def archive_credential(
        self, vault_id: str, credential_id: str, *, request_id: str | None = None
    ) -> Credential:
        """POST .../archive; a second archive is a :class:`ConflictError` (409)."""
        path = (
            f"/vaults/{_path_id(vault_id, 'vault_id')}"
            f"/credentials/{_path_id(credential_id, 'credential_id')}/archive"
        )
        return parse_credential(self._request("POST", path, request_id=request_id), vault_id)

    def update_credential(
        self,
        vault_id: str,
        credential_id: str,
        *,
        auth: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        secrets: tuple[str, ...] = (),
        request_id: str | None = None,
    ) -> Credential:
        """``POST .../credentials/{id}`` (G3 *Update credential*): a merge patch of ``auth``
        (its ``type`` must equal the credential's) and/or ``metadata`` (a key set to None is
        removed). Archived credentials cannot be updated. ``secrets``: values in ``auth`` to
        keep out of any error message. Never retried (a POST)."""
        if auth is None and metadata is None:
            raise ValueError("an update needs auth or metadata")
        body: dict[str, Any] = {}
        if auth is not None:
            if not isinstance(auth.get("type"), str):
                raise ValueError("auth.type is required")
            body["auth"] = dict(auth)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        path = (
            f"/vaults/{_path_id(vault_id, 'vault_id')}"
            f"/credentials/{_path_id(credential_id, 'credential_id')}"
        )
        payload = self._request("POST", path, body=body, request_id=request_id, secrets=secrets)
        return parse_credential(payload, vault_id)

    def rotate_token(
        self,
        vault_id: str,
        credential_id: str,
        auth_type: str,
        token: str,
        *,
        request_id: str | None = None,
    ) -> Credential:
        """Replace the credential's secret: ``token`` (static bearer), ``access_token`` (MCP
        OAuth) or ``secret_value`` (environment variable), by ``auth_type``."""
        if auth_type not in TOKEN_FIELDS:
            raise ValueError(f"a {auth_type} credential has no token to rotate")
        if not isinstance(token, str) or not token:
            raise ValueError("the new token is empty")
        return self.update_credential(
            vault_id,
            credential_id,
            auth={"type": auth_type, TOKEN_FIELDS[auth_type]: token},
            secrets=(token,),
            request_id=request_id,
        )
