"""Validation rules for vault entry fields, shared by the create form and inline editing.

Each rule takes what the operator typed and returns the value to send, or raises
:class:`RuleError` with a message meant to sit beside that field. :func:`cross_field`
checks combinations. The rules mirror what the real API enforces (docs/cloudcruise-api.md)
so bad input is caught here, with a specific message, before anything is sent upstream;
tests/test_rules_agree_with_sandbox.py checks that they never accept what the sandbox's
own validation refuses.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.cloudcruise.countries import COUNTRY_CODES
from app.cloudcruise.intervals import IntervalError, format_interval, parse_interval

TFA_METHODS = ("AUTHENTICATOR", "EMAIL", "SMS", "MAGIC_LINK")
PROXY_MODES = ("random", "static", "country", "custom")
PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")
MAX_ID = 255
MAX_TEXT = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BASE32 = re.compile(r"^[A-Z2-7]+=*$")


class RuleError(ValueError):
    """The value is not acceptable; ``str(exc)`` is the message for the operator."""


def _text(value: Any, *, max_len: int = MAX_TEXT, what: str = "This value") -> str:
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise RuleError(f"{what} contains control characters.")
    if len(text) > max_len:
        raise RuleError(f"{what} is too long (at most {max_len} characters).")
    return text


def permissioned_user_id(value: Any) -> str:
    text = _text(value, max_len=MAX_ID, what="The permissioned user id").strip()
    if not text:
        raise RuleError("Enter the permissioned user id workflows use for this credential.")
    return text


#: a scheme already typed (``mailto:``, ``ftp://``), as opposed to a host and port
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")


def domain(value: Any) -> str:
    """A valid http(s) URL with a real host: an IP address or a public host name (labels
    of letters, digits and inner hyphens, an alphabetic top-level domain). ``localhost``
    and internal names are rejected as the API does, and so are credentials in the URL.

    A bare host (``portal.example.com``, ``203.0.113.7:8443/login``) gets ``https://``
    in front: the value returned (and sent) is the full URL."""
    text = _text(value, max_len=2048, what="The domain").strip()
    if not text:
        raise RuleError("Enter the domain, a URL such as https://portal.example.com.")
    if any(ch.isspace() for ch in text):
        raise RuleError("The domain must not contain spaces.")
    if "://" not in text and not text.startswith("/") and not _SCHEME.match(text):
        text = "https://" + text
        if len(text) > 2048:
            raise RuleError("The domain is too long (at most 2048 characters).")
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise RuleError("The domain URL has an invalid host name.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RuleError("The domain must be a full URL starting with https:// (or http://).")
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise RuleError("The domain has an invalid port.") from None
    if not host:
        raise RuleError("The domain URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise RuleError("The domain must not contain a username or password (user:pw@).")
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise RuleError("localhost is rejected by CloudCruise; use http://127.0.0.1:<port>.")
    if name.endswith(_INTERNAL_SUFFIXES):
        raise RuleError(
            f"“{host}” is an internal name, which CloudCruise rejects; use the site's public "
            "host name or IP address."
        )
    if not _is_ip(host):
        problem = _host_name_problem(name)
        if problem is not None:
            raise RuleError(f"“{host}” is not a valid host name{problem}.")
    return text


def _host_name_problem(name: str) -> str | None:
    """Why ``name`` is not a public DNS name (a suffix for the message: ``""`` for the
    plain message), or None."""
    labels = name.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]*", label) for label in labels):
        return ""
    if not all(labels):
        return ": it has an empty part between dots"
    long = next((label for label in labels if len(label) > 63), None)
    if long is not None:
        return ": a part between dots is longer than 63 characters"
    edge = next((label for label in labels if label[0] == "-" or label[-1] == "-"), None)
    if edge is not None:
        return f": a part cannot start or end with a hyphen (“{edge}”)"
    if not _TOP_LABEL.match(labels[-1]):
        return (
            f": “{labels[-1]}” is not a top-level domain; give a full name such as "
            "portal.example.com, or an IP address written in full"
        )
    return None


def alias(value: Any) -> str | None:
    text = _text(value, max_len=MAX_ID, what="The alias").strip()
    return text or None


def plain_text(value: Any, what: str = "This value", max_len: int = MAX_TEXT) -> str | None:
    text = _text(value, max_len=max_len, what=what).strip()
    return text or None


def secret_text(value: Any, what: str) -> str | None:
    """Usernames and passwords: kept exactly as typed (no trimming), empty = not given."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        raise RuleError(f"The {what} contains a NUL character.")
    if len(text) > MAX_TEXT:
        raise RuleError(f"The {what} is too long (at most {MAX_TEXT} characters).")
    return text or None


