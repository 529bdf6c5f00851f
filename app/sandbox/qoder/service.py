"""The emulator's operations on vaults and credentials (HTTP-agnostic)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import conflict, invalid, not_found
from .resources import (
    credential_from_body,
    credential_patch,
    render_credential,
    render_vault,
    vault_from_body,
)
from .store import CREDENTIAL_PREFIX, VAULT_PREFIX, Store, make_id, parse_rfc3339

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FORWARD_CURSORS = ("after_id", "after", "page")
BACKWARD_CURSORS = ("before_id", "before")
_INT_RE = re.compile(r"^[+-]?\d{1,9}$")
_TRUE = ("true", "1")
_FALSE = ("false", "0", "")


@dataclass
class Settings:
    """Per-process behaviour switches (changeable while serving, e.g. from tests)."""

    shape: str = "nested"
    #: ``error``: limit > 100 is 400 invalid_request_error; ``cap``: served as 100
    limit_over_100: str = "error"


def _clip_id(value: str) -> str:
    return value if len(value) <= 80 else value[:79] + "…"


def vault_missing(vault_id: str) -> Exception:
    return not_found(f"Vault '{_clip_id(vault_id)}' was not found.")


def credential_missing(credential_id: str) -> Exception:
    return not_found(f"Credential '{_clip_id(credential_id)}' was not found.")


# -- list parameters ----------------------------------------------------------------------
def list_query(args: Mapping[str, str], prefix: str, settings: Settings) -> dict[str, Any]:
    """Validated list parameters (``limit``, one cursor, filters) or a 400."""
    raw_limit = args.get("limit")
    if raw_limit is None:
        limit = DEFAULT_LIMIT
    elif not _INT_RE.match(raw_limit.strip()):
        raise invalid(f"limit must be an integer between 1 and {MAX_LIMIT}.", "limit")
    else:
        limit = int(raw_limit)
    if limit < 1:
        raise invalid("limit must be greater than or equal to 1.", "limit")
    if limit > MAX_LIMIT:
        if settings.limit_over_100 != "cap":
            raise invalid(f"limit must be less than or equal to {MAX_LIMIT}.", "limit")
        limit = MAX_LIMIT

    given = [name for name in (*FORWARD_CURSORS, *BACKWARD_CURSORS) if name in args]
    if len(given) > 1:
        raise invalid(
            f"{' and '.join(given)} are mutually exclusive; send at most one cursor.", given[-1]
        )
    after_id = before_id = None
    if given:
        name = given[0]
        cursor = args[name]
        if not re.fullmatch(re.escape(prefix) + r"[0-9a-f]{32}", cursor):
            kind = "vault" if prefix == VAULT_PREFIX else "credential"
            raise invalid(f"{name} must be a {kind} ID ({prefix}…).", name)
        if name in FORWARD_CURSORS:
            after_id = cursor
        else:
            before_id = cursor

    raw_archived = args.get("include_archived", "").strip().lower()
    if raw_archived not in _TRUE + _FALSE:
        raise invalid("include_archived must be true or false.", "include_archived")

    bounds: dict[str, int | None] = {}
    for key, param in (("created_gte", "created_at[gte]"), ("created_lte", "created_at[lte]")):
        raw = args.get(param)
        if raw is None or raw == "":
            bounds[key] = None
            continue
        try:
            bounds[key] = parse_rfc3339(raw)
        except ValueError:
            raise invalid(f"{param} must be an RFC 3339 timestamp.", param) from None

    return {
        "limit": limit,
        "after_id": after_id,
        "before_id": before_id,
        "include_archived": raw_archived in _TRUE,
        "name": args.get("name") or None,
        **bounds,
    }


def page_body(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


class QoderService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @property
    def shape(self) -> str:
        return self.settings.shape

    # -- vaults ---------------------------------------------------------------------------
    def list_vaults(self, args: Mapping[str, str]) -> dict[str, Any]:
        query = list_query(args, VAULT_PREFIX, self.settings)
        with self.store.read() as db:
            rows, has_more = db.page("vaults", **query)
        return page_body([render_vault(r, self.shape) for r in rows], has_more)

    def get_vault(self, vault_id: str) -> dict[str, Any]:
        with self.store.read() as db:
            row = db.vault(vault_id)
        if row is None:
            raise vault_missing(vault_id)
        return render_vault(row, self.shape)

    def create_vault(self, body: Any) -> dict[str, Any]:
        name, metadata, creds = vault_from_body(body)
        with self.store.write() as db:
            us = db.tick()
            vault_id = make_id(VAULT_PREFIX, us)
            vault = {
                "id": vault_id,
                "display_name": name,
                "metadata": metadata,
                "created_us": us,
                "updated_us": us,
                "archived_us": None,
            }
            db.insert_vault(vault)
            rows = [self._insert_credential(db, vault_id, cred) for cred in creds]
            stored = db.vault(vault_id)
        assert stored is not None
        out = render_vault(stored, self.shape)
        out["credentials"] = [render_credential(r, self.shape) for r in rows]
        return out

    def archive_vault(self, vault_id: str) -> dict[str, Any]:
        with self.store.write() as db:
            row = db.vault(vault_id)
            if row is None:
                raise vault_missing(vault_id)
            if row["archived_us"] is not None:
                raise conflict("This vault is already archived.")
            db.archive_vault(vault_id, db.tick())
            row = db.vault(vault_id)
        assert row is not None
        return render_vault(row, self.shape)

    def delete_vault(self, vault_id: str) -> dict[str, Any]:
        with self.store.write() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            db.delete_vault(vault_id)
        return {"id": vault_id, "type": "vault_deleted"}

    # -- credentials ----------------------------------------------------------------------
    def list_credentials(self, vault_id: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.store.read() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            query = list_query(args, CREDENTIAL_PREFIX, self.settings)
            rows, has_more = db.page("credentials", vault_id=vault_id, **query)
        return page_body([render_credential(r, self.shape) for r in rows], has_more)

    def get_credential(self, vault_id: str, credential_id: str) -> dict[str, Any]:
        with self.store.read() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            row = db.credential(vault_id, credential_id)
        if row is None:
            raise credential_missing(credential_id)
        return render_credential(row, self.shape)

    def create_credential(self, vault_id: str, body: Any) -> dict[str, Any]:
        with self.store.write() as db:
            vault = db.vault(vault_id)
            if vault is None:
                raise vault_missing(vault_id)
            cred = credential_from_body(body)
            if vault["archived_us"] is not None:
                raise conflict("Credentials cannot be added to an archived vault.")
            row = self._insert_credential(db, vault_id, cred)
        return render_credential(row, self.shape)

    @staticmethod
    def _insert_credential(db: Any, vault_id: str, cred: dict[str, Any]) -> dict[str, Any]:
        taken = db.active_credential_for(vault_id, cred["mcp_server_url"], cred["secret_name"])
        if taken is not None:
            what = "MCP server URL" if cred["mcp_server_url"] else "secret name"
            raise conflict(f"The vault already has an active credential for this {what}.")
        us = db.tick()
        row = {
            **cred,
            "id": make_id(CREDENTIAL_PREFIX, us),
            "vault_id": vault_id,
            "created_us": us,
            "updated_us": us,
            "archived_us": None,
        }
        db.insert_credential(row)
        stored = db.credential(vault_id, row["id"])
        assert stored is not None
        return stored

    def archive_credential(self, vault_id: str, credential_id: str) -> dict[str, Any]:
        with self.store.write() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            row = db.credential(vault_id, credential_id)
            if row is None:
                raise credential_missing(credential_id)
            if row["archived_us"] is not None:
                raise conflict("This credential is already archived.")
            db.archive_credential(credential_id, db.tick())
            row = db.credential(vault_id, credential_id)
        assert row is not None
        return render_credential(row, self.shape)

    def update_credential(self, vault_id: str, credential_id: str, body: Any) -> dict[str, Any]:
        """G3 *Update credential*: a merge patch of ``auth`` and/or ``metadata`` (see
        :func:`.resources.credential_patch`). Check order: vault 404, credential 404, body
        400, archived credential 409."""
        with self.store.write() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            row = db.credential(vault_id, credential_id)
            if row is None:
                raise credential_missing(credential_id)
            patch = credential_patch(row, body)
            if row["archived_us"] is not None:
                raise conflict("Archived credentials cannot be updated.")
            db.update_credential(credential_id, us=db.tick(), **patch)
            row = db.credential(vault_id, credential_id)
        assert row is not None
        return render_credential(row, self.shape)

    def delete_credential(self, vault_id: str, credential_id: str) -> dict[str, Any]:
        with self.store.write() as db:
            if db.vault(vault_id) is None:
                raise vault_missing(vault_id)
            if db.credential(vault_id, credential_id) is None:
                raise credential_missing(credential_id)
            db.delete_credential(credential_id)
        return {"id": credential_id, "type": "vault_credential_deleted"}
