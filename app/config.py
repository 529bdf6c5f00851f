"""Configuration from the environment (and an optional ``.env``), validated at start.

Variable names are a contract (../shared/DESIGN.md): the CloudCruise ones are the official
SDK's. Everything else has a safe default so the console runs with zero configuration,
in which case it talks to the embedded sandbox.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.cloudcruise.crypto import InvalidKeyError, validate_key
from app.fileperms import private_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"
DEFAULT_BASE_URL = "https://api.cloudcruise.com"
DEFAULT_QODER_URL = "https://api.qoder.com/api/v1/cloud"
DEFAULT_R4_URL = "https://r4.dev/api/v1/machine"


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
    """Qoder or r4: the real API when a key is set, else an embedded emulator.

    ``sandbox`` with a ``base_url`` and ``key`` means an emulator already running there (tests).
    """

    sandbox: bool
    base_url: str | None
    key: str | None


def load_config(env: dict[str, str] | None = None, instance: Path | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("VAULT_CONSOLE_INSTANCE_PATH") or instance or DEFAULT_INSTANCE)
    private_dir(instance)  # keys, databases and the sandboxes' workspace keys live here

    api_key = env.get("CLOUDCRUISE_API_KEY", "").strip() or None
    enc_key = env.get("CLOUDCRUISE_ENCRYPTION_KEY", "").strip() or None
    base_url = (env.get("CLOUDCRUISE_BASE_URL", "").strip() or DEFAULT_BASE_URL).rstrip("/")
    if api_key:
        if not enc_key:
            raise ConfigError(
                "CLOUDCRUISE_API_KEY is set but CLOUDCRUISE_ENCRYPTION_KEY is not. The console "
                "encrypts credentials itself, so it needs the workspace encryption key "
                "(64 hex characters, from CloudCruise workspace settings → Encryption keys)."
            )
        if not base_url.startswith(("https://", "http://")):
            raise ConfigError(f"CLOUDCRUISE_BASE_URL must start with https://, got {base_url!r}.")
    if enc_key:
        try:
            validate_key(enc_key)
        except InvalidKeyError as exc:
            raise ConfigError(f"CLOUDCRUISE_ENCRYPTION_KEY: {exc}") from None
    upstream = Upstream(
        sandbox=api_key is None,
        base_url=None if api_key is None else base_url,
        api_key=api_key,
        encryption_key=enc_key if api_key else None,
    )

    qoder_pat = env.get("QODER_PAT", "").strip() or None
    r4_key = env.get("R4_API_KEY", "").strip() or None
    other_vaults = {
        "qoder": OtherVault(
            sandbox=qoder_pat is None,
            base_url=(env.get("QODER_BASE_URL", "").strip() or DEFAULT_QODER_URL).rstrip("/"),
            key=qoder_pat,
        ),
        "r4": OtherVault(
            sandbox=r4_key is None,
            base_url=(env.get("R4_BASE_URL", "").strip() or DEFAULT_R4_URL).rstrip("/"),
            key=r4_key,
        ),
    }

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
        sandboxed = [name for name, on in (("CloudCruise", upstream.sandbox),
                     ("Qoder", other_vaults["qoder"].sandbox),
                     ("r4", other_vaults["r4"].sandbox)) if on]  # fmt: skip
        if sandboxed and not _bool(env.get("VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX"), False):
            raise ConfigError(
                f"No API key is set for {', '.join(sandboxed)}, so each host would start its own "
                "embedded sandbox while all of them share one database; set "
                "CLOUDCRUISE_API_KEY (and QODER_PAT, R4_API_KEY), or "
                "VAULT_CONSOLE_ALLOW_EMBEDDED_SANDBOX=true for a single-host demo."
            )
    secure_cookies = _bool(env.get("VAULT_CONSOLE_SECURE_COOKIES"), False)
    idle_minutes = _number(env, "VAULT_CONSOLE_IDLE_MINUTES", 30, minimum=1)
    return {
        "SECRET_KEY": _instance_secret(env, "VAULT_CONSOLE_SECRET_KEY", instance, "secret_key"),
        # keys the audit log's fingerprints of secret values; kept outside the audit table
        "AUDIT_HMAC_KEY": _instance_secret(env, "VAULT_CONSOLE_AUDIT_KEY", instance, "audit_key"),
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
    }
