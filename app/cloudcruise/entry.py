"""A vault entry as the API returns it, with its encrypted fields kept out of reach.

The wrapper keeps every field the API sends, known or not (forward compatible, unlike the
SDK's dataclass). Encrypted values (``user_name``, ``password``, ``tfa_secret`` and a custom
``proxy_value``) are moved into a private mapping: templates and logs can only learn
*whether* a secret is set, never its ciphertext. Decryption happens only on explicit request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.cloudcruise.fields import SECRET_FIELDS, SESSION_BLOBS, is_secret


class VaultEntry(Mapping[str, Any]):
    """Read-only mapping of the entry's non-secret fields."""

    __slots__ = ("_data", "_ciphertexts")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        data = dict(raw)
        secrets: dict[str, str] = {}
        for key in SECRET_FIELDS:
            if key in data and is_secret(key, data):
                value = data[key]
                if isinstance(value, str) and value:
                    secrets[key] = value
                data[key] = None
        self._data = data
        self._ciphertexts = secrets

    # Mapping protocol (non-secret fields only)
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._data.get(name)

    def __repr__(self) -> str:
        return (
            f"VaultEntry(id={self._data.get('id')!r}, "
            f"permissioned_user_id={self._data.get('permissioned_user_id')!r}, "
            f"domain={self._data.get('domain')!r}, secrets=<redacted>)"
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self._data.get("permissioned_user_id") or "", self._data.get("domain") or "")

    def has_secret(self, name: str) -> bool:
        return name in self._ciphertexts

    @property
    def secrets_set(self) -> frozenset[str]:
        return frozenset(self._ciphertexts)

    def ciphertext(self, name: str) -> str | None:
        """The stored ciphertext of ``name``; only the crypto layer should call this."""
        return self._ciphertexts.get(name)

    @property
    def provider_backed(self) -> bool:
        return bool(self._data.get("secret_provider_id"))

    def to_mapping(self) -> Mapping[str, Any]:
        """The non-secret fields, read-only by convention (no copy: hot paths use this)."""
        return self._data

    def to_dict(self) -> dict[str, Any]:
        """Non-secret fields only (secret fields present as ``None``)."""
        return dict(self._data)


@dataclass(frozen=True)
class TfaCode:
    """Current 2FA code. ``repr`` redacts the code so it never lands in a log line."""

    type: str
    code: str
    expires_in_seconds: int | None = None
    received_at: str | None = None

    def __repr__(self) -> str:
        return (
            f"TfaCode(type={self.type!r}, code='<redacted>', "
            f"expires_in_seconds={self.expires_in_seconds!r}, received_at={self.received_at!r})"
        )


__all__ = ["SECRET_FIELDS", "SESSION_BLOBS", "TfaCode", "VaultEntry"]
