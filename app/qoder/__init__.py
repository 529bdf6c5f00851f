"""Qoder Cloud Agents vaults (``/api/v1/cloud/vaults``): the client (no Flask), the pages
(:mod:`app.qoder.views`), the audited commands (:mod:`app.qoder.commands`) and the
provider declaration (:mod:`app.qoder.provider`).

Wire reference: ``docs/qoder-api.md``. The emulator lives in ``app.sandbox.qoder``.
"""

from app.upstream_errors import NotAvailableError

from .client import Credential, Page, QoderClient, Vault

__all__ = ["Credential", "NotAvailableError", "Page", "QoderClient", "Vault"]
