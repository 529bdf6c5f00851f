"""Standalone emulator of the Qoder Cloud Agents vaults API (``/api/v1/cloud``).

A small Flask app with its own SQLite file, served on a real socket, built like the
CloudCruise sandbox (``app.sandbox``) and reusing its :class:`FaultInjector`. Wire
reference: ``docs/qoder-api.md`` (G2 list semantics; the credential
and vault shapes of G2 "flat" or G3 "nested" on a switch).

Public API::

    start_qoder_sandbox(data, host="127.0.0.1", port=0, pat=None, shape="nested",
                        seed=True, limit_over_100="error") -> RunningQoderSandbox
    RunningQoderSandbox: .base_url (http://host:port/api/v1/cloud) .root_url .pat
                         .generated_pat .faults .settings .shape (settable)
                         .limit_over_100 (settable) .store .seeded .stop();
                         usable as a context manager
    python -m app.sandbox.qoder --host H --port P [--pat T] [--data FILE]
                                [--shape flat|nested] [--limit-over-100 error|cap]
                                [--no-seed]
        prints QODER_BASE_URL=... and, for a generated token, QODER_PAT=...

Endpoints (under ``/api/v1/cloud``): ``GET/POST /vaults``, ``GET/DELETE /vaults/{id}``,
``POST /vaults/{id}/archive``, ``GET/POST /vaults/{id}/credentials``,
``GET/POST/DELETE /vaults/{id}/credentials/{cid}`` (POST: G3 *Update credential*),
``POST /vaults/{id}/credentials/{cid}/archive``.

Sandbox-only control endpoints (Bearer PAT, never faulted): ``POST/GET/DELETE
/_sandbox/faults`` (same fields and kinds as the CloudCruise sandbox: status, latency,
malformed, content_type, oversized, drop, slow_read), ``GET/PATCH /_sandbox/settings``
(``shape``, ``limit_over_100``), ``GET /_sandbox/health`` (no token).

Choices made where the docs are silent or disagree
--------------------------------------------------
Auth

- ``Authorization: Bearer <PAT>`` only, compared in constant time. Missing, wrong or
  non-Bearer: 401 ``authentication_error`` "Invalid API key or token." (the
  ``TOKEN_INVALID`` variant of the English pages is not used). ``x-api-key`` instead of
  a bearer token: 401 saying so. ``qoder-workspace-id``, ``x-qoder-beta`` are ignored.
- The PAT is ``qpat_`` + 40 URL-safe characters when generated, kept in the store's
  ``meta`` table; a PAT passed explicitly is stored and replaces it. The first process
  to create a store wins.
- Order: fault injection, then routing (unknown route 404 ``not_found_error``, wrong
  method 405 ``invalid_request_error`` with ``Allow``, both without a token), then auth.

Shapes (``shape``; per process, switchable while serving)

- ``nested`` (G3, default): credential ``{id, type:"vault_credential", vault_id,
  auth{type, mcp_server_url | secret_name+networking[+injection_location],
  [expires_at, refresh{client_id, token_endpoint, scope, token_endpoint_auth{type}}]},
  display_name:null, metadata, archived_at (null when active), created_at,
  updated_at}``; vault ``{id, type:"vault", display_name, metadata, archived_at (null
  when active), created_at, updated_at}`` with **no** ``status``.
- ``flat`` (G2): credential ``{id, vault_id, mcp_server_url, protocol, type, status,
  [archived_at], created_at, updated_at}``; vault ``{id, type:"vault", display_name,
  status, metadata, [archived_at], created_at, updated_at}``; ``archived_at`` only when
  archived. ``environment_variable`` credentials (not part of G2) are still listed in
  the flat shape, as ``mcp_server_url: null, secret_name, protocol: null``, so both
  shapes list the same credentials.
- The shape applies to every response, including create and archive.

Lists

- Order: **newest first** (descending ID; IDs are time-ordered, so this is descending
  ``created_at``). Envelope ``{data, first_id, last_id, has_more}``; an empty page is
  ``first_id: null, last_id: null, has_more: false``.
- ``limit``: default 20; not an integer or < 1: 400 (``param: "limit"``); > 100: 400
  ``invalid_request_error`` (``limit_over_100="error"``, the newer G3 text) or served as
  100 (``"cap"``, the conventions page).
- Cursors: ``after_id`` (alias ``after``, and G3's ``page``) returns the items that
  follow the cursor in list order (older); ``before_id`` (alias ``before``) returns the
  ``limit`` items that immediately precede it (newer), still newest first. More than
  one cursor parameter: 400 naming the last one. ``has_more`` says whether more items
  exist beyond the page *in the direction of travel* (after ``last_id`` for forward and
  first pages, before ``first_id`` for ``before_id``). Cursors are compared, not looked
  up: a deleted, archived or filtered-out ID is still a valid position; a value that is
  not a ``vault_``/``vcred_`` ID of the listed kind is 400. The aliases work on both
  lists. No ``next_page`` field is returned.
- Filters: ``include_archived`` (``true``/``1``/``false``/``0``, else 400; archived
  items hidden by default); ``name`` is a case-insensitive substring of the vault's
  display name, or of the credential's MCP server URL (the secret name for
  ``environment_variable``); ``created_at[gte]`` / ``created_at[lte]`` are inclusive,
  parsed by ``datetime.fromisoformat`` (RFC 3339; no offset means UTC), else 400 with
  ``param`` set to the parameter name. Unknown query parameters are ignored (the G1
  ``status`` filter is not emulated).
- Credentials of an archived vault can still be read and listed; an unknown vault is
  404 before any query parameter is validated.

Writes

- ``POST /vaults`` (201): ``display_name`` (required, at most 255), ``metadata`` (string
  values, at most 16 keys), optional ``credentials[]`` in the flat G2 body; the answer
  carries ``credentials`` (the ones created). ``POST .../archive`` on an archived
  vault: 409 ``conflict_error`` "This vault is already archived."; archiving a vault
  leaves its credentials' status unchanged. ``DELETE /vaults/{id}``: 200
  ``{"id","type":"vault_deleted"}`` (G3), credentials deleted with it.
- ``POST .../credentials`` (201) takes the flat G2 body (``mcp_server_url``,
  ``protocol`` = ``streamable_http``|``sse``, ``type`` = ``static_bearer``|``mcp_oauth``,
  ``access_token``; missing token: "Field 'access_token' is required for static_bearer
  type.") or the nested G3 body (``auth`` with ``static_bearer{mcp_server_url, token}``,
  ``mcp_oauth{mcp_server_url, access_token, expires_at?, refresh?}`` or
  ``environment_variable{secret_name, secret_value, networking, injection_location?}``);
  ``display_name`` is accepted and not kept (always null). Check order: vault 404, body
  400, archived vault 409, then a second *active* credential for the same MCP server URL
  (or secret name) in the vault: 409.
- ``POST .../credentials/{cid}/archive``: 200; already archived: 409 ``conflict_error``
  "This credential is already archived.". ``DELETE``: 200
  ``{"id","type":"vault_credential_deleted"}``. Archiving sets ``archived_at`` and bumps
  ``updated_at``. There is no unarchive; OAuth validation is not emulated (405).
- ``POST .../credentials/{cid}`` (G3 *Update credential*, whatever the ``shape``): a
  merge patch; 200 with the credential. Check order: vault 404, credential 404, body 400,
  archived credential 409 ``conflict_error`` "Archived credentials cannot be updated." (the
  docs say only that the credential must be active). Neither ``auth`` nor ``metadata``:
  400 (as the Forward API twin documents). ``auth.type`` is required and must equal the
  credential's type; static_bearer may change ``token``, mcp_oauth ``access_token``,
  ``expires_at`` (null clears) and, if it has one, ``refresh.refresh_token`` / ``scope`` /
  ``token_endpoint_auth``, environment_variable ``secret_value``; naming
  ``mcp_server_url``, ``secret_name``, ``refresh.client_id`` or ``refresh.token_endpoint``,
  or adding a ``refresh`` block, is 400 with that ``param``. ``metadata`` merges (a null
  value removes the key, ``"metadata": null`` empties it; limits as on create). New
  secrets only change the stored digest; ``updated_at`` is bumped.
- Secrets (``access_token``, ``token``, ``refresh_token``, ``client_secret``,
  ``secret_value``) are accepted on create, never stored (only a SHA-256 digest) and
  never returned.
- Bodies are parsed as JSON whatever the Content-Type; empty means ``{}``; invalid JSON
  or a non-object: 400; over 32 MB: 400 ``invalid_request_error``. Unknown body fields
  are ignored.

Identifiers and time

- ``vault_`` / ``vcred_`` + 32 lower-case hex in the UUIDv7 layout (48-bit Unix ms,
  version 7, 12 bits of sub-millisecond time, variant, random). A per-store clock makes
  IDs and ``created_at`` strictly increasing, also across processes sharing the file.
- Timestamps: RFC 3339 UTC with microseconds and ``Z`` (``2026-05-18T15:34:35.387093Z``).
- Every response carries a ``request-id: req_<24 hex>`` header.

Faults

- Same kinds and control fields as the CloudCruise sandbox; faults apply before
  routing and auth, to every path except ``/_sandbox/*``, in order of addition. A
  ``status`` fault without a body answers the Qoder error envelope for that status
  (429 also gets ``Retry-After: 1``).

Seed

- On the first start of a store (unless ``seed=False`` / ``--no-seed``, which leaves it
  unseeded): 6 vaults (one archived, one empty), 62 credentials, deterministic IDs and
  timestamps (March-April 2026); see :mod:`app.sandbox.qoder.seed`.

Modules: ``store`` (SQLite, IDs, time), ``resources`` (body validation, rendering),
``service`` (operations, list parameters), ``api`` (routes, faults), ``seed``,
``errors``, ``server``, ``__main__``.
"""

from .server import RunningQoderSandbox, start_qoder_sandbox

__all__ = ["RunningQoderSandbox", "start_qoder_sandbox"]
