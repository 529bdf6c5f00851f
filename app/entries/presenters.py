"""Display-ready views of a vault entry for the detail page. No secret values in here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.cloudcruise import VaultEntry
from app.cloudcruise import fields as catalogue
from app.cloudcruise.intervals import describe_interval
from app.services.entry_index import proxy_mode, session_status
from app.timeutil import exact_time, parse_time


@dataclass(frozen=True)
class CookieView:
    name: str
    domain: str
    path: str
    expires: str
    flags: list[str]


def _cookie(raw: Any) -> CookieView | None:
    if not isinstance(raw, dict):
        return None
    expires = raw.get("expirationDate")
    if raw.get("session") or not isinstance(expires, int | float):
        expires_text = "Session"
    else:
        try:
            expires_text = exact_time(datetime.fromtimestamp(float(expires), UTC))
        except (OverflowError, OSError, ValueError):
            expires_text = "Invalid date"
    flags = [
        label
        for key, label in (
            ("secure", "Secure"),
            ("httpOnly", "HttpOnly"),
            ("hostOnly", "Host-only"),
        )
        if raw.get(key)
    ]
    if raw.get("sameSite"):
        flags.append(f"SameSite={raw['sameSite']}")
    return CookieView(
        name=str(raw.get("name", "")),
        domain=str(raw.get("domain", "")),
        path=str(raw.get("path", "") or "/"),
        expires=expires_text,
        flags=flags,
    )


class EntryView:
    """Wraps a :class:`VaultEntry` with what the templates need."""

    def __init__(self, entry: VaultEntry, now: datetime | None = None) -> None:
        self.entry = entry
        self.now = now or datetime.now(UTC)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entry, name)

    @property
    def id(self) -> str:
        return str(self.entry.id or "")

    @property
    def title(self) -> str:
        return self.entry.user_alias or self.entry.permissioned_user_id

    @property
    def has_session_data(self) -> bool:
        """Stored browser state or a saved session (what "clear browser state" removes)."""
        data = self.entry
        return bool(
            data.session_data_set_at or data.cookies or data.local_storage or data.session_storage
        )

    @property
    def session_status(self) -> str:
        return session_status(self.has_session_data, self.expires_at, self.now)

    @property
    def expires_at(self) -> datetime | None:
        return parse_time(self.entry.effective_expires_at)

    @property
    def proxy_mode(self) -> str:
        return proxy_mode(self.entry)

    @property
    def legacy_target_ip(self) -> str | None:
        """The deprecated target IP: ``ip_address``, or the legacy proxy object's."""
        legacy = self.entry.proxy
        nested = legacy.get("target_ip") if isinstance(legacy, dict) else None
        return self.entry.ip_address or nested

    def generated_fields(self, section: str) -> tuple[catalogue.Field, ...]:
        """The section's catalogue fields shown by generated rows (the ones its editor has
        generated inputs for)."""
        from app.entries.edit_forms import SECTIONS

        form = SECTIONS.get(section)
        return tuple(catalogue.FIELDS[n] for n in form.GENERATED) if form else ()

    def has_secret(self, field: str) -> bool:
        return self.entry.has_secret(field)

    @property
    def secret_fields(self) -> list[str]:
        """Secret fields this entry can have, in display order."""
        fields = ["user_name", "password"]
        if self.entry.tfa_method == "AUTHENTICATOR" or self.entry.has_secret("tfa_secret"):
            fields.append("tfa_secret")
        return fields

    @property
    def cookies(self) -> list[CookieView]:
        raw = self.entry.cookies
        return [c for c in (_cookie(x) for x in raw or []) if c] if isinstance(raw, list) else []

    @staticmethod
    def _keys(value: Any) -> list[str]:
        return sorted(map(str, value)) if isinstance(value, dict) else []

    @property
    def local_storage_keys(self) -> list[str]:
        return self._keys(self.entry.local_storage)

    @property
    def session_storage_keys(self) -> list[str]:
        return self._keys(self.entry.session_storage)

    def interval(self, name: str) -> str:
        return describe_interval(self.entry.get(name))

    @property
    def max_concurrency_text(self) -> str:
        if not self.entry.allow_multiple_sessions:
            return "1 (single session)"
        limit = self.entry.max_concurrency
        return "Unlimited" if limit is None else str(limit)

    @property
    def other_fields(self) -> list[tuple[str, str]]:
        """Fields the API sent that this console does not know (forward compatible)."""
        return [
            (key, catalogue.format_value(key, value))
            for key, value in sorted(self.entry.items())
            if key not in catalogue.FIELDS
        ]

    def when(self, name: str) -> datetime | None:
        return parse_time(self.entry.get(name))
