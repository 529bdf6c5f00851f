"""Typed errors of the CloudCruise client, parsed from the API's NestJS-style bodies.

Every message here is safe to show to an operator and to log: bodies are parsed for
``message``/``error``/``code`` only and nothing from the request payload is echoed.
"""

from __future__ import annotations

import re
from typing import Any

#: Request fields a validation message may name (so it can be shown beside that field).
KNOWN_FIELDS = frozenset(
    """
    id permissioned_user_id domain user_name password tfa_secret tfa_method user_alias
    persist_cookies persist_local_storage persist_session_storage cookies local_storage
    session_storage cookie_domain_to_store skip_csrf_cookies allow_multiple_sessions
    max_concurrency prevent_concurrency_during_login expiry_time_from_last_use
    expiry_time_from_session_data_set proxy proxy_setting proxy_value secret_provider_id
    secret_ref secret_cache_ttl_seconds user_id user_agent location ip_address session_id
    headers proxy_string
    """.split()
)

_PROPERTY_RE = re.compile(r"^property (\w+) should not exist")
_MAX_MESSAGE = 300


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


class CloudCruiseError(Exception):
    """Base class. ``status`` is the HTTP status (None when no response arrived)."""

    default_message = "The CloudCruise API request failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = _clip(message or self.default_message)
        self.status = status
        self.code = code
        self.body = body if isinstance(body, dict) else None
        super().__init__(self.message)

    @property
    def outcome(self) -> str:
        """Short label for logs and the audit trail, e.g. ``upstream 503``."""
        return f"upstream {self.status}" if self.status else f"upstream {type(self).__name__}"


class AuthError(CloudCruiseError):
    default_message = "CloudCruise rejected the API key or the encryption key."


class NotFoundError(CloudCruiseError):
    default_message = "The vault entry no longer exists."


class ConflictError(CloudCruiseError):
    default_message = "CloudCruise reported a conflict."


class ValidationError(CloudCruiseError):
    """400/422. ``field_errors`` maps request field names to messages; the rest is general."""

    default_message = "CloudCruise rejected the request."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors: dict[str, list[str]] = {}
        self.general_errors: list[str] = []
        raw = (self.body or {}).get("message", message)
        for text in raw if isinstance(raw, list) else [raw]:
            if not text:
                continue
            text = _clip(text)
            field = _field_of(text)
            if field:
                self.field_errors.setdefault(field, []).append(text)
            else:
                self.general_errors.append(text)


class RateLimitedError(CloudCruiseError):
    default_message = "CloudCruise is rate limiting this console."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UnavailableError(CloudCruiseError):
    """No usable answer: 5xx, timeout, refused connection, garbage or oversized body.

    ``kind`` is one of ``server``, ``timeout``, ``connection``, ``malformed``.
    """

    default_message = "CloudCruise did not give a usable answer."

    def __init__(self, message: str | None = None, *, kind: str = "server", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = kind

    @property
    def outcome(self) -> str:
        return f"upstream {self.status}" if self.status else f"upstream {self.kind}"


def _field_of(text: str) -> str | None:
    m = _PROPERTY_RE.match(text)
    if m:
        return m.group(1)
    first = text.split(" ", 1)[0].strip(".,:'\"")
    if first in KNOWN_FIELDS:
        return first
    if first.startswith("proxy.") or first.startswith("cookies"):
        return "proxy" if first.startswith("proxy.") else "cookies"
    return None


def error_from_response(status: int, body: Any, retry_after: float | None) -> CloudCruiseError:
    """Map a non-2xx response to the right typed error."""
    body_dict = body if isinstance(body, dict) else {}
    raw_message = body_dict.get("message") or body_dict.get("error")
    message = "; ".join(map(str, raw_message)) if isinstance(raw_message, list) else raw_message
    code = body_dict.get("code") if isinstance(body_dict.get("code"), str) else None
    common = {"status": status, "code": code, "body": body_dict or None}
    if status in (400, 422):
        return ValidationError(message, **common)
    if status in (401, 403):
        return AuthError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 409:
        return ConflictError(message, **common)
    if status == 429:
        if retry_after is None and isinstance(body_dict.get("retryAfterSeconds"), int | float):
            retry_after = float(body_dict["retryAfterSeconds"])
        wait = f"Retry in {int(retry_after)} s." if retry_after is not None else "Retry shortly."
        return RateLimitedError(
            f"CloudCruise is rate limiting this console. {wait}", retry_after=retry_after, **common
        )
    if status >= 500:
        return UnavailableError(
            f"CloudCruise answered {status}" + (f": {message}" if message else "."),
            kind="server",
            **common,
        )
    return CloudCruiseError(message or f"CloudCruise answered {status}.", **common)
