"""The emulated workspace: its API key, encryption key and ids, kept in the store's meta.

The first process to open a store creates them (inside one ``BEGIN IMMEDIATE``
transaction, so concurrent first starts agree: the first writer wins). Keys passed
explicitly are stored and replace different ones already there.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from app.cloudcruise.crypto import InvalidKeyError, generate_key, validate_key

from .store import Store

API_KEY_PREFIX = "sk_sandbox_"


@dataclass(frozen=True)
class Workspace:
    api_key: str
    encryption_key: str
    workspace_id: str
    organization_id: str
    user_id: str
    #: True for a key the sandbox chose (now or on an earlier start of the same store).
    generated_api_key: bool
    generated_encryption_key: bool


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(24)[:32]


def check_api_key(api_key: str) -> str:
    if not api_key or any(ch.isspace() for ch in api_key) or len(api_key) > 256:
        raise ValueError("The API key must be a non-empty string without spaces.")
    return api_key


def open_workspace(
    store: Store, api_key: str | None = None, encryption_key: str | None = None
) -> Workspace:
    """Create or load the workspace; explicit keys are validated, stored and win."""
    if api_key is not None:
        api_key = check_api_key(api_key)
    if encryption_key is not None:
        try:
            encryption_key = validate_key(encryption_key).hex()
        except InvalidKeyError as exc:
            raise ValueError(str(exc)) from None
    with store.write() as db:
        meta = db.meta()
        for name in ("workspace_id", "organization_id", "user_id"):
            if name not in meta:
                meta[name] = str(uuid.uuid4())
                db.set_meta(name, meta[name])
        for name, given, make in (
            ("api_key", api_key, new_api_key),
            ("encryption_key", encryption_key, generate_key),
        ):
            if given is not None:
                if meta.get(name) != given or meta.get(f"{name}_source") != "given":
                    meta[name], meta[f"{name}_source"] = given, "given"
                    db.set_meta(name, given)
                    db.set_meta(f"{name}_source", "given")
            elif name not in meta:
                meta[name], meta[f"{name}_source"] = make(), "generated"
                db.set_meta(name, meta[name])
                db.set_meta(f"{name}_source", "generated")
    return Workspace(
        api_key=meta["api_key"],
        encryption_key=meta["encryption_key"],
        workspace_id=meta["workspace_id"],
        organization_id=meta["organization_id"],
        user_id=meta["user_id"],
        generated_api_key=meta.get("api_key_source") == "generated",
        generated_encryption_key=meta.get("encryption_key_source") == "generated",
    )
