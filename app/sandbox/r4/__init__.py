"""Standalone emulator of the r4.dev Machine Vault API, read side, R2 zero-trust model.

Wire reference: ``docs/r4-api.md``. A separate small Flask app with
its own SQLite file, served on a real socket; :class:`app.r4.R4Client` talks to it like
to the real API, and it signs checkpoints with :func:`app.r4.checkpoints.sign`, so the
emulator and the verifier share ONE scheme implementation.

Public API::

    start_r4_sandbox(data, host="127.0.0.1", port=0, api_key=None, seed=True,
                     scheme=DEFAULT)
        -> RunningR4Sandbox: .base_url (…/api/v1/machine) .root_url .api_key
           .generated_key .seeded .faults .store .model .vault_id(name) .stop();
           usable as a context manager
    python -m app.sandbox.r4 --host H --port P [--api-key K] [--data FILE] [--no-seed]
        prints R4_BASE_URL=… and, when the key was generated, R4_API_KEY=…

Endpoints (under ``/api/v1/machine``; ``/vaults…`` is a read-only alias of ``/vault…``)::

    GET /vault                           {"vaults": [{id,name,isEncrypted,encryptionKeyId,
                                          dataClassification,itemCount,createdAt}]}
    GET /vault/:id                       {id,name,isEncrypted,encryptionKeyId,
                                          dataClassification,createdAt,createdBy,itemCount}
    GET /vault/:id/items                 {vaultId,vaultName,dataClassification,
                                          currentDekVersion,summaryCheckpoint,items[{id,name,
                                          type,websites,groupId,createdAt,fieldCount}],
                                          vaultItemGroups:[],count}
    GET /vault/:id/items/:itemId         {id,name,type,websites,vaultId,groupId,fields[{id,
                                          name,type,order,fieldInstanceIds,assetIds,value}],
                                          detailCheckpoint}
    GET /vault/:id/fields/:fieldId       {id,name,type,order,fieldInstanceId,
                                          fieldInstanceIds,assetId,assetIds,value,vaultId,
                                          vaultItemId,vaultItemName,detailCheckpoint}
    GET /vault/:id/public-keys           {vaultId, keys[{id,type,publicKey,fingerprint,
                                          createdAt}], count}

Sandbox controls (``X-API-Key`` required, never faulted)::

    POST/GET/DELETE /_sandbox/faults     the CloudCruise sandbox's FaultInjector (kinds
                                         status, latency, malformed, content_type,
                                         oversized, drop, slow_read; ``path`` is the full
                                         PATH_INFO, e.g. /api/v1/machine/vault)
    POST /_sandbox/rollback/:vaultId     body {"version": n} optional (default: latest-1):
                                         serve that older, validly signed snapshot from
                                         the next read on
    DELETE /_sandbox/rollback/:vaultId   serve the latest again
    POST /_sandbox/bump/:vaultId         add an item, re-sign with version+1, end rollback
    POST /_sandbox/tamper/:vaultId       {"mode": "items" | "signature" | null}
    GET /_sandbox/health                 no key

Seed: see :mod:`app.sandbox.r4.seed` (Production – agents verified; Staging verified,
agent signer; Finance items differ; Legacy import unknown signer; Payments v12 then v9).

Choices made where the public docs are silent ("Open points" in docs/r4-api.md)
------------------------------------------------------------------------------
- Signature scheme: :data:`app.r4.checkpoints.DEFAULT`: RFC 8785 JCS of the inner
  ``checkpoint`` object (nothing else signed, no domain-separation prefix), UTF-8,
  RSA-PSS SHA-256 / MGF1-SHA-256 / salt 32 bytes when signing (the verifier accepts any
  salt length), RSA-2048 keys, standard padded base64. All ASSUMPTIONS ("Signature
  scheme" in docs/r4-api.md); interoperability needs a golden vector from the real SDK.
  ``start_r4_sandbox(scheme=...)`` signs with another :class:`~app.r4.checkpoints.Scheme`.
- Envelope signer member: ``signerUserKeyPairId`` for USER_KEY_PAIR keys (published),
  ``signerEncryptionKeyId`` for AGENT_ENCRYPTION_KEY keys (inferred).
- Signer-key ``type`` strings: ``USER_KEY_PAIR`` (invented), ``AGENT_ENCRYPTION_KEY``
  (the documented ``signerType`` value).
- ``/public-keys`` shape (unknown): ``{"vaultId", "keys": [...], "count"}``, each key
  ``{id, type, publicKey (SPKI PEM), fingerprint, createdAt}``; the directory is the
  same for every vault (the signers with ``in_directory = 1``).
- ``fingerprint``: SHA-256 of the SPKI **DER**, 64 lowercase hex (PEM text is the
  other candidate).
- Groups (shape unknown): ids only; seeded items may carry a ``groupId``; ``groups: []``
  in summaries, ``vaultItemGroups: []`` in listings.
- Versions: a new vault's summary is ``version: 1``; every item add/archive re-signs
  the summary with +1; a new item's detail checkpoint is ``version: 1``.
- v3 field envelopes: ``{"v":3,"iv","t","d"}`` as a JSON string, AES-256-GCM under a
  random per-vault DEK, 12-byte IV, 16-byte tag, standard base64, no AAD; the DEK is
  not wrapped to anyone (no ``/wrapped-key`` endpoint), so nobody else can decrypt.
- IDs: 24 lowercase hex. Malformed ids answer the same 404 as unknown ones.
- Errors ``{"error": {"code", "message"}}``: 401 ``unauthorized`` ("Invalid or missing
  API key in the X-API-Key header."); 404 ``vault_not_found`` / ``vault_item_not_found``
  with the documented message; unknown field ``vault_field_not_found`` (invented code);
  unknown route 404 ``not_found``, wrong method 405 ``method_not_allowed`` (no key
  needed). Fault-injected statuses without a body get ``{"error": {code, reason}}``;
  429 adds ``Retry-After: 1``.
- API key: ``rk_<12 hex>.<24 alphanumerics>`` when generated; a given key may be any
  non-empty string without spaces. One key, full read access to every vault (no scopes).
- Tampering and rollbacks are applied when serving (the stored data is always correctly
  signed): "items" redirects the first item's website in the listing and its detail;
  "signature" flips one bit of every served signature of the vault.
- Not emulated: writes, ``/me``, ``/wrapped-key``, ``/vault/sync``, ``/search``,
  ``/environment-fields``, ``projectId`` filtering, rate limiting.
"""

from .server import RunningR4Sandbox, start_r4_sandbox

__all__ = ["RunningR4Sandbox", "start_r4_sandbox"]
