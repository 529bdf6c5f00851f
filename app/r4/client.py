"""Read-only HTTP client for the r4.dev Machine Vault API (wire reference: docs/r4-api.md).

* Transport is the shared :class:`app.httpclient.JsonHttp` (pooled session, timeouts,
  retries for reads and short 429s, size cap); the key travels in ``X-API-Key`` and never
  appears in ``repr`` or messages (:attr:`R4Client.key_hint` shows its last four chars).
* Answers become the dataclasses of :mod:`app.r4.models`. Field VALUES (end-to-end
  encrypted v3 envelopes) are dropped while parsing; only ``has_value`` is kept.
* Failures are the typed errors of :mod:`app.upstream_errors`, chosen by HTTP status through
  the shared table (:data:`app.httpclient.STATUS_ERRORS`); r4's ``{"error": {"code",
  "message"}}`` envelope supplies the code and message.
* Nothing here trusts the server: verify what it served with :mod:`app.r4.checkpoints`.

``GET /vault/:id/public-keys`` has no published shape (B.2). Accepted here: a JSON list
of keys, or an object holding one under ``keys``, ``publicKeys``, ``signers`` or
``signerKeys``; each key has ``id`` (or ``encryptionKeyId`` / ``userKeyPairId`` /
``keyId``), ``publicKey`` (or ``publicKeyPem``, SPKI PEM), optional ``type`` and
``fingerprint``. The emulator serves ``{"vaultId", "keys": [{"id", "type",
"publicKey", "fingerprint", "createdAt"}], "count"}``.

No Flask imports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from app.httpclient import ApiClient, ErrorDetail, malformed, nested_error_detail
from app.upstream_errors import UnavailableError

from .models import FieldInfo, ItemDetail, ItemList, ItemSummary, SignerKey, Vault

log = logging.getLogger("app.r4")

NAME = "r4"


def _q(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("r4 ids must be non-empty strings")
    return quote(value, safe="")


def _malformed(what: str) -> UnavailableError:
    return malformed(NAME, what)


def _str(data: dict, key: str, what: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _malformed(what)
    return value


def _int(data: dict, key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(what)
    return value


def _websites(data: dict, what: str) -> list[str]:
    value = data.get("websites")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise _malformed(what)
    return list(value)


def _checkpoint(data: dict, key: str, what: str) -> dict | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise _malformed(what)
    return value


def error_detail(payload: Any) -> ErrorDetail:
    """``{"error": {"code", "message"}}``."""
    return nested_error_detail(payload)


class R4Client(ApiClient):
    """Reads one r4 machine API (or the emulator) with one API key."""

    service = NAME
    logger = log
    probe_path = "/vault"

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        """``options``: the transport settings of :class:`app.httpclient.ApiClient`."""
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("The r4 API key (R4_API_KEY) is empty.")
        super().__init__(base_url, api_key.strip(), **options)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    # -- errors ------------------------------------------------------------------------
    def error_detail(self, payload: Any) -> ErrorDetail:
        return error_detail(payload)

    @classmethod
    def describe_error(
        cls, status: int, detail: ErrorDetail, context: Mapping[str, str] | None = None
    ) -> str | None:
        """Messages that name the key's variable, the refused scope, or the id not found.
        ``context``: the ids the request was about (``vault``, ``item``)."""
        ids = context or {}
        if status == 401:
            return "r4 rejected the API key (R4_API_KEY)."
        if status == 403:
            label = f" ({detail.code})" if detail.code else ""
            said = f": {detail.message}" if detail.message else "."
            return f"r4 refused the request{label}{said}"
        if status == 404:
            if detail.code == "vault_item_not_found" and "item" in ids:
                return (
                    f'The vault item "{ids["item"]}" was not found or this API key has no '
                    "access to it."
                )
            if detail.code == "vault_not_found" and "vault" in ids:
                return (
                    f'The vault "{ids["vault"]}" was not found or this API key has no access to it.'
                )
            if not detail.message:
                return "r4 did not find what was asked for (or this key has no access)."
        return None

    # -- transport ---------------------------------------------------------------------
    def _get(self, path: str, ids: dict[str, str], request_id: str | None) -> Any:
        return self.call("GET", path, request_id=request_id, context=ids)

    # -- parsing -----------------------------------------------------------------------
    @staticmethod
    def _vault(data: Any) -> Vault:
        what = "a vault"
        if not isinstance(data, dict):
            raise _malformed(what)
        encrypted = data.get("isEncrypted")
        if encrypted is not None and not isinstance(encrypted, bool):
            raise _malformed(what)
        return Vault(
            id=_str(data, "id", what),
            name=_str(data, "name", what),
            is_encrypted=bool(encrypted),
            encryption_key_id=_str(data, "encryptionKeyId", what, optional=True),
            data_classification=_str(data, "dataClassification", what, optional=True),
            item_count=_int(data, "itemCount", what),
            created_at=_str(data, "createdAt", what, optional=True),
        )

    @staticmethod
    def _item_summary(data: Any) -> ItemSummary:
        what = "a vault item"
        if not isinstance(data, dict):
            raise _malformed(what)
        return ItemSummary(
            id=_str(data, "id", what),
            name=_str(data, "name", what),
            type=_str(data, "type", what),
            websites=_websites(data, what),
            group_id=_str(data, "groupId", what, optional=True),
            created_at=_str(data, "createdAt", what, optional=True),
            field_count=_int(data, "fieldCount", what),
        )

    @staticmethod
    def _field(data: Any) -> FieldInfo:
        what = "an item field"
        if not isinstance(data, dict):
            raise _malformed(what)
        value = data.get("value")  # an encrypted envelope: looked at, never kept
        return FieldInfo(
            id=_str(data, "id", what),
            name=_str(data, "name", what),
            type=_str(data, "type", what),
            order=_int(data, "order", what),
            has_value=isinstance(value, str) and value != "",
        )

    @staticmethod
    def _signer_key(data: Any) -> SignerKey:
        what = "a signer key"
        if not isinstance(data, dict):
            raise _malformed(what)
        key_id = next(
            (data[k] for k in ("id", "encryptionKeyId", "userKeyPairId", "keyId") if k in data),
            None,
        )
        pem = next((data[k] for k in ("publicKey", "publicKeyPem") if k in data), None)
        fingerprint = data.get("fingerprint")
        key_type = data.get("type", data.get("signerType"))
        if (
            not isinstance(key_id, str)
            or not isinstance(pem, str)
            or not (fingerprint is None or isinstance(fingerprint, str))
            or not (key_type is None or isinstance(key_type, str))
        ):
            raise _malformed(what)
        return SignerKey(id=key_id, type=key_type, public_key_pem=pem, fingerprint=fingerprint)

    # -- API ---------------------------------------------------------------------------
    def list_vaults(self, *, request_id: str | None = None) -> list[Vault]:
        """``GET /vault``: the vaults this key can read."""
        payload = self._get("/vault", {}, request_id)
        rows = payload.get("vaults") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise _malformed("the vault list")
        return [self._vault(row) for row in rows]

    def get_vault(self, vault_id: str, *, request_id: str | None = None) -> Vault:
        """``GET /vault/:id`` (unknown or not permitted: NotFoundError)."""
        vault = self._vault(self._get(f"/vault/{_q(vault_id)}", {"vault": vault_id}, request_id))
        if vault.id != vault_id:
            raise _malformed("another vault than the one asked for")
        return vault

    def list_items(self, vault_id: str, *, request_id: str | None = None) -> ItemList:
        """``GET /vault/:id/items``: non-archived items plus the signed summary checkpoint."""
        what = "the item list"
        data = self._get(f"/vault/{_q(vault_id)}/items", {"vault": vault_id}, request_id)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise _malformed(what)
        if data.get("vaultId", vault_id) != vault_id:
            raise _malformed("an item list of another vault than the one asked for")
        items = [self._item_summary(row) for row in data["items"]]
        count = _int(data, "count", what)
        return ItemList(
            vault_id=vault_id,
            vault_name=_str(data, "vaultName", what),
            data_classification=_str(data, "dataClassification", what, optional=True),
            current_dek_version=_int(data, "currentDekVersion", what),
            summary_checkpoint=_checkpoint(data, "summaryCheckpoint", what),
            items=items,
            count=len(items) if count is None else count,
        )

    def get_item(self, vault_id: str, item_id: str, *, request_id: str | None = None) -> ItemDetail:
        """``GET /vault/:id/items/:itemId``: metadata, field descriptions (values dropped)
        and the signed detail checkpoint."""
        what = "the item detail"
        data = self._get(
            f"/vault/{_q(vault_id)}/items/{_q(item_id)}",
            {"vault": vault_id, "item": item_id},
            request_id,
        )
        if not isinstance(data, dict):
            raise _malformed(what)
        fields = data.get("fields", [])
        if not isinstance(fields, list):
            raise _malformed(what)
        detail = ItemDetail(
            id=_str(data, "id", what),
            name=_str(data, "name", what),
            type=_str(data, "type", what),
            websites=_websites(data, what),
            vault_id=_str(data, "vaultId", what, optional=True) or vault_id,
            group_id=_str(data, "groupId", what, optional=True),
            fields=[self._field(f) for f in fields],
            detail_checkpoint=_checkpoint(data, "detailCheckpoint", what),
        )
        if detail.id != item_id or detail.vault_id != vault_id:
            raise _malformed("another item than the one asked for")
        return detail

    def public_keys(self, vault_id: str, *, request_id: str | None = None) -> list[SignerKey]:
        """``GET /vault/:id/public-keys``: the vault's signer directory (shape: module doc)."""
        data = self._get(f"/vault/{_q(vault_id)}/public-keys", {"vault": vault_id}, request_id)
        rows: Any = data
        if isinstance(data, dict):
            rows = next(
                (data[k] for k in ("keys", "publicKeys", "signers", "signerKeys") if k in data),
                None,
            )
        if not isinstance(rows, list):
            raise _malformed("the signer directory")
        return [self._signer_key(row) for row in rows]
