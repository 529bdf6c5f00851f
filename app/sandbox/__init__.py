"""Standalone emulator of the CloudCruise vault REST API (the "sandbox").

A separate Flask app with its own SQLite file, served on a real socket, that the
official SDK and the console's client can talk to like the real API
(``docs/cloudcruise-api.md`` is the wire reference).

Public API::

    start_sandbox(data, host="127.0.0.1", port=0, api_key=None, encryption_key=None,
                  seed=40, rate_limits=DEFAULT_RATE_LIMITS) -> RunningSandbox
    RunningSandbox: .base_url .api_key .encryption_key .generated_keys .faults .store
                    .rate_limiter .workspace .seeded .stop(); usable as a context manager
    FaultInjector: .add(kind, *, method, path, times, status, body, headers, delay, size)
                   .clear() .list()
    python -m app.sandbox --host H --port P [--api-key K] [--encryption-key HEX]
                          [--data FILE] [--seed N] [--no-rate-limit]

Sandbox-only control endpoints (authenticated with ``cc-key``, never faulted or rate
limited): ``POST/GET/DELETE /_sandbox/faults``, ``POST /_sandbox/email-codes``,
``DELETE /_sandbox/rate-limits`` (reset counters), ``GET /_sandbox/health`` (no key).

Modules: ``store`` (SQLite), ``workspace`` (keys and ids), ``api`` (routes),
``entries`` (create/update/delete rules), ``validation`` (per-field checks),
``computed`` (server-computed fields, rendering), ``tfa`` (codes, inboxes),
``seed``, ``faults``, ``ratelimit``, ``countries``, ``errors``, ``server``, ``__main__``.

Choices made where the public docs are silent (docs/cloudcruise-api.md)
----------------------------------------------------------------------
Workspace and auth

- One workspace per sandbox: one API key and one encryption key. ``workspace_id``,
  ``organization_id`` and the creating ``user_id`` are UUIDs made on the first start of a
  store and kept in it. The first process to create a store wins; keys passed
  explicitly replace the stored ones (old ciphertexts then no longer decrypt). A
  process reads the keys when it starts.
- Auth: ``cc-key: <key>``, or ``Authorization: Bearer <the same key>``; ``x-workspace-id``
  and ``X-CloudCruise-*`` are ignored. Missing/unknown key: 401
  ``{"statusCode":401,"error":"Unauthorized","message":"Unauthorized","code":"UNAUTHENTICATED"}``.
- Order of handling: fault injection, then rate limiting, then auth. Unknown routes
  (404 ``"Cannot GET /x"``) and wrong methods (405 with ``Allow``) answer without a key.

Status codes and bodies

- Errors use the NestJS shape ``{"statusCode","error","message"[,"code"]}``. Validation
  400s carry ``message`` as a list in which every item starts with the field it concerns
  (``cookies.0.name must be a string``); query-string 400s carry a plain string.
- ``GET /vault``: all entries as an array, oldest ``created_at`` first, no pagination.
  With both ``permissioned_user_id`` and ``domain``: the single object, or 404
  ``"Vault entry not found"``. With only one of them (or one empty): 400
  ``"Both permissioned_user_id and domain must be provided"``. Other query
  parameters are ignored.
- Matching on (permissioned_user_id, domain) is exact and case-sensitive; the domain is
  stored verbatim (no URL normalisation, a trailing slash makes a different domain).
- ``POST /vault``: 201 with the full entry. Duplicate pair: 409
  ``{"code":"VAULT_ENTRY_EXISTS"}``. An ``id`` in the body is ignored.
  ``user_name``/``password`` are optional.
- ``PUT /vault``: 200 with the full entry; a partial merge (omitted fields unchanged).
  With ``id`` (a UUID; ``"id": null`` counts as absent) the entry is found by id and the
  body's ``permissioned_user_id``/``domain`` rename it (a taken pair is 409). Without
  ``id`` both fields are required (400) and identify the entry. Missing: 404
  ``"Vault entry not found"``.
- ``DELETE /vault`` (JSON body): 200 ``{"success": true}``; 404 if missing; 400 if a field
  is missing. Recorded email codes of the entry are deleted with it.
- ``PATCH /vault/clear-browser-state``: 200 ``{"success": true}``; empties cookies and
  both storages, nulls ``session_data_set_at`` (hence ``effective_expires_at``), keeps the
  persist flags and expiry intervals, bumps ``updated_at``; 404 / 400 as for DELETE.
- Check order on POST/PUT: per-field 400, then 401 INVALID_ENCRYPTION, then the
  lookup (404), then cross-field 400, then the unique pair (409).
- Any body is parsed as JSON whatever its Content-Type; an empty body is ``{}``;
  invalid JSON is 400 ``"request body must be valid JSON"``; a body that is not an
  object is 400; bodies over 5 MB are 413. Never an HTML page or a 500 for bad input.

Validation

- Unknown properties: 400 ``"property <name> should not exist"`` (class-validator
  ``forbidNonWhitelisted``, as the backend does on /workflows). The server-computed
  fields (workspace_id, organization_id, site_identifier, created_at, updated_at,
  tfa_email, tfa_phone_number, session_data_set_at, effective_expires_at) are accepted
  and ignored. ``user_id``, ``user_agent``, ``location``, ``session_id``,
  ``proxy_string`` and ``headers`` (opaque array) are accepted and stored;
  ``ip_address``, the deprecated legacy target IP, must be an IP address (``""`` clears
  it).
- Null handling (see :mod:`app.sandbox.validation`): ``null`` is taken only where the
  docs give it a meaning, max_concurrency (unlimited) and the two intervals (no
  expiry), and by persist_* (as false; the JS SDK sends null). Any other field, an
  *encrypted* null (the JS SDK encrypts explicit nulls) included, is a 400
  "<field> must not be null: ...". Text fields clear with ``""``, browser state with
  ``[]`` / ``{}``, flags with ``false``; the credentials, tfa_method, proxy_setting
  and the provider binding have no documented way to be cleared.
- Defaults of a new entry: booleans false (``prevent_concurrency_during_login`` too),
  ``max_concurrency`` null (unlimited), no expiry intervals, empty session data.
- permissioned_user_id: any non-empty string of at most 255 characters (UUIDs not
  enforced).
- domain: an http(s) URL whose host is an IP literal or a name of at least two labels
  with an alphabetic TLD; ``localhost``, ``*.localhost``, ``*.local``, ``*.internal`` and
  ``*.localdomain`` are rejected (127.0.0.1 and other IPs are allowed, as the CLI docs
  say); credentials in the URL are rejected; paths, ports and queries are allowed.
- max_concurrency: integer >= 1 or null. secret_cache_ttl_seconds: integer >= 0.
  Booleans must be JSON booleans and integers JSON integers (not strings, floats or
  booleans).
- Intervals: PostgreSQL (``01:30:00``, ``7 days``, ``90 minutes``) or ISO 8601
  (``PT36H``), > 0 and <= 10 years, stored and returned in PostgreSQL's output style
  (``"7 days 00:00:00"`` -> ``"7 days"``, ``"PT36H"`` -> ``"1 day 12:00:00"``).
- Cookies: the Chrome-extension shape; name, value and domain required strings; path,
  sameSite and storeId strings; httpOnly, hostOnly, secure and session booleans;
  expirationDate a number. Extra cookie keys are kept as they are, not rejected.
- Encryption: user_name, password, tfa_secret and a custom proxy_value must decrypt
  (AES-256-GCM, then JSON) with the workspace key, else 401 ``INVALID_ENCRYPTION``
  "<field> is not encrypted with this workspace's encryption key" (raw, non-JSON
  ciphertexts included). A ciphertext of a non-string is 400. Ciphertexts are stored
  and returned verbatim.
- tfa_method AUTHENTICATOR needs a tfa_secret (in the body or stored) that decrypts to
  a base32 secret of at least 16 characters (80 bits); checked when tfa_method,
  tfa_secret or the provider binding is written. Provider-backed AUTHENTICATOR
  entries need none (the code comes from the 1Password item).
- Proxy: proxy_value needs proxy_setting; changing proxy_setting without sending
  proxy_value drops the old value; random: no proxy_value; static: any IPv4/IPv6
  address; country: an upper-case ISO 3166-1 alpha-2 code from the full list; custom:
  an encrypted http/https/socks4/socks5/socks5h URL with a host. SSRF check on custom:
  IP literals that are not globally routable (loopback, private, link-local,
  documentation, ...) and local names are 400 "proxy_value must not point to a
  private or loopback address"; host names are not resolved.
- Legacy ``proxy``: ``{enable: bool, target_ip?: IP}``, other keys rejected; returned only
  when stored.
- Providers: secret_provider_id and secret_ref together; the provider must exist and
  the ref be one of its items (400); direct credentials on a provider-backed entry are
  400; binding a provider on PUT clears the stored credentials; secret_cache_ttl_seconds
  needs the provider fields. Unbinding would take nulls, which are refused.

Computed fields

- Response field order: the documented list, then organization_id, site_identifier,
  skip_csrf_cookies, user_agent, session_id, secret_provider_id, secret_ref,
  secret_cache_ttl_seconds, proxy_setting, proxy_value, then ``proxy`` and ``headers``
  only when stored. Internal bookkeeping (last_used_at, simulated inbox, the custom
  proxy endpoint) is never exposed.
- All timestamps are UTC ISO-8601 with microseconds and ``Z``
  (``2026-11-22T19:06:59.123456Z``); ``updated_at`` changes on every successful PUT and
  clear-browser-state.
- site_identifier: the lower-case hostname (plus port, if any) with every run of
  non-alphanumerics replaced by ``-`` (``portal-availity-com``, ``127-0-0-1-8080``).
  tfa_email: ``info+{permissioned_user_id}+{site_identifier}@cloudcruise.com`` with the
  id verbatim. tfa_phone_number: CloudCruise's default number, ``+14157534639`` (the
  docs' "+1 415 753-4639" in E.164), when tfa_method is SMS, else null.
- session_data_set_at: set to now by a write that stores non-empty cookies or
  storage; a write leaving all three empty clears it; other writes keep it.
- effective_expires_at: null without session data or without intervals; else the
  earlier of ``session_data_set_at + expiry_time_from_session_data_set`` and
  ``last use + expiry_time_from_last_use``, where the last use is the internal
  last_used_at (seeded; the sandbox runs no agents) but never earlier than
  session_data_set_at.
- proxy_string / location (the assigned proxy), deterministic per entry id and
  setting; ``proxy_string`` is ``ip:port`` as the docs show (``[ip]:port`` for IPv6),
  the port pseudo-random in 10000-65535: random -> a pseudo-random public IP and a
  "City, CC"; static -> the static IP and a pseudo-location derived from it (no GeoIP);
  country -> a public IP and a city in that country; custom -> the proxy URL's
  ``host:port`` (credentials and scheme stripped, default port 80/443/1080; a host
  name stays a name: the sandbox resolves nothing), no location; an enabled legacy
  proxy acts as static (target_ip) or random. Without a proxy, client-sent values are
  returned. ``ip_address`` is not computed: it is the stored legacy target IP.
- user_id: the workspace's creating user unless the client sets it.

2FA codes

- ``GET /vault/tfa-code`` (``Cache-Control: no-store``): missing parameter 400 "Both
  permissioned_user_id and domain are required"; missing entry 404. AUTHENTICATOR:
  RFC 6238 (SHA-1, 6 digits, 30 s) from the decrypted secret,
  ``expires_in_seconds = 30 - now % 30`` (1..30). EMAIL: the latest code received in the
  last 10 minutes, else 404 "No fresh 2FA code has been received". SMS, MAGIC_LINK,
  no method, or a stored secret the key cannot decrypt: 409 ``TFA_NOT_AVAILABLE``
  saying why.
- Simulated inboxes (some seeded EMAIL entries) receive a code every 5 minutes:
  HMAC(entry id, slot), received 3-17 s after the slot starts. ``POST
  /_sandbox/email-codes {permissioned_user_id, domain, code}`` records a code received
  now (201; any tfa_method; 404 for a missing entry).

Secret providers

- Read-only, seeded: "Engineering 1Password" with 10 items in vaults "Engineering" and
  "RCM Shared" (refs ``op://<vault>/<item id>``), and "Finance 1Password" with none.
  ``config_hint`` is ``{service_account, token_last4}``. Unknown provider: 404 "Secret
  provider not found".

Rate limits and faults

- Sliding windows (default 500/1 s, 1,000/15 s, 2,000/60 s), in memory per process:
  processes sharing a store file do not share counters. Counted per API key; requests
  without a valid key per remote IP. Rejected requests are not counted. 429 body as
  documented with ``Retry-After`` (whole seconds, >= 1); ``X-RateLimit-Limit``,
  ``-Remaining`` and ``-Reset`` (seconds until the oldest counted request leaves the
  window) are sent on every limited-path response, for the window with least room.
- Faults apply before auth and rate limiting (a faulted request is not counted), in
  order of addition, to every path except ``/_sandbox/*``; a status fault's default body
  is the NestJS body for that status (429 also gets ``Retry-After: 1`` and the rate-limit
  fields).

Seed

- ``--seed N`` entries only on the first start of a store (even ``N = 0`` marks it
  seeded); providers are always seeded then. Entry ``i`` is a pure function of ``i``
  (same N, same ids, names and plaintext secrets; a bigger N extends a smaller one);
  timestamps are relative to the seeding time and ciphertexts use fresh IVs.
"""

from .faults import FaultInjector
from .server import RunningSandbox, start_sandbox

__all__ = ["FaultInjector", "RunningSandbox", "start_sandbox"]
