"""What an audited command returns: the view renders it, the command has already audited it.

Every command that changes or discloses something upstream (create, save a section, a bulk
item, delete, clear browser state, reveal, show a TFA code, archive or rotate a Qoder
credential) takes an explicit :class:`~app.services.audit.Actor` and returns one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """Done: ``value`` is what the upstream answered; ``changed`` names what changed."""

    value: T
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conflict(Generic[T]):
    """Not done: the thing changed since the operator loaded it (``current`` is it now)."""

    current: T
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    """Not done, nothing sent upstream: the console refused (validation, confirmation)."""

    message: str
    field_errors: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """Sent upstream and refused or unanswered; ``error`` is the upstream error."""

    error: Exception
    message: str


Outcome = Saved[Any] | Conflict[Any] | Refused | Failed


def audited(
    actor: Any,
    action: str,
    run: Callable[[], T],
    *,
    target: Any = None,
    fields: Iterable[str] | None = None,
    changes: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
    message: str | None = None,
    changed: Iterable[str] = (),
    success_target: Callable[[T], Any] | None = None,
    success_message: Callable[[T], str | None] | None = None,
) -> Saved[T] | Failed:
    """Record the attempt (fail closed: :class:`AuditUnavailable` propagates and nothing is
    sent), call ``run``, record its success or failure, and return the outcome."""
    from app.services import audit
    from app.upstream_errors import UpstreamError

    context: dict[str, Any] = {"target": target, "actor": actor, "batch_id": batch_id}
    if fields is not None:
        context["fields"] = fields
    if changes is not None:
        context["changes"] = changes
    if message is not None:
        context["message"] = message
    attempt = audit.attempt(action, **context)
    try:
        value = run()
    except UpstreamError as exc:
        attempt.failure(exc)
        return Failed(exc, exc.message)
    except Exception as exc:  # decryption and other local failures after the attempt row
        attempt.failure(exc)
        if not getattr(exc, "audit_as_failure", False):
            raise
        return Failed(exc, str(exc))
    extra: dict[str, Any] = {}
    if success_target is not None:
        extra["target"] = success_target(value)
    if success_message is not None:
        text = success_message(value)
        if text is not None:
            extra["message"] = text
    attempt.success(**extra)
    return Saved(value, tuple(changed))
