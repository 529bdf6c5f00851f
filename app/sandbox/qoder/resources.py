"""Request-body validation and response rendering for vaults and credentials."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from .errors import invalid
from .store import format_us, parse_rfc3339

SHAPES = ("flat", "nested")
AUTH_TYPES = ("static_bearer", "mcp_oauth", "environment_variable")
FLAT_TYPES = ("static_bearer", "mcp_oauth")
PROTOCOLS = ("streamable_http", "sse")
TOKEN_ENDPOINT_AUTH = ("none", "client_secret_basic", "client_secret_post")
MAX_URL = 2048
MAX_NAME = 255
MAX_METADATA_KEYS = 16
MAX_METADATA_VALUE = 512
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


# -- field helpers ------------------------------------------------------------------------
def _missing(param: str) -> Exception:
    return invalid(f"Missing required field: {param}", param)


def _string(body: dict[str, Any], key: str, param: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _missing(param)
        return None
    if not isinstance(value, str):
        raise invalid(f"Field '{param}' must be a string.", param)
    if required and not value.strip():
        raise invalid(f"Field '{param}' must not be empty.", param)
    return value


def _object(body: dict[str, Any], key: str, param: str, *, required: bool) -> dict | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _missing(param)
        return None
    if not isinstance(value, dict):
        raise invalid(f"Field '{param}' must be an object.", param)
    return value


def _url(body: dict[str, Any], key: str, param: str) -> str:
    value = _string(body, key, param)
    assert value is not None
    if len(value) > MAX_URL:
        raise invalid(f"Field '{param}' must be at most {MAX_URL} characters.", param)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"Field '{param}' must be an http(s) URL.", param)
    return value


def _choice(body: dict[str, Any], key: str, param: str, choices: tuple, default: str) -> str:
    value = body.get(key)
    if value is None:
        return default
    if value not in choices:
        raise invalid(f"Field '{param}' must be one of: {', '.join(choices)}.", param)
    return value


def metadata_of(body: dict[str, Any], param: str = "metadata") -> dict[str, str]:
    value = body.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("Field 'metadata' must be an object.", param)
    if len(value) > MAX_METADATA_KEYS:
        raise invalid(f"Field 'metadata' may have at most {MAX_METADATA_KEYS} keys.", param)
    for key, item in value.items():
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE or len(key) > 64:
            raise invalid(
                f"Metadata values must be strings of at most {MAX_METADATA_VALUE} characters"
                " (keys at most 64).",
                f"{param}.{key}"[:100],
            )
    return dict(value)


def _digest(secret_parts: dict[str, Any]) -> str:
    """What the emulator keeps of the secrets: a SHA-256 digest, never the values."""
    return hashlib.sha256(json.dumps(secret_parts, sort_keys=True).encode()).hexdigest()


# -- vaults --------------------------------------------------------------------------------
def vault_from_body(body: Any) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    """``(display_name, metadata, credential rows)`` of a create-vault body."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    name = _string(body, "display_name", "display_name")
    assert name is not None
    if len(name) > MAX_NAME:
        raise invalid(
            f"Field 'display_name' must be at most {MAX_NAME} characters.", "display_name"
        )
    metadata = metadata_of(body)
    raw = body.get("credentials")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise invalid("Field 'credentials' must be an array.", "credentials")
    creds = [credential_from_body(item, f"credentials[{i}].") for i, item in enumerate(raw)]
    return name.strip(), metadata, creds


def render_vault(row: dict[str, Any], shape: str) -> dict[str, Any]:
    archived = row["archived_us"] is not None
    out: dict[str, Any] = {"id": row["id"], "type": "vault", "display_name": row["display_name"]}
    if shape == "flat":  # G2: status; archived_at only when archived
        out["status"] = "archived" if archived else "active"
        out["metadata"] = json.loads(row["metadata"])
        if archived:
            out["archived_at"] = format_us(row["archived_us"])
    else:  # G3: no status; archived_at always present (null when active)
        out["metadata"] = json.loads(row["metadata"])
        out["archived_at"] = format_us(row["archived_us"])
    out["created_at"] = format_us(row["created_us"])
    out["updated_at"] = format_us(row["updated_us"])
    return out


