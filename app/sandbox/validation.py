"""Request-body validation in the style of NestJS ``ValidationPipe`` + class-validator.

:func:`check_entry_body` checks each property on its own (type, enum, format) and
returns the cleaned changes; every problem becomes one message that starts with the
property it concerns (``"max_concurrency must not be less than 1"``), all of them are
reported together as a 400. Checks that need the stored entry, the workspace key or
the provider list live in :mod:`app.sandbox.entries`; the value checks they use are
here.

``null``, the same on POST and PUT (docs/cloudcruise-api.md, "Null on update"): the
docs give it a meaning for three fields only, ``max_concurrency`` (unlimited) and the two
expiry intervals (no expiry), and those take it. The ``persist_*`` flags take it too, as
false: the JS SDK sends null there. Every other field answers 400 "<field> must not be
null: ..." (the credentials, ``tfa_method``, the proxy and provider fields included),
so the sandbox catches a client that relies on an undocumented null. An *encrypted*
null (the JS SDK encrypts explicit nulls) is refused the same way. ``id: null`` counts
as absent; the server-computed fields are ignored whatever their value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from app.cloudcruise.countries import COUNTRY_CODES
from app.cloudcruise.intervals import IntervalError, format_interval, parse_interval

from .errors import bad_request

TFA_METHODS = ("AUTHENTICATOR", "EMAIL", "SMS", "MAGIC_LINK")
PROXY_SETTINGS = ("random", "static", "country", "custom")
PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")
ENCRYPTED_FIELDS = ("user_name", "password", "tfa_secret")

#: Accepted on input and ignored: the server computes them.
IGNORED_FIELDS = frozenset(
    {
        "workspace_id",
        "organization_id",
        "site_identifier",
        "created_at",
        "updated_at",
        "tfa_email",
        "tfa_phone_number",
        "session_data_set_at",
        "effective_expires_at",
    }
)

NULL_PROBLEM = (
    "must not be null: the API documents null only for max_concurrency, "
    "expiry_time_from_last_use and expiry_time_from_session_data_set"
)

MAX_ID_LENGTH = 255
MAX_DOMAIN_LENGTH = 2048
MAX_STRING_LENGTH = 4096
MAX_CIPHERTEXT_LENGTH = 65536
#: 16 base32 characters = 80 bits, the shortest secret authenticator apps commonly accept.
MIN_TOTP_SECRET_CHARS = 16

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")

Problems = list[str]
Checker = Callable[[str, Any], tuple[Any, Problems]]


# -- scalar checkers: (field, value) -> (cleaned value, problems) -------------------------
def _string(max_length: int = MAX_STRING_LENGTH) -> Checker:
    def check(field: str, value: Any) -> tuple[Any, Problems]:
        if not isinstance(value, str):
            return value, [f"{field} must be a string"]
        if len(value) > max_length:
            return value, [f"{field} must be shorter than or equal to {max_length} characters"]
        return value, []

    return check


def _identifier(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, str):
        return value, [f"{field} must be a string"]
    if not value.strip():
        return value, [f"{field} should not be empty"]
    if len(value) > MAX_ID_LENGTH:
        return value, [f"{field} must be shorter than or equal to {MAX_ID_LENGTH} characters"]
    return value, []


def _boolean(field: str, value: Any) -> tuple[Any, Problems]:
    if isinstance(value, bool):
        return value, []
    return value, [f"{field} must be a boolean value"]


def _integer(minimum: int) -> Checker:
    def check(field: str, value: Any) -> tuple[Any, Problems]:
        if type(value) is not int:
            return value, [f"{field} must be an integer number"]
        if value < minimum:
            return value, [f"{field} must not be less than {minimum}"]
        return value, []

    return check


def _enum(values: tuple[str, ...]) -> Checker:
    def check(field: str, value: Any) -> tuple[Any, Problems]:
        if value in values:
            return value, []
        return value, [f"{field} must be one of the following values: {', '.join(values)}"]

    return check


def _interval(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, str):
        return value, [f"{field} must be a string (a PostgreSQL interval such as 01:30:00)"]
    try:
        return format_interval(parse_interval(value)), []
    except IntervalError as exc:
        return value, [f"{field} must be a valid PostgreSQL interval: {exc}"]


def _object(field: str, value: Any) -> tuple[Any, Problems]:
    if isinstance(value, dict):
        return value, []
    return value, [f"{field} must be an object"]


def _array(field: str, value: Any) -> tuple[Any, Problems]:
    if isinstance(value, list):
        return value, []
    return value, [f"{field} must be an array"]


def _entry_id(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, str):
        return value, [f"{field} must be a UUID"]
    try:
        uuid.UUID(value)
    except ValueError:
        return value, [f"{field} must be a UUID"]
    return value, []


def _domain(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, str):
        return value, [f"{field} must be a string"]
    problem = domain_problem(value)
    return value, [f"{field} {problem}"] if problem else []


_COOKIE_STRINGS = ("name", "value", "domain")
_COOKIE_OPTIONAL_STRINGS = ("path", "sameSite", "storeId")
_COOKIE_BOOLEANS = ("httpOnly", "hostOnly", "secure", "session")


def _cookies(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, list):
        return value, [f"{field} must be an array"]
    problems: Problems = []
    for i, cookie in enumerate(value):
        where = f"{field}.{i}"
        if not isinstance(cookie, dict):
            problems.append(f"{where} must be an object")
            continue
        for key in _COOKIE_STRINGS:
            if not isinstance(cookie.get(key), str):
                problems.append(f"{where}.{key} must be a string")
        for key in _COOKIE_OPTIONAL_STRINGS:
            if cookie.get(key) is not None and not isinstance(cookie[key], str):
                problems.append(f"{where}.{key} must be a string")
        for key in _COOKIE_BOOLEANS:
            if cookie.get(key) is not None and not isinstance(cookie[key], bool):
                problems.append(f"{where}.{key} must be a boolean value")
        expiry = cookie.get("expirationDate")
        if expiry is not None and (isinstance(expiry, bool) or not isinstance(expiry, int | float)):
            problems.append(f"{where}.expirationDate must be a number")
    return value, problems


def _legacy_proxy(field: str, value: Any) -> tuple[Any, Problems]:
    if not isinstance(value, dict):
        return value, [f"{field} must be an object"]
    problems = [f"{field}.property {k} should not exist" for k in value if k not in _PROXY_KEYS]
    if not isinstance(value.get("enable"), bool):
        problems.append(f"{field}.enable must be a boolean value")
    target = value.get("target_ip")
    if target is not None and not is_ip(target):
        problems.append(f"{field}.target_ip must be an ip address")
    cleaned = {"enable": value.get("enable")}
    if target is not None:
        cleaned["target_ip"] = target
    return cleaned, problems


_PROXY_KEYS = ("enable", "target_ip")


def _ip_address(field: str, value: Any) -> tuple[Any, Problems]:
    """The deprecated legacy target IP: an IP address; ``""`` clears it."""
    if value == "":
        return None, []
    if not is_ip(value):
        return value, [f"{field} must be an ip address"]
    return value, []


#: Writable properties that take ``null``: the three the docs give a meaning (unlimited,
#: no expiry), the ``persist_*`` flags (the JS SDK sends null; stored as false) and ``id``
#: (null: not given).
NULLABLE = frozenset(
    {
        "max_concurrency",
        "expiry_time_from_last_use",
        "expiry_time_from_session_data_set",
        "persist_cookies",
        "persist_local_storage",
        "persist_session_storage",
        "id",
    }
)

#: Every writable property and its checker (never called with ``null``).
WRITABLE: dict[str, Checker] = {
    "id": _entry_id,
    "permissioned_user_id": _identifier,
    "domain": _domain,
    "user_name": _string(MAX_CIPHERTEXT_LENGTH),
    "password": _string(MAX_CIPHERTEXT_LENGTH),
    "tfa_secret": _string(MAX_CIPHERTEXT_LENGTH),
    "tfa_method": _enum(TFA_METHODS),
    "user_alias": _string(),
    "persist_cookies": _boolean,
    "persist_local_storage": _boolean,
    "persist_session_storage": _boolean,
    "cookies": _cookies,
    "local_storage": _object,
    "session_storage": _object,
    "cookie_domain_to_store": _string(),
    "skip_csrf_cookies": _boolean,
    "allow_multiple_sessions": _boolean,
    "max_concurrency": _integer(1),
    "prevent_concurrency_during_login": _boolean,
    "expiry_time_from_last_use": _interval,
    "expiry_time_from_session_data_set": _interval,
    "proxy": _legacy_proxy,
    "proxy_setting": _enum(PROXY_SETTINGS),
    "proxy_value": _string(MAX_CIPHERTEXT_LENGTH),
    "secret_provider_id": _string(MAX_ID_LENGTH),
    "secret_ref": _string(),
    "secret_cache_ttl_seconds": _integer(0),
    "user_id": _string(MAX_ID_LENGTH),
    "user_agent": _string(),
    "location": _string(),
    "ip_address": _ip_address,
    "session_id": _string(),
    "headers": _array,
    "proxy_string": _string(),
}


def check_entry_body(body: Any, *, require_identity: bool) -> dict[str, Any]:
    """Validate a POST/PUT body; return the writable properties it sets (cleaned).

    ``require_identity``: ``permissioned_user_id`` and ``domain`` must be present.
    Raises a 400 :class:`~app.sandbox.errors.ApiError` listing every problem.
    """
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    problems: Problems = []
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name in IGNORED_FIELDS:
            continue
        checker = WRITABLE.get(name)
        if checker is None:
            problems.append(f"property {name} should not exist")
            continue
        if value is None:
            if name not in NULLABLE:
                problems.append(f"{name} {NULL_PROBLEM}")
            changes[name] = None
            continue
        cleaned, found = checker(name, value)
        problems.extend(found)
        changes[name] = cleaned
    if changes.get("id") is None:
        changes.pop("id", None)
    if require_identity:
        for name in ("permissioned_user_id", "domain"):
            if name not in body:
                problems.append(f"{name} must be a string")
                problems.append(f"{name} should not be empty")
    if problems:
        raise bad_request(problems)
    return changes


def require_pair(body: Any, message: str) -> tuple[str, str]:
    """``(permissioned_user_id, domain)`` from a DELETE/PATCH body, or a 400."""
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    problems: Problems = []
    for name in ("permissioned_user_id", "domain"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            problems.append(f"{name} {message}")
    if problems:
        raise bad_request(problems)
    return body["permissioned_user_id"], body["domain"]


# -- value checks shared with the entry rules ---------------------------------------------
def is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _hostname_ok(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return (
        len(labels) >= 2 and all(_LABEL.match(x) for x in labels) and bool(_TLD.match(labels[-1]))
    )


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".")
    return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)


def domain_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable vault domain (an http(s) URL), or None."""
    if not value.strip():
        return "should not be empty"
    if len(value) > MAX_DOMAIN_LENGTH:
        return f"must be shorter than or equal to {MAX_DOMAIN_LENGTH} characters"
    if any(ch.isspace() for ch in value):
        return "must be a URL address"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "must be a URL address"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be a URL address with the http or https protocol"
    host = (parts.hostname or "").lower()
    if not host:
        return "must be a URL address"
    if parts.username is not None or parts.password is not None:
        return "must not contain a username or password"
    if _is_local_name(host):
        return "must not be localhost; use http://127.0.0.1:<port> instead"
    if is_ip(host) or _hostname_ok(host):
        return None
    return "must be a URL address"


