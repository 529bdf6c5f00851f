"""Vault entry operations: merge a validated body into a stored entry and persist it.

Order of checks on POST/PUT (mirrors a NestJS pipeline):
1. per-property validation (400, :func:`validation.check_entry_body`);
2. ciphertexts in the body must decrypt with the workspace key (401 INVALID_ENCRYPTION);
3. the entry is looked up (404 on PUT), inside a ``BEGIN IMMEDIATE`` transaction;
4. rules over the merged entry: provider binding, authenticator secret, proxy (400);
5. the write itself; a taken (permissioned_user_id, domain) pair is a 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.cloudcruise.crypto import DecryptionError, decrypt_value

from . import computed
from .errors import ApiError, bad_request, conflict, invalid_encryption, not_found
from .store import DuplicateEntry, EntryRow, Store, Tables
from .validation import (
    ENCRYPTED_FIELDS,
    NULL_PROBLEM,
    check_entry_body,
    country_problem,
    custom_proxy_problem,
    is_ip,
    require_pair,
    totp_secret_ok,
)
from .workspace import Workspace

PROVIDER_FIELDS = ("secret_provider_id", "secret_ref")


def _duplicate(permissioned_user_id: str, domain: str) -> ApiError:
    return conflict(
        f"A vault entry for permissioned_user_id {permissioned_user_id!r} and domain "
        f"{domain!r} already exists",
        code="VAULT_ENTRY_EXISTS",
    )


class VaultService:
    def __init__(self, store: Store, workspace: Workspace) -> None:
        self.store = store
        self.workspace = workspace

    # -- reads ----------------------------------------------------------------------
    def list_json(self) -> bytes:
        with self.store.read() as db:
            return db.entries_json()

    def find(self, db: Tables, permissioned_user_id: str, domain: str) -> EntryRow:
        row = db.entry(permissioned_user_id, domain)
        if row is None:
            raise not_found()
        return row

    def get_json(self, permissioned_user_id: str, domain: str) -> str:
        with self.store.read() as db:
            return self.find(db, permissioned_user_id, domain).response

    # -- writes ---------------------------------------------------------------------
    def create(self, body: Any) -> str:
        changes = check_entry_body(body, require_identity=True)
        changes.pop("id", None)
        decrypted = self._decrypt_body(changes, proxy_setting=changes.get("proxy_setting"))
        now = computed.format_ts(computed.utcnow())
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "permissioned_user_id": changes["permissioned_user_id"],
            "domain": changes["domain"],
            "workspace_id": self.workspace.workspace_id,
            "organization_id": self.workspace.organization_id,
            "user_id": self.workspace.user_id,
            "created_at": now,
            "updated_at": now,
            "session_data_set_at": None,
            **computed.DEFAULTS,
        }
        with self.store.write() as db:
            merged = self._merge(db, entry, changes, decrypted, now, creating=True)
            response = computed.render_json(merged)
            try:
                db.insert_entries([(merged, response)])
            except DuplicateEntry:
                raise _duplicate(merged["permissioned_user_id"], merged["domain"]) from None
        return response

    def update(self, body: Any) -> str:
        changes = check_entry_body(body, require_identity=False)
        entry_id = changes.pop("id", None)
        if entry_id is None:
            missing = [
                f"{name} must be provided to identify the entry (or send its id)"
                for name in ("permissioned_user_id", "domain")
                if name not in changes
            ]
            if missing:
                raise bad_request(missing)
        now = computed.format_ts(computed.utcnow())
        with self.store.write() as db:
            if entry_id is not None:
                row = db.entry_by_id(entry_id)
                if row is None:
                    raise not_found()
            else:
                row = self.find(db, changes["permissioned_user_id"], changes["domain"])
            setting = changes.get("proxy_setting", row.data.get("proxy_setting"))
            decrypted = self._decrypt_body(changes, proxy_setting=setting)
            merged = self._merge(db, dict(row.data), changes, decrypted, now, creating=False)
            merged["updated_at"] = now
            response = computed.render_json(merged)
            try:
                db.replace_entry(merged, response)
            except DuplicateEntry:
                raise _duplicate(merged["permissioned_user_id"], merged["domain"]) from None
        return response

    def delete(self, body: Any) -> None:
        pair = require_pair(body, "must be provided to delete a vault entry")
        with self.store.write() as db:
            db.delete_entry(self.find(db, *pair).id)

    def clear_browser_state(self, body: Any) -> None:
        pair = require_pair(body, "must be provided to clear browser state")
        now = computed.format_ts(computed.utcnow())
        with self.store.write() as db:
            entry = dict(self.find(db, *pair).data)
            entry.update(cookies=[], local_storage={}, session_storage={})
            entry.update(session_data_set_at=None, updated_at=now)
            db.replace_entry(entry, computed.render_json(entry))

    # -- rules ----------------------------------------------------------------------
    def _decrypt_body(self, changes: dict[str, Any], *, proxy_setting: Any) -> dict[str, Any]:
        """Decrypt the ciphertexts the body carries; 401 for one the key cannot open."""
        names = [f for f in ENCRYPTED_FIELDS if changes.get(f) is not None]
        if proxy_setting == "custom" and changes.get("proxy_value") is not None:
            names.append("proxy_value")
        plain: dict[str, Any] = {}
        for name in names:
            try:
                value = decrypt_value(changes[name], self.workspace.encryption_key)
            except DecryptionError:
                raise invalid_encryption(name) from None
            plain[name] = value
        wrong = [
            f"{n} {NULL_PROBLEM}" if v is None else f"{n} must decrypt to a string"
            for n, v in plain.items()
            if not isinstance(v, str)
        ]
        if wrong:
            raise bad_request(wrong)
        return plain

    def _merge(
        self,
        db: Tables,
        entry: dict[str, Any],
        changes: dict[str, Any],
        decrypted: dict[str, Any],
        now: str,
        *,
        creating: bool,
    ) -> dict[str, Any]:
        problems: list[str] = []
        before = dict(entry)
        for name, value in changes.items():
            entry[name] = computed.NULL_RESETS.get(name, value) if value is None else value
        problems += self._provider_rules(db, before, entry, changes, creating=creating)
        problems += self._tfa_rules(entry, changes, decrypted)
        problems += self._proxy_rules(before, entry, changes, decrypted)
        if problems:
            raise bad_request(problems)
        if any(name in changes for name in computed.SESSION_FIELDS):
            entry["session_data_set_at"] = now if computed.has_session_data(entry) else None
        return entry

    def _provider_rules(
        self,
        db: Tables,
        before: dict[str, Any],
        entry: dict[str, Any],
        changes: dict[str, Any],
        *,
        creating: bool,
    ) -> list[str]:
        touched = any(name in changes for name in PROVIDER_FIELDS)
        provider_id, ref = entry.get("secret_provider_id"), entry.get("secret_ref")
        problems: list[str] = []
        if provider_id is not None and ref is None:
            problems.append("secret_ref must be provided together with secret_provider_id")
        if ref is not None and provider_id is None:
            problems.append("secret_provider_id must be provided together with secret_ref")
        bound = provider_id is not None and ref is not None
        if not bound and "secret_cache_ttl_seconds" not in changes and touched:
            entry["secret_cache_ttl_seconds"] = None  # unbinding drops the TTL override
        if entry.get("secret_cache_ttl_seconds") is not None and not bound and not problems:
            problems.append("secret_cache_ttl_seconds requires secret_provider_id and secret_ref")
        if not bound:
            return problems
        if touched and not db.provider_exists(str(provider_id)):
            problems.append("secret_provider_id must reference an existing secret provider")
        elif touched and db.provider_item(str(provider_id), str(ref)) is None:
            problems.append("secret_ref must be the ref of an item of that secret provider")
        was_bound = before.get("secret_provider_id") is not None
        for name in ENCRYPTED_FIELDS:
            if changes.get(name) is not None:
                problems.append(
                    f"{name} must not be set on a provider-backed vault entry "
                    "(its credentials come from the secret provider)"
                )
            elif not was_bound and not creating:
                entry[name] = None  # binding a provider replaces the direct secrets
        return problems

    def _tfa_rules(
        self, entry: dict[str, Any], changes: dict[str, Any], decrypted: dict[str, Any]
    ) -> list[str]:
        if entry.get("tfa_method") != "AUTHENTICATOR" or entry.get("secret_provider_id"):
            return []
        if not any(k in changes for k in ("tfa_method", "tfa_secret", *PROVIDER_FIELDS)):
            return []  # nothing that decides where the TOTP secret comes from changed
        if entry.get("tfa_secret") is None:
            return ["tfa_secret is required when tfa_method is AUTHENTICATOR"]
        if "tfa_secret" in decrypted:
            secret = decrypted["tfa_secret"]
        else:
            try:
                secret = decrypt_value(entry["tfa_secret"], self.workspace.encryption_key)
            except DecryptionError:
                raise invalid_encryption("tfa_secret") from None
        if not totp_secret_ok(secret):
            return [
                "tfa_secret must decrypt to a base32 TOTP secret when tfa_method is AUTHENTICATOR"
            ]
        return []

    def _proxy_rules(
        self,
        before: dict[str, Any],
        entry: dict[str, Any],
        changes: dict[str, Any],
        decrypted: dict[str, Any],
    ) -> list[str]:
        setting_changed = entry.get("proxy_setting") != before.get("proxy_setting")
        if setting_changed and "proxy_value" not in changes:
            entry["proxy_value"] = None  # a new mode does not inherit the old mode's value
        if "proxy_value" not in changes and not setting_changed:
            return []  # nothing about the proxy changed (a re-sent mode keeps its value)
        setting, value = entry.get("proxy_setting"), entry.get("proxy_value")
        entry["custom_proxy_endpoint"] = None
        if setting is None:
            return ["proxy_value requires proxy_setting"] if value is not None else []
        if setting == "random":
            if value is not None:
                return ["proxy_value must be empty when proxy_setting is random"]
            return []
        if value is None:
            return [f"proxy_value is required when proxy_setting is {setting}"]
        if setting == "static":
            if not is_ip(value):
                return ["proxy_value must be an IPv4 or IPv6 address when proxy_setting is static"]
            return []
        if setting == "country":
            problem = country_problem(value)
            return [problem] if problem else []
        url = decrypted.get("proxy_value")
        problem = custom_proxy_problem(url)
        if problem:
            return [problem]
        entry["custom_proxy_endpoint"] = computed.custom_proxy_endpoint(str(url))
        return []
