"""Former home of audit verification and pruning, now :mod:`app.services.audit_verify` and
:mod:`app.services.audit_prune`. These names stay importable only until
``tests/test_databases.py`` imports those modules; new code must not import this one.
"""

from __future__ import annotations

from app.services.audit_prune import PRUNE_MIN_AGE_DAYS, PruneRefused, PruneResult, prune
from app.services.audit_verify import (
    VERIFY_JOB,
    Verification,
    full_verification_running,
    last_full_verification,
    start_full_verification,
    verify,
)

__all__ = [
    "PRUNE_MIN_AGE_DAYS",
    "VERIFY_JOB",
    "PruneRefused",
    "PruneResult",
    "Verification",
    "full_verification_running",
    "last_full_verification",
    "prune",
    "start_full_verification",
    "verify",
]
