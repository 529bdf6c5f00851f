"""r4.dev Machine Vault API: read-only client and zero-trust checkpoint verification.

Public API::

    R4Client(base_url, api_key, *, connect_timeout=5.0, read_timeout=30.0, retries=2,
             backoff=0.25)
        .list_vaults() .get_vault(id) .list_items(id) .get_item(id, item_id)
        .public_keys(id) .close() .key_hint
    checkpoints: Scheme, DEFAULT, jcs, sign, Verdict, rollback_check,
                 verify_checkpoint(envelope, signer_keys, expected_vault_id, scheme=DEFAULT,
                                   *, items=None, item=None),
                 verify_item_list(item_list, signer_keys, scheme=DEFAULT),
                 verify_item_detail(detail, signer_keys, scheme=DEFAULT)

See :mod:`app.r4.checkpoints` for the signature-scheme ASSUMPTIONS. The console's pages are
:mod:`app.r4.views`, the provider declaration :mod:`app.r4.provider`; wire reference:
``docs/r4-api.md``.
"""

from .checkpoints import (
    DEFAULT,
    Scheme,
    Verdict,
    jcs,
    rollback_check,
    sign,
    verify_checkpoint,
    verify_item_detail,
    verify_item_list,
)
from .client import R4Client
from .models import FieldInfo, ItemDetail, ItemList, ItemSummary, SignerKey, Vault

__all__ = [
    "DEFAULT",
    "FieldInfo",
    "ItemDetail",
    "ItemList",
    "ItemSummary",
    "R4Client",
    "Scheme",
    "SignerKey",
    "Vault",
    "Verdict",
    "jcs",
    "rollback_check",
    "sign",
    "verify_checkpoint",
    "verify_item_detail",
    "verify_item_list",
]
