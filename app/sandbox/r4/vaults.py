"""The emulator's vault model: vaults, items, fields, signer keys and signed checkpoints.

Every change to a vault's item list re-signs its summary checkpoint with ``version + 1``
and keeps the signed envelope *and* the listing it describes as a snapshot
(``summaries``). ``GET …/items`` serves the latest snapshot, or an older one when the
vault is pinned (rollback simulation). Tampering is applied when serving, on top of
correctly signed data, so bumps and rollbacks stay meaningful on a tampered vault.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from app.r4.checkpoints import DEFAULT, Scheme, sign
from app.sandbox.common.sqlite_store import dumps as _dumps

from .crypto import is_id, load_private_key, new_dek, new_id, new_signer_key, seal
from .store import R4Store

USER_KEY_PAIR = "USER_KEY_PAIR"
AGENT_ENCRYPTION_KEY = "AGENT_ENCRYPTION_KEY"
SIGNER_FIELD = {
    USER_KEY_PAIR: "signerUserKeyPairId",
    AGENT_ENCRYPTION_KEY: "signerEncryptionKeyId",
}
TAMPER_MODES = ("items", "signature")
#: where a tampered ("items") vault points its first item instead of the signed website
TAMPERED_WEBSITE = "https://billing-portal.example-payments.net/login"


class R4Error(Exception):
    """An r4 error answer: ``{"error": {"code", "message"}}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @property
    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def vault_not_found(vault_id: str) -> R4Error:
    return R4Error(
        404,
        "vault_not_found",
        f'The vault with ID "{vault_id}" was not found or you do not have access to it.',
    )


def item_not_found(item_id: str) -> R4Error:
    return R4Error(
        404,
        "vault_item_not_found",
        f'The vault item with ID "{item_id}" was not found or you do not have access to it.',
    )


def field_not_found(field_id: str) -> R4Error:
    return R4Error(
        404,
        "vault_field_not_found",
        f'The vault field with ID "{field_id}" was not found or you do not have access to it.',
    )


