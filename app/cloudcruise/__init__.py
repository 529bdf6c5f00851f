"""CloudCruise vault API: client, SDK-compatible crypto, the field catalogue (no Flask here).
Its errors are the neutral family of :mod:`app.upstream_errors`."""

from app.cloudcruise.client import CloudCruiseClient
from app.cloudcruise.entry import TfaCode, VaultEntry
from app.cloudcruise.fields import SECRET_FIELDS, SESSION_BLOBS

__all__ = ["SECRET_FIELDS", "SESSION_BLOBS", "CloudCruiseClient", "TfaCode", "VaultEntry"]