def country_problem(value: Any) -> str | None:
    if isinstance(value, str) and value in COUNTRY_CODES:
        return None
    return (
        "proxy_value must be an ISO 3166-1 alpha-2 country code in upper case (e.g. US) "
        "when proxy_setting is country"
    )


def custom_proxy_problem(url: Any) -> str | None:
    """Why a decrypted custom proxy URL is not acceptable (format or SSRF), or None."""
    if not isinstance(url, str) or any(ch.isspace() for ch in url):
        return "proxy_value must decrypt to a proxy URL such as socks5://user:pass@host:1080"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return "proxy_value must be a proxy URL with a valid port"
    if parts.scheme.lower() not in PROXY_SCHEMES:
        return f"proxy_value must be a proxy URL with scheme {', '.join(PROXY_SCHEMES)}"
    host = (parts.hostname or "").lower()
    if not host:
        return "proxy_value must be a proxy URL with a host"
    if _is_local_name(host):
        return "proxy_value must not point to a private or loopback address"
    if is_ip(host):
        if not ipaddress.ip_address(host).is_global:
            return "proxy_value must not point to a private or loopback address"
        return None
    if not _hostname_ok(host):
        return "proxy_value must be a proxy URL with a valid host name"
    return None


def totp_secret_ok(secret: Any) -> bool:
    """True for a base32 secret of at least 80 bits (spaces, lower case tolerated)."""
    if not isinstance(secret, str):
        return False
    cleaned = secret.replace(" ", "").upper().rstrip("=")
    if len(cleaned) < MIN_TOTP_SECRET_CHARS or not re.fullmatch(r"[A-Z2-7]+", cleaned):
        return False
    try:
        return bool(base64.b32decode(cleaned + "=" * (-len(cleaned) % 8)))
    except (binascii.Error, ValueError):
        return False
