"""What a failed write tells the operator: one sentence for the banner, and the upstream's
per-field messages placed beside the fields they name (create, section and bulk forms)."""

from __future__ import annotations

from typing import Any

from app.upstream_errors import (
    AuthError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
    ValidationError,
)


def upstream_message(exc: BaseException) -> str:
    """One sentence an operator can act on, for a failed write."""
    if not isinstance(exc, UpstreamError):
        return f"{exc} Your input is kept; submit again to retry."
    if isinstance(exc, UnavailableError) and exc.kind in ("timeout", "connection", "malformed"):
        return (
            f"{exc.message} The change may or may not have been applied: reload the entry "
            "to check before you retry. Your input is kept."
        )
    if isinstance(exc, AuthError):
        return "CloudCruise rejected the API key or the encryption key; nothing was saved."
    if isinstance(exc, RateLimitedError):
        return exc.message
    if isinstance(exc, ValidationError) and not exc.general_errors and exc.field_errors:
        return "CloudCruise rejected some fields; see the messages beside them."
    return f"{exc.message} Your input is kept; submit again to retry."


def place_errors(form: Any, errors: dict[str, list[str]], general: list[str]) -> None:
    """Put each message beside the form field it names (through the form's
    ``ERROR_FIELDS`` aliases); messages for fields the form lacks join ``general``."""
    aliases = getattr(form, "ERROR_FIELDS", {})
    for name, messages in errors.items():
        target = getattr(form, aliases.get(name, name), None)
        if target is None:
            general.extend(messages)
        else:
            target.errors = [*target.errors, *[m for m in messages if m not in target.errors]]


def failure_banner(form: Any, exc: BaseException) -> tuple[str, bool]:
    """Place an upstream validation error's field messages on ``form``; the banner text
    and whether a Retry button makes sense."""
    if isinstance(exc, ValidationError):
        general = list(exc.general_errors)
        place_errors(form, exc.field_errors, general)
        return "; ".join(general) or upstream_message(exc), False
    return upstream_message(exc), True
