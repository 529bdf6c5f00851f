"""Server-computed fields of a vault entry and its response rendering.

A *stored entry* is a dict holding every writable field, the server-managed fields
(``id``, ``workspace_id``, ...), and internal bookkeeping that is never exposed
(:data:`INTERNAL_FIELDS`). :func:`render` turns it into the API response object, in the
field order of the public docs; everything it computes depends only on the stored
entry (never on the current time), so the rendered JSON can be stored with the row.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.cloudcruise.countries import CITIES, cities
from app.cloudcruise.intervals import IntervalError, parse_interval

#: CloudCruise's default number SMS codes are routed to: "+1 415 753-4639" in the create
#: docs, returned in E.164 (docs/cloudcruise-api.md, "Two-factor").
TFA_PHONE_NUMBER = "+14157534639"
TFA_EMAIL_DOMAIN = "cloudcruise.com"
#: ports of assigned managed proxies (the docs' example: ``91.124.2.237:61234``)
PROXY_PORTS = (10000, 65536)

#: Response fields, in order: the documented list, then the SDK-only extras.
DOCUMENTED_FIELDS = (
    "id", "permissioned_user_id", "user_name", "password", "domain", "user_alias",
    "tfa_secret", "tfa_method", "tfa_email", "tfa_phone_number", "workspace_id", "user_id",
    "created_at", "updated_at", "session_storage", "local_storage", "cookies",
    "persist_local_storage", "persist_cookies", "persist_session_storage",
    "cookie_domain_to_store", "allow_multiple_sessions", "max_concurrency",
    "prevent_concurrency_during_login", "expiry_time_from_last_use",
    "expiry_time_from_session_data_set", "effective_expires_at", "session_data_set_at",
    "ip_address", "location", "proxy_string",
)  # fmt: skip
EXTRA_FIELDS = (
    "organization_id", "site_identifier", "skip_csrf_cookies", "user_agent", "session_id",
    "secret_provider_id", "secret_ref", "secret_cache_ttl_seconds", "proxy_setting",
    "proxy_value",
)  # fmt: skip
#: Present in a response only when the entry stores one.
OPTIONAL_FIELDS = ("proxy", "headers")
RESPONSE_FIELDS = DOCUMENTED_FIELDS + EXTRA_FIELDS + OPTIONAL_FIELDS

#: Stored for the emulator's own use; never part of a response.
INTERNAL_FIELDS = ("last_used_at", "simulated_inbox", "custom_proxy_endpoint")

#: Defaults of the writable fields for a new entry.
DEFAULTS: dict[str, Any] = {
    "user_name": None,
    "password": None,
    "user_alias": None,
    "tfa_secret": None,
    "tfa_method": None,
    "session_storage": {},
    "local_storage": {},
    "cookies": [],
    "persist_local_storage": False,
    "persist_cookies": False,
    "persist_session_storage": False,
    "cookie_domain_to_store": None,
    "allow_multiple_sessions": False,
    "max_concurrency": None,
    "prevent_concurrency_during_login": False,
    "expiry_time_from_last_use": None,
    "expiry_time_from_session_data_set": None,
    "ip_address": None,
    "location": None,
    "proxy_string": None,
    "skip_csrf_cookies": False,
    "user_agent": None,
    "session_id": None,
    "secret_provider_id": None,
    "secret_ref": None,
    "secret_cache_ttl_seconds": None,
    "proxy_setting": None,
    "proxy_value": None,
    "proxy": None,
    "headers": None,
}

#: Non-null fields that accept a JSON ``null`` (the JS SDK sends it): reset to this value.
NULL_RESETS: dict[str, Any] = {
    "persist_local_storage": False,
    "persist_cookies": False,
    "persist_session_storage": False,
}

SESSION_FIELDS = ("cookies", "local_storage", "session_storage")

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """``2026-11-22T19:06:59.123456Z`` (always microseconds, always UTC)."""
    return moment.astimezone(UTC).strftime(_TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- identifiers derived from the domain --------------------------------------------------
def hostname(domain: str) -> str:
    parts = urlsplit(domain)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def site_identifier(domain: str) -> str:
    """Hostname slug: ``https://portal.availity.com/x`` -> ``portal-availity-com``."""
    return re.sub(r"[^a-z0-9]+", "-", hostname(domain)).strip("-")


def tfa_email(permissioned_user_id: str, domain: str) -> str:
    return f"info+{permissioned_user_id}+{site_identifier(domain)}@{TFA_EMAIL_DOMAIN}"


# -- session expiry ---------------------------------------------------------------------
def has_session_data(entry: dict[str, Any]) -> bool:
    return any(entry.get(name) for name in SESSION_FIELDS)


