"""The audit log, as the rest of the console uses it: record who did what.

Callers write ``from app.services import audit`` and use :func:`attempt` (an upstream
action: attempt event first, then its result), :func:`record` (a single event),
:func:`audit_log` (the app's :class:`AuditLog`, for change descriptions and fingerprints),
:class:`Actor` / :func:`current_actor`, :class:`AuditUnavailable`, :func:`new_batch_id`,
``SECRET_FIELDS`` and :func:`is_secret_change`.

The work is done in modules named for one job each:

* :mod:`app.services.audit_store`: the chain's format, keyed links and appends;
* :mod:`app.services.audit_recording`: actors, single events, attempt and result;
* :mod:`app.services.audit_checkpoints`: keyed checkpoints (written by appenders and by
  verifications that write, read by every verification);
* :mod:`app.services.audit_verify`: verification and its background job;
* :mod:`app.services.audit_prune`: archiving and removing old events;
* :mod:`app.audit.query`: reading the log for the audit pages.
"""

from __future__ import annotations

from app.cloudcruise.fields import is_secret as is_secret_change
from app.services.audit_recording import (
    Actor,
    Attempt,
    attempt,
    audit_log,
    current_actor,
    new_batch_id,
    record,
)
from app.services.audit_store import (
    SECRET_FIELDS,
    AuditLog,
    AuditUnavailable,
    init_app,
)

__all__ = [
    "SECRET_FIELDS",
    "Actor",
    "Attempt",
    "AuditLog",
    "AuditUnavailable",
    "attempt",
    "audit_log",
    "current_actor",
    "init_app",
    "is_secret_change",
    "new_batch_id",
    "record",
]
