"""Configuration from the environment (and an optional ``.env``), validated at start.

Variable names are a contract (README.md, "Configuration"): the CloudCruise ones are the
official SDK's. Everything else has a safe default so the console runs with zero
configuration, in which case it talks to the embedded sandboxes.

Each provider reads its own variables (``Provider.configure`` in its package, listed by
:mod:`app.providers`): the primary provider's settings land in ``UPSTREAM``, every other
provider's in ``OTHER_VAULTS[key]``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.fileperms import private_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(env: dict[str, str], name: str, default: float, *, minimum: float = 0) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}.")
    return value


def _instance_secret(env: dict[str, str], name: str, instance: Path, filename: str) -> str:
    """The environment variable ``name``, else a key generated once into the instance folder."""
    key = env.get(name, "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError(f"{name} must be at least 32 characters long.")
        return key
    path = instance / filename
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = path.read_text().strip()
        if stored:
            return stored
        raise ConfigError(f"{path} is empty; delete it to have a new key generated.") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()


@dataclass(frozen=True)
class Upstream:
    """Where CloudCruise requests go. ``sandbox`` means the embedded emulator."""

    sandbox: bool
    base_url: str | None
    api_key: str | None
    encryption_key: str | None


@dataclass(frozen=True)
class OtherVault:
    """A provider reached with one key (Qoder, r4): the real API when the key is set, else
    an embedded emulator. ``options`` holds its own extra settings (Qoder:
    ``workspace_id``).

    ``sandbox`` with a ``base_url`` and ``key`` means an emulator already running there (tests).
    """

    sandbox: bool
    base_url: str | None
    key: str | None
    options: Mapping[str, str] = field(default_factory=dict)


def keyed_settings(
    env: Mapping[str, str],
    key_var: str,
    url_var: str,
    default_url: str,
    options: Mapping[str, str] | None = None,
) -> OtherVault:
    """The settings of a provider reached with one key: ``key_var`` (none: the emulator)
    and ``url_var`` (default ``default_url``)."""
    key = env.get(key_var, "").strip() or None
    base_url = (env.get(url_var, "").strip() or default_url).rstrip("/")
    if key and not base_url.startswith(("https://", "http://")):
        raise ConfigError(f"{url_var} must start with https://, got {base_url!r}.")
    return OtherVault(
        sandbox=key is None,
        base_url=base_url,
        key=key,
        options={k: v for k, v in (options or {}).items() if v},
    )


#: the roles an SSO group can map to (app/models.py Role values)
SSO_ROLES = ("viewer", "editor", "admin")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on with OpenID Connect (app/auth/oidc.py). ``role_map`` pairs a group of
    the roles claim with a role, in the order given; ``default_role`` is the ``*`` entry."""

    issuer: str
    client_id: str
    client_secret: str
    roles_claim: str
    role_map: tuple[tuple[str, str], ...]
    default_role: str | None