def _choice(value: Any, allowed: tuple[str, ...], message: str) -> str | None:
    """One of ``allowed``; empty or "none" means not set."""
    text = (value or "").strip()
    if not text or text == "none":
        return None
    if text not in allowed:
        raise RuleError(message)
    return text


def tfa_method(value: Any) -> str | None:
    return _choice(value, TFA_METHODS, "Choose authenticator app, email, SMS, magic link or none.")


def tfa_secret(value: Any) -> str | None:
    """Base32 TOTP secret; spaces and dashes are dropped, an ``otpauth://`` URI is accepted."""
    text = _text(value, what="The TFA secret").strip()
    if not text:
        return None
    if text.lower().startswith("otpauth://"):
        secret = parse_qs(urlsplit(text).query).get("secret", [""])[0]
        if not secret:
            raise RuleError("That otpauth:// link has no secret= parameter.")
        text = secret
    cleaned = re.sub(r"[\s-]", "", text).upper()
    if not _BASE32.match(cleaned):
        raise RuleError("The TFA secret must be base32: letters A–Z and digits 2–7.")
    unpadded = cleaned.rstrip("=")
    if len(unpadded) < 16:
        raise RuleError("The TFA secret is too short: authenticator secrets have 16+ characters.")
    try:
        base64.b32decode(unpadded + "=" * (-len(unpadded) % 8))
    except (binascii.Error, ValueError):
        raise RuleError("The TFA secret is not valid base32.") from None
    return unpadded


def interval(value: Any) -> str | None:
    """A PostgreSQL interval, normalised; empty means no expiry."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        delta = parse_interval(text)
    except IntervalError as exc:
        raise RuleError(str(exc)) from None
    if not delta:  # below a microsecond: would be sent as 00:00:00, a zero interval
        raise RuleError("The interval must be at least one microsecond.")
    return format_interval(delta)


def max_concurrency(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # unlimited
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RuleError("Enter a whole number of sessions, or leave empty for unlimited.") from None
    if number < 1:
        raise RuleError("Allow at least 1 concurrent session (or leave empty for unlimited).")
    if number > 10_000:
        raise RuleError("That is more sessions than CloudCruise can run; use at most 10000.")
    return number


def ttl_seconds(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RuleError("Enter the cache time in whole seconds.") from None
    if number < 0:
        raise RuleError("The cache time cannot be negative.")
    return number


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def legacy_ip(value: Any) -> str | None:
    """The deprecated legacy target IP (``ip_address``): an IP address; empty clears it."""
    text = _text(value, what="The legacy target IP").strip()
    if not text:
        return None
    if not _is_ip(text):
        raise RuleError("Enter an IP address, e.g. 203.0.113.10, or leave it empty.")
    return text


def whole_number(value: Any, what: str = "This value") -> int | None:
    """A whole number of zero or more; empty is none."""
    text = _text(value, what=what).strip()
    if not text:
        return None
    if not text.isdigit():
        raise RuleError(f"{what} must be a whole number.")
    return int(text)


def static_ip(value: Any) -> str:
    text = (value or "").strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise RuleError("Enter the proxy's target IP address, e.g. 203.0.113.10.") from None
    internal: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("172.16.0.0/12"),
    )
    internal += ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("fc00::/7")
    if (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or any(address in net for net in internal if net.version == address.version)
    ):
        raise RuleError("The target IP must be a public address, not a private or loopback one.")
    return str(address)


def country_code(value: Any) -> str:
    code = (value or "").strip().upper()
    if code not in COUNTRY_CODES:
        raise RuleError("Enter a two-letter ISO 3166 country code, e.g. US or DE.")
    return code


#: names that resolve inside the network the agents run in (SSRF): never a proxy target
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def _public_host_name(host: str) -> bool:
    """A DNS name with a real top-level label: rules out numeric spellings of addresses
    (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) that resolvers accept."""
    labels = host.rstrip(".").split(".")
    return (
        len(labels) >= 2
        and all(_HOST_LABEL.match(label) for label in labels)
        and bool(_TOP_LABEL.match(labels[-1]))
    )


def proxy_url(value: Any) -> str:
    """A custom proxy URL (encrypted before sending). Private, loopback, link-local and
    internal targets are refused (SSRF), in every spelling CloudCruise refuses them."""
    text = _text(value, max_len=2048, what="The proxy URL").strip()
    if any(ch.isspace() for ch in text):
        raise RuleError("The proxy URL must not contain spaces.")
    parts = urlsplit(text)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise RuleError("The proxy URL must start with http://, https://, socks4:// or socks5://.")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise RuleError("The proxy URL has an invalid port.") from None
    if not host:
        raise RuleError("The proxy URL has no host.")
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        raise RuleError("The proxy must not point to localhost or an internal name.")
    if _is_ip(host):
        if not ipaddress.ip_address(host).is_global:
            raise RuleError("The proxy must not point to a private or loopback address.")
    elif not _public_host_name(host):
        raise RuleError(
            "The proxy host must be a full host name (proxy.example.net) or a dotted IP "
            "address; numeric shorthands such as 127.1 or 0x7f000001 are refused."
        )
    if port is None and parts.scheme.startswith("socks"):
        raise RuleError("Give the SOCKS proxy's port, e.g. socks5://host:1080.")
    return text


def proxy_mode(value: Any) -> str | None:
    return _choice(value, PROXY_MODES, "Choose random, static, country or custom.")


def proxy_value(mode: str | None, value: Any) -> str | None:
    """The value that goes with ``mode``: IP, country code, URL, or nothing."""
    text = (value or "").strip()
    if mode == "static":
        return static_ip(text)
    if mode == "country":
        return country_code(text)
    if mode == "custom":
        if not text:
            raise RuleError("Enter the proxy URL, e.g. socks5://user:pass@proxy.example.net:1080.")
        return proxy_url(text)
    if text:
        raise RuleError("Random and no-proxy modes take no value; clear this field.")
    return None


_COOKIE_REQUIRED = ("name", "value", "domain")
_COOKIE_BOOLS = ("httpOnly", "hostOnly", "secure", "session")


def cookies_json(value: Any) -> list[dict[str, Any]] | None:
    """A JSON array of cookies in the Chrome-extension format; empty = none."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(f"Not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise RuleError("Paste a JSON array of cookie objects.")
    for index, cookie in enumerate(data, 1):
        if not isinstance(cookie, dict):
            raise RuleError(f"Cookie {index} is not an object.")
        for key in _COOKIE_REQUIRED:
            if not isinstance(cookie.get(key), str) or (key != "value" and not cookie[key]):
                raise RuleError(f"Cookie {index} needs a string “{key}”.")
        for key in _COOKIE_BOOLS:
            if key in cookie and not isinstance(cookie[key], bool):
                raise RuleError(f"Cookie {index}: “{key}” must be true or false.")
        if "expirationDate" in cookie and not isinstance(cookie["expirationDate"], int | float):
            raise RuleError(f"Cookie {index}: “expirationDate” must be a number (epoch seconds).")
        for key in ("path", "sameSite", "storeId"):
            if key in cookie and not isinstance(cookie[key], str | None):
                raise RuleError(f"Cookie {index}: “{key}” must be a string.")
    return data


