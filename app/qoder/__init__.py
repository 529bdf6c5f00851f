"""Read-only client for the Qoder Cloud Agents vaults API (``/api/v1/cloud/vaults``).

Wire reference: ``/work/shared/other-vaults.md`` Part A. The emulator lives in
``app.sandbox.qoder``.
"""

from .client import Credential, NotAvailableError, Page, QoderClient, Vault

__all__ = ["Credential", "NotAvailableError", "Page", "QoderClient", "Vault"]
