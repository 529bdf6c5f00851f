"""Recording audit events for an action: who acts (:class:`Actor`), single events
(:func:`record`) and upstream actions as an attempt followed by its result (:func:`attempt`).

Every function takes an explicit ``actor=``; without one, the actor of the current request
(or ``cli`` outside a request) is used. The attempt event is committed before the caller
talks to an upstream: when it cannot be written, :class:`AuditUnavailable` is raised and the
action must not go ahead. Storage is :mod:`app.services.audit_store`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.services.audit_store import AuditLog, AuditUnavailable

log = logging.getLogger("app.audit")


@dataclass
class Actor:
    operator_id: int | None
    operator: str | None
    role: str | None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def current_actor() -> Actor:
    """Who is acting in this request (or the command line, outside a request)."""
    from flask import g, has_request_context, request
    from flask_login import current_user

    if not has_request_context():
        return Actor(None, "cli", None)
    user = current_user if current_user and current_user.is_authenticated else None
    return Actor(
        operator_id=user.id if user else None,
        operator=user.username if user else None,
        role=user.role if user else None,
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        request_id=getattr(g, "request_id", None),
    )


def _target(target: Any) -> dict[str, Any]:
    if target is None:
        return {}

    def get(key: str) -> Any:
        if isinstance(target, Mapping):
            return target.get(key)
        return getattr(target, key, None)

    return {
        "target_id": str(get("id")) if get("id") else None,
        "target_pid": get("permissioned_user_id"),
        "target_domain": get("domain"),
    }


def audit_log() -> AuditLog:
    from flask import current_app

    log: AuditLog = current_app.extensions["audit"]
    return log


def record(
    action: str,
    outcome: str,
    *,
    target: Any = None,
    fields: Iterable[str] | None = None,
    changes: Mapping[str, Any] | None = None,
    status: int | None = None,
    message: str | None = None,
    batch_id: str | None = None,
    phase: str = "event",
    actor: Actor | None = None,
    duration_ms: float | None = None,
    operator_override: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a single event (login, logout, refusals, CLI actions)."""
    who = actor or current_actor()
    values = {
        "request_id": who.request_id,
        "operator_id": who.operator_id,
        "operator": who.operator,
        "role": who.role,
        "ip": who.ip,
        "user_agent": who.user_agent,
    }
    values.update(operator_override or {})
    return audit_log().append(
        action=action,
        outcome=outcome,
        phase=phase,
        batch_id=batch_id,
        fields=sorted(fields) if fields is not None else None,
        changes=dict(changes) if changes else None,
        status=status,
        message=message,
        duration_ms=duration_ms,
        **_target(target),
        **values,
    )


class Attempt:
    """An action about to be sent upstream: the attempt is recorded on creation."""

    def __init__(self, action: str, **context: Any) -> None:
        self.action = action
        self.context = context
        self.started = time.perf_counter()
        self.done = False
        record(action, "attempt", phase="attempt", **context)

    def _finish(self, outcome: str, **extra: Any) -> None:
        if self.done:
            return
        self.done = True
        context = {**self.context, **extra}
        context["duration_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        try:
            record(self.action, outcome, phase="result", **context)
        except AuditUnavailable:
            # The change already happened upstream; the attempt row and the log sink
            # still show it. Never hide the upstream outcome from the operator for this.
            log.error(
                "audit result write failed after upstream call", extra={"audit_action": self.action}
            )

    def success(self, *, target: Any = None, **extra: Any) -> None:
        if target is not None:
            extra.update(target=target)
        self._finish("success", **extra)

    def failure(self, error: Any) -> None:
        status = getattr(error, "status", None)
        message = getattr(error, "message", None) or str(error)
        self._finish("failure", status=status, message=message)


def attempt(action: str, **context: Any) -> Attempt:
    """Record the attempt (raises :class:`AuditUnavailable`); finish with success/failure."""
    return Attempt(action, **context)


def new_batch_id() -> str:
    return uuid.uuid4().hex
