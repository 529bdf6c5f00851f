"""The one error family every upstream (CloudCruise, Qoder, r4) raises.

Transitional: re-exports the CloudCruise classes under neutral names until they move here.
"""

from app.cloudcruise.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from app.cloudcruise.errors import CloudCruiseError as UpstreamError

__all__ = [
    "AuthError",
    "ConflictError",
    "NotFoundError",
    "RateLimitedError",
    "UnavailableError",
    "UpstreamError",
    "ValidationError",
]