def storage_json(value: Any) -> dict[str, Any] | None:
    """A JSON object of local/session storage keys; empty = none."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(f"Not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    if not isinstance(data, dict):
        raise RuleError('Paste a JSON object, e.g. {"token": "…"}.')
    return data


def cross_field(values: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, str]:
    """Errors about combinations of fields, keyed by the field to show them beside.

    ``values`` holds the validated new values; ``existing`` (for edits) tells which secrets
    are already stored: keys ``has_tfa_secret``, ``provider_backed``.
    """
    existing = existing or {}
    errors: dict[str, str] = {}
    provider = values.get("secret_provider_id")
    if provider and not values.get("secret_ref"):
        errors["secret_ref"] = "Choose the 1Password item this entry signs in with."
    if values.get("secret_ref") and not provider:
        errors["secret_provider_id"] = "Choose the provider the item belongs to."
    if values.get("secret_cache_ttl_seconds") is not None and not provider:
        errors["secret_cache_ttl_seconds"] = "A cache time only applies to provider-backed entries."
    if provider:
        for name, label in (("user_name", "username"), ("password", "password")):
            if values.get(name):
                errors[name] = f"Provider-backed entries get the {label} from 1Password; clear it."
        if values.get("tfa_secret"):
            errors["tfa_secret"] = "Provider-backed entries get 2FA codes from 1Password."
    needs_secret = values.get("tfa_method") == "AUTHENTICATOR" and not provider
    if needs_secret and not values.get("tfa_secret") and not existing.get("has_tfa_secret"):
        errors["tfa_secret"] = "An authenticator app needs its TFA secret (base32)."
    if values.get("tfa_secret") and values.get("tfa_method") not in (None, "AUTHENTICATOR"):
        errors.setdefault(
            "tfa_secret", "A TFA secret is only used with the authenticator app method."
        )
    if values.get("max_concurrency") is not None and not values.get("allow_multiple_sessions"):
        errors["max_concurrency"] = "Set a limit only when multiple sessions are allowed."
    return errors