def effective_expires_at(entry: dict[str, Any]) -> str | None:
    """Earliest of ``session_data_set_at + expiry_time_from_session_data_set`` and
    ``last use + expiry_time_from_last_use``; the last use is never earlier than the
    moment the session data was stored. Null without session data or intervals."""
    set_at = entry.get("session_data_set_at")
    if not set_at:
        return None
    base = parse_ts(set_at)
    candidates = []
    try:
        if entry.get("expiry_time_from_session_data_set"):
            candidates.append(base + parse_interval(entry["expiry_time_from_session_data_set"]))
        if entry.get("expiry_time_from_last_use"):
            last = entry.get("last_used_at")
            last_use = max(base, parse_ts(last)) if last else base
            candidates.append(last_use + parse_interval(entry["expiry_time_from_last_use"]))
    except IntervalError:
        return None
    return format_ts(min(candidates)) if candidates else None


# -- proxy assignment -------------------------------------------------------------------
_PUBLIC_FIRST_OCTETS = (
    23, 24, 34, 35, 38, 45, 50, 52, 54, 63, 64, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
    96, 97, 98, 99, 104, 107, 108, 138, 142, 146, 147, 154, 155, 157, 162, 165, 170, 173,
    174, 184, 185, 193, 194, 195, 206, 207, 208, 209, 212, 213, 216,
)  # fmt: skip
_RANDOM_LOCATIONS = (
    ("Ashburn", "US"), ("New York", "US"), ("Chicago", "US"), ("Dallas", "US"),
    ("Los Angeles", "US"), ("Seattle", "US"), ("Atlanta", "US"), ("Miami", "US"),
    ("Denver", "US"), ("Phoenix", "US"), ("Columbus", "US"), ("San Jose", "US"),
    ("Toronto", "CA"), ("Montreal", "CA"), ("London", "GB"), ("Frankfurt", "DE"),
    ("Amsterdam", "NL"), ("Paris", "FR"), ("Dublin", "IE"), ("Singapore", "SG"),
)  # fmt: skip


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def public_ip(rng: random.Random) -> str:
    while True:
        first = rng.choice(_PUBLIC_FIRST_OCTETS)
        candidate = f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if ipaddress.ip_address(candidate).is_global:
            return candidate


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def proxy_assignment(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(proxy_string, location)``: the proxy assigned for the entry's configuration, as
    ``ip:port`` (docs/cloudcruise-api.md, "Proxy fields"), and where it is.

    Deterministic per entry id and configuration. Without a configured proxy the
    client-stored values (if any) are returned unchanged. ``ip_address`` is not part of
    it: that is the deprecated legacy target IP, a stored field.
    """
    setting, value = entry.get("proxy_setting"), entry.get("proxy_value")
    legacy = entry.get("proxy")
    if not setting and isinstance(legacy, dict) and legacy.get("enable"):
        setting, value = (
            ("static", legacy["target_ip"]) if legacy.get("target_ip") else ("random", None)
        )
    if not setting:
        return entry.get("proxy_string"), entry.get("location")
    rng = _rng(entry["id"], setting, value)
    port = rng.randrange(*PROXY_PORTS)
    if setting == "random":
        city, cc = rng.choice(_RANDOM_LOCATIONS)
        return _host_port(public_ip(rng), port), f"{city}, {cc}"
    if setting == "static":
        city, cc = _rng("ip-location", value).choice(_RANDOM_LOCATIONS)
        return _host_port(str(value), port), f"{city}, {cc}"
    if setting == "country" and value in CITIES:
        return _host_port(public_ip(rng), port), f"{rng.choice(cities(value))}, {value}"
    if setting == "custom":
        endpoint = entry.get("custom_proxy_endpoint")
        if not endpoint:
            return None, None
        parts = urlsplit(endpoint)  # scheme://host:port, see custom_proxy_endpoint
        return _host_port(parts.hostname or "", parts.port or 0), None
    return None, None


def custom_proxy_endpoint(url: str) -> str:
    """``scheme://host:port`` of a proxy URL, credentials stripped, default port filled."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 1080)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


# -- rendering --------------------------------------------------------------------------
def render(entry: dict[str, Any]) -> dict[str, Any]:
    """The API response object for a stored entry."""
    proxy_string, location = proxy_assignment(entry)
    computed = {
        "site_identifier": site_identifier(entry["domain"]),
        "tfa_email": tfa_email(entry["permissioned_user_id"], entry["domain"]),
        "tfa_phone_number": TFA_PHONE_NUMBER if entry.get("tfa_method") == "SMS" else None,
        "effective_expires_at": effective_expires_at(entry),
        "proxy_string": proxy_string,
        "location": location,
    }
    out: dict[str, Any] = {}
    for name in RESPONSE_FIELDS:
        if name in OPTIONAL_FIELDS and entry.get(name) is None:
            continue
        out[name] = computed[name] if name in computed else entry.get(name)
    return out


def render_json(entry: dict[str, Any]) -> str:
    return json.dumps(render(entry), ensure_ascii=False, separators=(",", ":"))