def parse_role_map(raw: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """``vault-admins=admin,vault-editors=editor,*=viewer`` as pairs plus the ``*`` role."""
    pairs: list[tuple[str, str]] = []
    default: str | None = None
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        group, sep, role = (part.strip() for part in item.rpartition("="))
        if not sep or not group:
            raise ConfigError(
                f"VAULT_CONSOLE_OIDC_ROLE_MAP entry {item!r} must look like group=role "
                "(e.g. vault-admins=admin,vault-editors=editor,*=viewer)."
            )
        if role.lower() not in SSO_ROLES:
            raise ConfigError(
                f"VAULT_CONSOLE_OIDC_ROLE_MAP entry {item!r}: role must be one of "
                f"{', '.join(SSO_ROLES)}, got {role!r}."
            )
        if group == "*":
            default = role.lower()
        else:
            pairs.append((group, role.lower()))
    if not pairs and default is None:
        raise ConfigError(
            "VAULT_CONSOLE_OIDC_ROLE_MAP must map at least one group to a role "
            "(e.g. vault-admins=admin,vault-editors=editor,*=viewer)."
        )
    return tuple(pairs), default


def oidc_settings(env: Mapping[str, str]) -> OidcSettings | None:
    """The SSO settings, or None when ``VAULT_CONSOLE_OIDC_ISSUER`` is not set."""
    from urllib.parse import urlsplit

    issuer = env.get("VAULT_CONSOLE_OIDC_ISSUER", "").strip().rstrip("/")
    client_id = env.get("VAULT_CONSOLE_OIDC_CLIENT_ID", "").strip()
    client_secret = env.get("VAULT_CONSOLE_OIDC_CLIENT_SECRET", "").strip()
    if not (issuer or client_id or client_secret):
        return None
    missing = [
        name
        for name, value in (
            ("VAULT_CONSOLE_OIDC_ISSUER", issuer),
            ("VAULT_CONSOLE_OIDC_CLIENT_ID", client_id),
            ("VAULT_CONSOLE_OIDC_CLIENT_SECRET", client_secret),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"Single sign-on needs {' and '.join(missing)} too.")
    try:
        parts = urlsplit(issuer)
        host = parts.hostname or ""
    except ValueError:
        raise ConfigError(f"VAULT_CONSOLE_OIDC_ISSUER is not a URL: {issuer!r}.") from None
    loopback = host in _LOOPBACK_HOSTS
    if not host or parts.scheme not in ("https", "http") or parts.query or parts.fragment:
        raise ConfigError(
            f"VAULT_CONSOLE_OIDC_ISSUER must be the provider's issuer URL "
            f"(https://…, no query), got {issuer!r}."
        )
    if parts.scheme != "https" and not loopback:
        raise ConfigError(
            f"VAULT_CONSOLE_OIDC_ISSUER must start with https:// (http is only accepted for "
            f"localhost), got {issuer!r}."
        )
    roles_claim = env.get("VAULT_CONSOLE_OIDC_ROLES_CLAIM", "").strip() or "groups"
    role_map, default = parse_role_map(env.get("VAULT_CONSOLE_OIDC_ROLE_MAP", ""))
    return OidcSettings(issuer, client_id, client_secret, roles_claim, role_map, default)


def load_config(env: dict[str, str] | None = None, instance: Path | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("VAULT_CONSOLE_INSTANCE_PATH") or instance or DEFAULT_INSTANCE)
    private_dir(instance)  # keys, databases and the sandboxes' workspace keys live here

    from app import providers

    settings = {p.key: p.configure(env) for p in providers.all()}
    primary = providers.primary()
    upstream = settings[primary.key]
    other_vaults = {key: value for key, value in settings.items() if key != primary.key}

    database_url = env.get("VAULT_CONSOLE_DATABASE_URL", "").strip() or (
        f"sqlite:///{instance / 'vault_console.db'}"
    )
    shared_database = not database_url.startswith("sqlite")
    if shared_database:
        # every host behind the load balancer must sign cookies and fingerprint secrets alike
        missing = [
            name
            for name in ("VAULT_CONSOLE_SECRET_KEY", "VAULT_CONSOLE_AUDIT_KEY")
            if not env.get(name, "").strip()
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} must be set when VAULT_CONSOLE_DATABASE_URL is not "
                "SQLite: every host sharing the database needs the same keys (a key generated "
                "into one host's instance folder would differ on the next)."
            )
        sandboxed = [p for p in providers.all() if settings[p.key].sandbox]
        if sandboxed and not _bool(env.get("VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX"), False):
            first, *rest = [p.key_env for p in providers.all()]
            raise ConfigError(
                f"No API key is set for {', '.join(p.name for p in sandboxed)}, so each host "
                "would start its own embedded sandbox while all of them share one database; "
                f"set {first}" + (f" (and {', '.join(rest)})" if rest else "") + ", or "
                "VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX=true for a single-host demo."
            )
    secure_cookies = _bool(env.get("VAULT_CONSOLE_SECURE_COOKIES"), False)
    oidc = oidc_settings(env)
    password_login = _bool(env.get("VAULT_CONSOLE_PASSWORD_LOGIN"), True)
    if not password_login and oidc is None:
        raise ConfigError(
            "VAULT_CONSOLE_PASSWORD_LOGIN=false needs single sign-on "
            "(VAULT_CONSOLE_OIDC_ISSUER and its client settings): nobody could sign in."
        )
    idle_minutes = _number(env, "VAULT_CONSOLE_IDLE_MINUTES", 30, minimum=1)
    return {
        "SECRET_KEY": _instance_secret(env, "VAULT_CONSOLE_SECRET_KEY", instance, "secret_key"),
        # keys the audit log's fingerprints of secret values; kept outside the audit table
        "AUDIT_HMAC_KEY": _instance_secret(env, "VAULT_CONSOLE_AUDIT_KEY", instance, "audit_key"),
        # encrypts operators' TOTP secrets; outside the database (with a shared database and
        # no VAULT_CONSOLE_TOTP_KEY: derived from the secret key, the same on every host)
        "TOTP_KEY": "derived:" + env["VAULT_CONSOLE_SECRET_KEY"].strip()
        if shared_database and not env.get("VAULT_CONSOLE_TOTP_KEY", "").strip()
        else _instance_secret(env, "VAULT_CONSOLE_TOTP_KEY", instance, "totp_key"),
        "REQUIRE_2FA": _bool(env.get("VAULT_CONSOLE_REQUIRE_2FA"), False),
        "INSTANCE_PATH": str(instance),
        "UPSTREAM": upstream,
        "OTHER_VAULTS": other_vaults,
        "SANDBOX_DATA": env.get("VAULT_CONSOLE_SANDBOX_DATA") or str(instance / "sandbox.db"),
        "DATABASE_URL": database_url,
        "DB_POOL_SIZE": int(_number(env, "VAULT_CONSOLE_DB_POOL_SIZE", 5, minimum=1)),
        "SESSION_HOURS": _number(env, "VAULT_CONSOLE_SESSION_HOURS", 12, minimum=0.01),
        "UPSTREAM_CONNECT_TIMEOUT": _number(env, "VAULT_CONSOLE_CONNECT_TIMEOUT", 5, minimum=0.1),
        "UPSTREAM_READ_TIMEOUT": _number(env, "VAULT_CONSOLE_READ_TIMEOUT", 30, minimum=0.1),
        "UPSTREAM_RETRIES": int(_number(env, "VAULT_CONSOLE_RETRIES", 2, minimum=0)),
        "UPSTREAM_MAX_RESPONSE_BYTES": int(
            _number(env, "VAULT_CONSOLE_MAX_RESPONSE_MB", 1024, minimum=1) * 1024 * 1024
        ),
        # seconds after which a request starts a background sync of the entries index
        "SYNC_SECONDS": _number(env, "VAULT_CONSOLE_SYNC_SECONDS", 15, minimum=1),
        "IDLE_TIMEOUT_SECONDS": int(idle_minutes * 60),
        "SUDO_SECONDS": int(_number(env, "VAULT_CONSOLE_SUDO_MINUTES", 5, minimum=1) * 60),
        "LOGIN_MAX_FAILURES": int(_number(env, "VAULT_CONSOLE_LOGIN_MAX_FAILURES", 5, minimum=1)),
        "LOGIN_LOCKOUT_SECONDS": int(_number(env, "VAULT_CONSOLE_LOGIN_LOCKOUT", 900, minimum=1)),
        "TRUST_PROXY_HEADERS": int(_number(env, "VAULT_CONSOLE_TRUSTED_PROXIES", 0, minimum=0)),
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "vault_console_session",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Argon2id cost of operator passwords; 0 = argon2-cffi's defaults (64 MiB, 3 passes)
        "ARGON2_MEMORY_KIB": int(_number(env, "VAULT_CONSOLE_ARGON2_MEMORY_KIB", 0)),
        "ARGON2_TIME_COST": int(_number(env, "VAULT_CONSOLE_ARGON2_TIME_COST", 0)),
        # single sign-on (None: off) and whether the sign-in page offers the password form
        "OIDC": oidc,
        "PASSWORD_LOGIN": password_login,
    }