# -- credentials ---------------------------------------------------------------------------
def credential_from_body(body: Any, prefix: str = "") -> dict[str, Any]:
    """A credential row (without ids and times) from a flat (G2) or nested (G3) body."""
    if not isinstance(body, dict):
        raise invalid("A credential must be a JSON object.", prefix.rstrip(".") or None)
    metadata = metadata_of(body, f"{prefix}metadata")
    nested = "auth" in body
    row = _nested_credential(body, prefix) if nested else _flat_credential(body, prefix)
    row["metadata"] = metadata
    return row


def _flat_credential(body: dict[str, Any], prefix: str) -> dict[str, Any]:
    url = _url(body, "mcp_server_url", f"{prefix}mcp_server_url")
    protocol = _choice(body, "protocol", f"{prefix}protocol", PROTOCOLS, "streamable_http")
    kind = _choice(body, "type", f"{prefix}type", FLAT_TYPES, "static_bearer")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise invalid(f"Field 'access_token' is required for {kind} type.", f"{prefix}access_token")
    return {
        "auth_type": kind,
        "mcp_server_url": url,
        "secret_name": None,
        "protocol": protocol,
        "public": {},
        "secret_digest": _digest({"access_token": token}),
    }


def _nested_credential(body: dict[str, Any], prefix: str) -> dict[str, Any]:
    auth = _object(body, "auth", f"{prefix}auth", required=True)
    assert auth is not None
    p = f"{prefix}auth."
    kind = auth.get("type")
    if kind is None:
        raise _missing(f"{p}type")
    if kind not in AUTH_TYPES:
        raise invalid(f"Field '{p}type' must be one of: {', '.join(AUTH_TYPES)}.", f"{p}type")
    public: dict[str, Any] = {}
    if kind == "environment_variable":
        name = _string(auth, "secret_name", f"{p}secret_name")
        assert name is not None
        if not ENV_NAME_RE.match(name):
            raise invalid(
                f"Field '{p}secret_name' must be an environment variable name.",
                f"{p}secret_name",
            )
        value = _string(auth, "secret_value", f"{p}secret_value")
        networking = _object(auth, "networking", f"{p}networking", required=True)
        assert networking is not None
        public["networking"] = _networking(networking, f"{p}networking")
        location = _string(auth, "injection_location", f"{p}injection_location", required=False)
        if location is not None:
            public["injection_location"] = location
        return {
            "auth_type": kind,
            "mcp_server_url": None,
            "secret_name": name,
            "protocol": None,
            "public": public,
            "secret_digest": _digest({"secret_value": value}),
        }
    url = _url(auth, "mcp_server_url", f"{p}mcp_server_url")
    if kind == "static_bearer":
        token = _string(auth, "token", f"{p}token")
        secrets_sent: dict[str, Any] = {"token": token}
    else:
        token = _string(auth, "access_token", f"{p}access_token")
        secrets_sent = {"access_token": token}
        expires = _string(auth, "expires_at", f"{p}expires_at", required=False)
        if expires is not None:
            try:
                parse_rfc3339(expires)
            except ValueError:
                raise invalid(
                    f"Field '{p}expires_at' must be an RFC 3339 timestamp.", f"{p}expires_at"
                ) from None
        public["expires_at"] = expires
        refresh = _object(auth, "refresh", f"{p}refresh", required=False)
        if refresh is not None:
            public["refresh"], secrets_sent["refresh"] = _refresh(refresh, f"{p}refresh.")
    return {
        "auth_type": kind,
        "mcp_server_url": url,
        "secret_name": None,
        "protocol": "streamable_http",
        "public": public,
        "secret_digest": _digest(secrets_sent),
    }


