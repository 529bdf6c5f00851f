"""Zero-trust status of r4 vault metadata: signature verified, and no rollback.

The summary checkpoint must verify against a key in the vault's signer directory
(:mod:`app.r4.checkpoints`), and its ``version`` must not be lower than the highest version
this console has ever seen for the vault (kept in the console database, so a restart or
another worker does not forget). Anything else is shown as untrusted: fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.background import in_background
from app.extensions import db
from app.models import R4CheckpointVersion, utcnow
from app.r4.checkpoints import Verdict, rollback_check

LABELS = {"verified": "Verified", "unverified": "Unverified", "rollback": "Rollback detected"}


@dataclass(frozen=True)
class Trust:
    status: str  # verified | unverified | rollback
    reason: str
    version: int | None
    highest: int | None

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def trusted(self) -> bool:
        return self.status == "verified"


def highest_seen(vault_id: str) -> int | None:
    return db.session.scalar(
        select(R4CheckpointVersion.highest_version).where(R4CheckpointVersion.vault_id == vault_id)
    )


def assess(vault_id: str, verdict: Verdict) -> Trust:
    highest = highest_seen(vault_id)
    status = rollback_check(verdict, highest)
    if status == "rollback":
        reason = (
            f"The vault served checkpoint version {verdict.version}, but version {highest} "
            "was seen before: the server may be replaying old metadata."
        )
        return Trust("rollback", reason, verdict.version, highest)
    if status != "verified":
        return Trust("unverified", verdict.reason, verdict.version, highest)
    if verdict.version is not None and (highest is None or verdict.version > highest):
        # a page read writes nothing itself: the high-water mark is raised beside it
        in_background("r4-high-water", _remember, vault_id, verdict.version, verdict.signer)
        highest = verdict.version
    return Trust("verified", verdict.reason, verdict.version, highest)


def _remember(vault_id: str, version: int, signer: str | None) -> None:
    """Raise the stored highest version (never lower it), safely across workers."""
    changed = db.session.execute(
        update(R4CheckpointVersion)
        .where(R4CheckpointVersion.vault_id == vault_id)
        .where(R4CheckpointVersion.highest_version < version)
        .values(highest_version=version, signer=signer, seen_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not changed and highest_seen(vault_id) is None:
        db.session.add(
            R4CheckpointVersion(vault_id=vault_id, highest_version=version, signer=signer)
        )
        try:
            db.session.commit()
        except IntegrityError:  # another worker stored it first: keep the higher one
            db.session.rollback()
            _remember(vault_id, version, signer)
        return
    db.session.commit()
