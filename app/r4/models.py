"""Read-only views of r4.dev Machine Vault API answers (wire reference: docs/r4-api.md).

Field VALUES (v3 envelopes, end-to-end encrypted) are never kept: :class:`FieldInfo` only
says whether a value was present (``has_value``). Signed checkpoints are kept raw (the
envelope as served) so :mod:`app.r4.checkpoints` can verify them; they carry metadata
only, never values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Vault:
    id: str
    name: str
    is_encrypted: bool
    encryption_key_id: str | None
    data_classification: str | None
    item_count: int | None
    created_at: str | None


@dataclass(frozen=True)
class ItemSummary:
    id: str
    name: str
    type: str
    websites: list[str]
    group_id: str | None
    created_at: str | None
    field_count: int | None


@dataclass(frozen=True)
class ItemList:
    vault_id: str
    vault_name: str
    data_classification: str | None
    current_dek_version: int | None
    #: the raw signed envelope ``{"checkpoint": {...}, "signerUserKeyPairId", "signature"}``
    summary_checkpoint: dict[str, Any] | None
    items: list[ItemSummary]
    count: int


@dataclass(frozen=True)
class FieldInfo:
    id: str
    name: str
    type: str
    order: int | None
    #: True when the API served a value (an encrypted v3 envelope the client dropped).
    has_value: bool = False


@dataclass(frozen=True)
class ItemDetail:
    id: str
    name: str
    type: str
    websites: list[str]
    vault_id: str
    group_id: str | None
    fields: list[FieldInfo] = field(default_factory=list)
    detail_checkpoint: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignerKey:
    id: str
    type: str | None
    public_key_pem: str
    #: 64 lowercase hex (SHA-256 of the SPKI DER, by this emulator's choice); may be None.
    fingerprint: str | None
