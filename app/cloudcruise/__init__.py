"""CloudCruise vault API: client, SDK-compatible crypto and typed errors (no Flask here)."""

from app.cloudcruise.client import CloudCruiseClient
from app.cloudcruise.entry import TfaCode, VaultEntry
from app.cloudcruise.errors import (
    AuthError,
    CloudCruiseError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from app.cloudcruise.fields import SECRET_FIELDS, SESSION_BLOBS

__all__ = [
    "SECRET_FIELDS",
    "SESSION_BLOBS",
    "AuthError",
    "CloudCruiseClient",
    "CloudCruiseError",
    "ConflictError",
    "NotFoundError",
    "RateLimitedError",
    "TfaCode",
    "UnavailableError",
    "ValidationError",
    "VaultEntry",
]