def _networking(value: dict[str, Any], param: str) -> dict[str, Any]:
    kind = value.get("type")
    if kind == "unrestricted":
        return {"type": "unrestricted"}
    if kind == "limited":
        hosts = value.get("allowed_hosts")
        if (
            not isinstance(hosts, list)
            or not hosts
            or not all(isinstance(h, str) and h.strip() for h in hosts)
        ):
            raise invalid(
                f"Field '{param}.allowed_hosts' must be a non-empty array of host names.",
                f"{param}.allowed_hosts",
            )
        return {"type": "limited", "allowed_hosts": list(hosts)}
    raise invalid(f"Field '{param}.type' must be one of: unrestricted, limited.", f"{param}.type")


def _refresh(value: dict[str, Any], p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public part kept and returned, secret part only digested)."""
    refresh_token = _string(value, "refresh_token", f"{p}refresh_token")
    client_id = _string(value, "client_id", f"{p}client_id")
    token_endpoint = _url(value, "token_endpoint", f"{p}token_endpoint")
    scope = _string(value, "scope", f"{p}scope", required=False)
    endpoint_auth = _object(value, "token_endpoint_auth", f"{p}token_endpoint_auth", required=False)
    auth_type, client_secret = "none", None
    if endpoint_auth is not None:
        auth_type = _choice(
            endpoint_auth, "type", f"{p}token_endpoint_auth.type", TOKEN_ENDPOINT_AUTH, "none"
        )
        if auth_type != "none":
            client_secret = _string(
                endpoint_auth, "client_secret", f"{p}token_endpoint_auth.client_secret"
            )
    public = {
        "client_id": client_id,
        "token_endpoint": token_endpoint,
        "scope": scope,
        "token_endpoint_auth": {"type": auth_type},
    }
    return public, {"refresh_token": refresh_token, "client_secret": client_secret}


# -- credential update (G3 merge patch) -------------------------------------------------------
#: secrets an update may replace, per auth type; ``refresh.refresh_token`` comes separately
PATCH_SECRETS = {
    "static_bearer": ("token",),
    "mcp_oauth": ("access_token",),
    "environment_variable": ("secret_value",),
}
IMMUTABLE = ("mcp_server_url", "secret_name")
IMMUTABLE_REFRESH = ("client_id", "token_endpoint")


def credential_patch(row: dict[str, Any], body: Any) -> dict[str, Any]:
    """The new ``metadata``, ``public`` and ``secret_digest`` of credential ``row`` after the
    update ``body`` ({"auth"?: patch, "metadata"?: merge}), or a 400.

    ``auth.type`` is required in a patch and must equal the credential's type; what a type
    may change: static_bearer ``token``; mcp_oauth ``access_token``, ``expires_at`` (null
    clears), ``refresh.refresh_token`` / ``scope`` / ``token_endpoint_auth`` (only when the
    credential has a refresh block); environment_variable ``secret_value``. Naming
    ``mcp_server_url``, ``secret_name``, ``refresh.client_id`` or ``refresh.token_endpoint``
    is a 400. ``metadata`` merges (a null value removes its key; ``"metadata": null``
    empties it). A body with neither field is a 400. Unknown fields are ignored."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    if "auth" not in body and "metadata" not in body:
        raise invalid("Send auth and/or metadata to update a credential.")
    public = json.loads(row["public"])
    metadata = json.loads(row["metadata"])
    secrets_sent: dict[str, Any] = {}
    auth = _object(body, "auth", "auth", required=False)
    if auth is not None:
        secrets_sent = _auth_patch(row["auth_type"], auth, public)
    if "metadata" in body:
        metadata = _metadata_merge(metadata, body["metadata"])
    digest = row["secret_digest"]
    if secrets_sent:  # a new digest that still depends on what was kept
        digest = _digest({"previous": digest, **secrets_sent})
    return {"metadata": metadata, "public": public, "secret_digest": digest}