def iso(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _next_seq(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608


class VaultModel:
    """All reads and writes of the emulated vaults (one per store; thread-safe)."""

    def __init__(self, store: R4Store, scheme: Scheme = DEFAULT) -> None:
        self.store = store
        self.scheme = scheme
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._keys_lock = threading.Lock()

    # -- signer keys ---------------------------------------------------------------------
    def add_signer(self, conn: sqlite3.Connection, key_type: str, *, in_directory: bool) -> str:
        if key_type not in SIGNER_FIELD:
            raise ValueError(f"unknown signer type {key_type}")
        private_pem, public_pem, fingerprint = new_signer_key()
        signer_id = new_id()
        conn.execute(
            "INSERT INTO signers (id, seq, type, private_pem, public_pem, fingerprint,"
            " in_directory, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (signer_id, _next_seq(conn, "signers"), key_type, private_pem, public_pem,
             fingerprint, int(in_directory), iso()),
        )  # fmt: skip
        return signer_id

    def _private_key(self, conn: sqlite3.Connection, signer_id: str) -> rsa.RSAPrivateKey:
        with self._keys_lock:
            key = self._keys.get(signer_id)
        if key is None:
            row = conn.execute("SELECT private_pem FROM signers WHERE id = ?", (signer_id,))
            key = load_private_key(row.fetchone()[0])
            with self._keys_lock:
                self._keys[signer_id] = key
        return key

    def _envelope(self, conn: sqlite3.Connection, signer_id: str, checkpoint: dict) -> dict:
        key_type = conn.execute("SELECT type FROM signers WHERE id = ?", (signer_id,)).fetchone()[0]
        return {
            "checkpoint": checkpoint,
            SIGNER_FIELD[key_type]: signer_id,
            "signature": sign(checkpoint, self._private_key(conn, signer_id), self.scheme),
        }

    # -- writes --------------------------------------------------------------------------
    def create_vault(
        self,
        conn: sqlite3.Connection,
        name: str,
        data_classification: str,
        signer_id: str,
        *,
        created_by: str,
        created_at: str | None = None,
        dek_version: int = 1,
        tamper: str | None = None,
    ) -> str:
        """A new vault with its signed, empty ``version: 1`` summary (as R2 create does)."""
        vault_id = new_id()
        conn.execute(
            "INSERT INTO vaults (id, seq, name, data_classification, encryption_key_id,"
            " created_at, created_by, dek, dek_version, signer_id, tamper)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (vault_id, _next_seq(conn, "vaults"), name, data_classification, new_id(),
             created_at or iso(), created_by, new_dek(), dek_version, signer_id, tamper),
        )  # fmt: skip
        self.resign_summary(conn, vault_id)
        return vault_id

    def add_item(
        self,
        conn: sqlite3.Connection,
        vault_id: str,
        name: str,
        item_type: str,
        websites: list[str],
        fields: list[tuple[str, str, str]],
        *,
        created_at: str | None = None,
        group_id: str | None = None,
    ) -> str:
        """Add an item with ``(name, type, plaintext)`` fields, in the group ``group_id``
        (an opaque id; no group objects are served); sign its detail checkpoint (version 1)
        and re-sign the vault summary (version + 1)."""
        vault = conn.execute(
            "SELECT dek, signer_id FROM vaults WHERE id = ?", (vault_id,)
        ).fetchone()
        item_id = new_id()
        field_rows = []
        for order, (field_name, field_type, plaintext) in enumerate(fields):
            field_rows.append(
                (new_id(), item_id, vault_id, order, field_name, field_type, new_id(),
                 seal(plaintext, vault["dek"]))
            )  # fmt: skip
        checkpoint = {
            "vaultItemId": item_id,
            "vaultId": vault_id,
            "version": 1,
            "name": name,
            "type": item_type,
            "websites": list(websites),
            "groupId": group_id,
            "fields": [
                {"id": r[0], "name": r[4], "type": r[5], "order": r[3],
                 "fieldInstanceIds": [r[6]], "assetIds": []}
                for r in field_rows
            ],
        }  # fmt: skip
        envelope = self._envelope(conn, vault["signer_id"], checkpoint)
        conn.execute(
            "INSERT INTO items (id, vault_id, seq, name, type, websites, group_id, created_at,"
            " detail_version, detail_envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (item_id, vault_id, _next_seq(conn, "items"), name, item_type, _dumps(websites),
             group_id, created_at or iso(), _dumps(envelope)),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO fields (id, item_id, vault_id, ord, name, type, field_instance_id,"
            " value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            field_rows,
        )
        self.resign_summary(conn, vault_id)
        return item_id

    def archive_item(self, conn: sqlite3.Connection, vault_id: str, item_id: str) -> int:
        conn.execute(
            "UPDATE items SET archived_at = ? WHERE id = ? AND vault_id = ?",
            (iso(), item_id, vault_id),
        )
        return self.resign_summary(conn, vault_id)

    def resign_summary(self, conn: sqlite3.Connection, vault_id: str) -> int:
        """Sign the vault's current item list as the next summary version; return it."""
        vault = conn.execute("SELECT * FROM vaults WHERE id = ?", (vault_id,)).fetchone()
        version = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM summaries WHERE vault_id = ?", (vault_id,)
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT i.*, (SELECT count(*) FROM fields f WHERE f.item_id = i.id) AS field_count"
            " FROM items i WHERE vault_id = ? AND archived_at IS NULL ORDER BY seq",
            (vault_id,),
        ).fetchall()
        items = [
            {"id": r["id"], "name": r["name"], "type": r["type"],
             "websites": json.loads(r["websites"]), "groupId": r["group_id"],
             "createdAt": r["created_at"], "fieldCount": r["field_count"]}
            for r in rows
        ]  # fmt: skip
        checkpoint = {
            "vaultId": vault_id,
            "version": version,
            "name": vault["name"],
            "dataClassification": vault["data_classification"],
            "currentDekVersion": vault["dek_version"],
            "items": [
                {k: item[k] for k in ("id", "name", "type", "websites", "groupId")}
                for item in items
            ],
            "groups": [],
        }
        listing = {
            "vaultName": vault["name"],
            "dataClassification": vault["data_classification"],
            "currentDekVersion": vault["dek_version"],
            "items": items,
        }
        envelope = self._envelope(conn, vault["signer_id"], checkpoint)
        conn.execute(
            "INSERT INTO summaries (vault_id, version, envelope, listing) VALUES (?, ?, ?, ?)",
            (vault_id, version, _dumps(envelope), _dumps(listing)),
        )
        return version

    # -- serving helpers -----------------------------------------------------------------
    @staticmethod
    def _vault(conn: sqlite3.Connection, vault_id: str) -> sqlite3.Row:
        row = (
            conn.execute("SELECT * FROM vaults WHERE id = ?", (vault_id,)).fetchone()
            if is_id(vault_id)
            else None
        )
        if row is None:
            raise vault_not_found(vault_id)
        return row

    @staticmethod
    def _item_count(conn: sqlite3.Connection, vault_id: str) -> int:
        return conn.execute(
            "SELECT count(*) FROM items WHERE vault_id = ? AND archived_at IS NULL", (vault_id,)
        ).fetchone()[0]

    @staticmethod
    def _latest_version(conn: sqlite3.Connection, vault_id: str) -> int:
        return conn.execute(
            "SELECT max(version) FROM summaries WHERE vault_id = ?", (vault_id,)
        ).fetchone()[0]

    def _flip(self, envelope: dict) -> dict:
        raw = bytearray(self.scheme.decode(envelope["signature"]))
        raw[len(raw) // 2] ^= 0x01
        return {**envelope, "signature": self.scheme.encode(bytes(raw))}

    @staticmethod
    def _tamper_target(conn: sqlite3.Connection, vault_id: str) -> str | None:
        row = conn.execute(
            "SELECT id FROM items WHERE vault_id = ? AND archived_at IS NULL ORDER BY seq LIMIT 1",
            (vault_id,),
        ).fetchone()
        return row[0] if row else None

    # -- reads ---------------------------------------------------------------------------
    def list_vaults(self) -> dict[str, Any]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM vaults ORDER BY seq").fetchall()
            return {
                "vaults": [
                    {"id": v["id"], "name": v["name"], "isEncrypted": True,
                     "encryptionKeyId": v["encryption_key_id"],
                     "dataClassification": v["data_classification"],
                     "itemCount": self._item_count(conn, v["id"]), "createdAt": v["created_at"]}
                    for v in rows
                ]
            }  # fmt: skip

    def get_vault(self, vault_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            v = self._vault(conn, vault_id)
            return {
                "id": v["id"],
                "name": v["name"],
                "isEncrypted": True,
                "encryptionKeyId": v["encryption_key_id"],
                "dataClassification": v["data_classification"],
                "createdAt": v["created_at"],
                "createdBy": v["created_by"],
                "itemCount": self._item_count(conn, vault_id),
            }

    def list_items(self, vault_id: str) -> dict[str, Any]:
        """Serve a summary snapshot; counts the read (a pin may start after N reads)."""
        with self.store.write() as conn:
            v = self._vault(conn, vault_id)
            reads = v["reads"] + 1
            conn.execute("UPDATE vaults SET reads = ? WHERE id = ?", (reads, vault_id))
            version = self._latest_version(conn, vault_id)
            if v["pinned_version"] is not None and reads > (v["pin_after_reads"] or 0):
                version = v["pinned_version"]
            row = conn.execute(
                "SELECT envelope, listing FROM summaries WHERE vault_id = ? AND version = ?",
                (vault_id, version),
            ).fetchone()
        envelope, listing = json.loads(row["envelope"]), json.loads(row["listing"])
        items = listing["items"]
        if v["tamper"] == "items":
            if items:
                items[0]["websites"] = [TAMPERED_WEBSITE]
            else:
                items.append(
                    {"id": new_id(), "name": "Unsigned item", "type": "LOGIN",
                     "websites": [TAMPERED_WEBSITE], "groupId": None,
                     "createdAt": iso(), "fieldCount": 0}
                )  # fmt: skip
        elif v["tamper"] == "signature":
            envelope = self._flip(envelope)
        return {
            "vaultId": vault_id,
            "vaultName": listing["vaultName"],
            "dataClassification": listing["dataClassification"],
            "currentDekVersion": listing["currentDekVersion"],
            "summaryCheckpoint": envelope,
            "items": items,
            "vaultItemGroups": [],
            "count": len(items),
        }

    def _detail(self, conn: sqlite3.Connection, v: sqlite3.Row, item: sqlite3.Row) -> dict:
        envelope = json.loads(item["detail_envelope"])
        websites = json.loads(item["websites"])
        if v["tamper"] == "items" and item["id"] == self._tamper_target(conn, v["id"]):
            websites = [TAMPERED_WEBSITE]
        elif v["tamper"] == "signature":
            envelope = self._flip(envelope)
        return {"envelope": envelope, "websites": websites}

    def get_item(self, vault_id: str, item_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            v = self._vault(conn, vault_id)
            item = self._live_item(conn, vault_id, item_id)
            fields = conn.execute(
                "SELECT * FROM fields WHERE item_id = ? ORDER BY ord", (item_id,)
            ).fetchall()
            served = self._detail(conn, v, item)
        return {
            "id": item["id"],
            "name": item["name"],
            "type": item["type"],
            "websites": served["websites"],
            "vaultId": vault_id,
            "groupId": item["group_id"],
            "fields": [
                {"id": f["id"], "name": f["name"], "type": f["type"], "order": f["ord"],
                 "fieldInstanceIds": [f["field_instance_id"]], "assetIds": [],
                 "value": f["value"]}
                for f in fields
            ],
            "detailCheckpoint": served["envelope"],
        }  # fmt: skip

    @staticmethod
    def _live_item(conn: sqlite3.Connection, vault_id: str, item_id: str) -> sqlite3.Row:
        row = (
            conn.execute(
                "SELECT * FROM items WHERE id = ? AND vault_id = ? AND archived_at IS NULL",
                (item_id, vault_id),
            ).fetchone()
            if is_id(item_id)
            else None
        )
        if row is None:
            raise item_not_found(item_id)
        return row

    def get_field(self, vault_id: str, field_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            v = self._vault(conn, vault_id)
            f = (
                conn.execute(
                    "SELECT * FROM fields WHERE id = ? AND vault_id = ?", (field_id, vault_id)
                ).fetchone()
                if is_id(field_id)
                else None
            )
            item = (
                conn.execute(
                    "SELECT * FROM items WHERE id = ? AND archived_at IS NULL", (f["item_id"],)
                ).fetchone()
                if f
                else None
            )
            if f is None or item is None:
                raise field_not_found(field_id)
            served = self._detail(conn, v, item)
        return {
            "id": f["id"],
            "name": f["name"],
            "type": f["type"],
            "order": f["ord"],
            "fieldInstanceId": f["field_instance_id"],
            "fieldInstanceIds": [f["field_instance_id"]],
            "assetId": None,
            "assetIds": [],
            "value": f["value"],
            "vaultId": vault_id,
            "vaultItemId": item["id"],
            "vaultItemName": item["name"],
            "detailCheckpoint": served["envelope"],
        }

    def public_keys(self, vault_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            self._vault(conn, vault_id)
            rows = conn.execute(
                "SELECT * FROM signers WHERE in_directory = 1 ORDER BY seq"
            ).fetchall()
        keys = [
            {"id": r["id"], "type": r["type"], "publicKey": r["public_pem"],
             "fingerprint": r["fingerprint"], "createdAt": r["created_at"]}
            for r in rows
        ]  # fmt: skip
        return {"vaultId": vault_id, "keys": keys, "count": len(keys)}

    # -- sandbox controls ----------------------------------------------------------------
    def rollback(self, vault_id: str, version: int | None = None) -> dict[str, Any]:
        """From the next read on, serve the summary snapshot ``version`` (default: the one
        before the latest): an older, validly signed checkpoint."""
        with self.store.write() as conn:
            v = self._vault(conn, vault_id)
            latest = self._latest_version(conn, vault_id)
            if version is None:
                version = latest - 1
            exists = conn.execute(
                "SELECT 1 FROM summaries WHERE vault_id = ? AND version = ?", (vault_id, version)
            ).fetchone()
            if version >= latest or not exists:
                raise R4Error(
                    409,
                    "no_older_checkpoint",
                    f"version must be an earlier signed version (latest is {latest})",
                )
            conn.execute(
                "UPDATE vaults SET pinned_version = ?, pin_after_reads = ? WHERE id = ?",
                (version, v["reads"], vault_id),
            )
        return {"vaultId": vault_id, "servedVersion": version, "latestVersion": latest}

    def clear_rollback(self, vault_id: str) -> dict[str, Any]:
        with self.store.write() as conn:
            self._vault(conn, vault_id)
            conn.execute(
                "UPDATE vaults SET pinned_version = NULL, pin_after_reads = NULL WHERE id = ?",
                (vault_id,),
            )
            latest = self._latest_version(conn, vault_id)
        return {"vaultId": vault_id, "servedVersion": latest, "latestVersion": latest}

    def bump(self, vault_id: str) -> dict[str, Any]:
        """Add an item and re-sign the summary with version + 1 (and stop any rollback)."""
        with self.store.write() as conn:
            self._vault(conn, vault_id)
            n = self._item_count(conn, vault_id) + 1
            item_id = self.add_item(
                conn,
                vault_id,
                f"Sandbox item {n}",
                "LOGIN",
                [f"https://app-{n}.example.com"],
                [("Username", "TEXT", f"bot-{n}"), ("Password", "PASSWORD", new_id())],
            )
            conn.execute(
                "UPDATE vaults SET pinned_version = NULL, pin_after_reads = NULL WHERE id = ?",
                (vault_id,),
            )
            version = self._latest_version(conn, vault_id)
        return {"vaultId": vault_id, "version": version, "itemId": item_id}

    def set_tamper(self, vault_id: str, mode: str | None) -> dict[str, Any]:
        if mode is not None and mode not in TAMPER_MODES:
            raise R4Error(400, "bad_request", "mode must be one of: items, signature, null")
        with self.store.write() as conn:
            self._vault(conn, vault_id)
            conn.execute("UPDATE vaults SET tamper = ? WHERE id = ?", (mode, vault_id))
        return {"vaultId": vault_id, "tamper": mode}

    def vault_id_by_name(self, name: str) -> str:
        with self.store.read() as conn:
            row = conn.execute("SELECT id FROM vaults WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(name)
        return row[0]

    def dek(self, vault_id: str) -> str:
        """The vault's DEK, hex (for the emulator's own tests)."""
        with self.store.read() as conn:
            return self._vault(conn, vault_id)["dek"]