def _auth_patch(current: str, auth: dict[str, Any], public: dict[str, Any]) -> dict[str, Any]:
    kind = auth.get("type")
    if kind is None:
        raise _missing("auth.type")
    if kind != current:
        raise invalid(
            f"Field 'auth.type' must be {current}: a credential's type cannot be changed.",
            "auth.type",
        )
    for name in IMMUTABLE:
        if name in auth:
            raise invalid(f"Field 'auth.{name}' cannot be changed.", f"auth.{name}")
    sent: dict[str, Any] = {}
    for name in PATCH_SECRETS[current]:
        if name in auth:
            sent[name] = _string(auth, name, f"auth.{name}")
    if current != "mcp_oauth":
        return sent
    if "expires_at" in auth:
        expires = _string(auth, "expires_at", "auth.expires_at", required=False)
        if expires is not None:
            try:
                parse_rfc3339(expires)
            except ValueError:
                raise invalid(
                    "Field 'auth.expires_at' must be an RFC 3339 timestamp.", "auth.expires_at"
                ) from None
        public["expires_at"] = expires
    refresh = _object(auth, "refresh", "auth.refresh", required=False)
    if refresh is not None:
        if not public.get("refresh"):
            raise invalid(
                "Field 'auth.refresh' cannot be added to a credential that has none.",
                "auth.refresh",
            )
        for name in IMMUTABLE_REFRESH:
            if name in refresh:
                raise invalid(
                    f"Field 'auth.refresh.{name}' cannot be changed.", f"auth.refresh.{name}"
                )
        kept = dict(public["refresh"])
        if "refresh_token" in refresh:
            sent["refresh_token"] = _string(refresh, "refresh_token", "auth.refresh.refresh_token")
        if "scope" in refresh:
            kept["scope"] = _string(refresh, "scope", "auth.refresh.scope", required=False)
        endpoint_auth = _object(
            refresh, "token_endpoint_auth", "auth.refresh.token_endpoint_auth", required=False
        )
        if endpoint_auth is not None:
            p = "auth.refresh.token_endpoint_auth"
            auth_type = _choice(endpoint_auth, "type", f"{p}.type", TOKEN_ENDPOINT_AUTH, "none")
            if auth_type != "none":
                secret = _string(endpoint_auth, "client_secret", f"{p}.client_secret")
                sent["client_secret"] = secret
            kept["token_endpoint_auth"] = {"type": auth_type}
        public["refresh"] = kept
    return sent


def _metadata_merge(current: dict[str, str], patch: Any) -> dict[str, str]:
    if patch is None:
        return {}
    if not isinstance(patch, dict):
        raise invalid("Field 'metadata' must be an object.", "metadata")
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return metadata_of({"metadata": merged})


def render_credential(row: dict[str, Any], shape: str) -> dict[str, Any]:
    archived = row["archived_us"] is not None
    public = json.loads(row["public"])
    if shape == "flat":
        out: dict[str, Any] = {"id": row["id"], "vault_id": row["vault_id"]}
        if row["auth_type"] == "environment_variable":
            # not part of G2; rendered flat so both shapes list the same credentials
            out.update(mcp_server_url=None, secret_name=row["secret_name"], protocol=None)
        else:
            out.update(mcp_server_url=row["mcp_server_url"], protocol=row["protocol"])
        out["type"] = row["auth_type"]
        out["status"] = "archived" if archived else "active"
        if archived:
            out["archived_at"] = format_us(row["archived_us"])
        out["created_at"] = format_us(row["created_us"])
        out["updated_at"] = format_us(row["updated_us"])
        return out
    auth: dict[str, Any] = {"type": row["auth_type"]}
    if row["auth_type"] == "environment_variable":
        auth["secret_name"] = row["secret_name"]
        auth["networking"] = public.get("networking", {"type": "unrestricted"})
        if "injection_location" in public:
            auth["injection_location"] = public["injection_location"]
    else:
        auth["mcp_server_url"] = row["mcp_server_url"]
        if row["auth_type"] == "mcp_oauth":
            auth["expires_at"] = public.get("expires_at")
            if public.get("refresh"):
                auth["refresh"] = public["refresh"]
    return {
        "id": row["id"],
        "type": "vault_credential",
        "vault_id": row["vault_id"],
        "auth": auth,
        "display_name": None,
        "metadata": json.loads(row["metadata"]),
        "archived_at": format_us(row["archived_us"]),
        "created_at": format_us(row["created_us"]),
        "updated_at": format_us(row["updated_us"]),
    }
