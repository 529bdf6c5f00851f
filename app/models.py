"""Console database models (SQLAlchemy 2.x typed mappings). Schema changes go through Alembic."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "editor": 1, "admin": 2}[self.value]


class Operator(UserMixin, Base):
    """A person who logs in to the console."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Bumped when the operator is disabled or their password changes: old sessions end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, minimum: Role | str) -> bool:
        return self.role_enum.rank >= Role(minimum).rank

    @property
    def can_edit(self) -> bool:
        return self.has_role(Role.EDITOR)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)


class LoginAttempt(Base):
    """One login attempt; failures drive throttling per username and per client IP."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One audit event. Append-only (database triggers) and hash-chained (see services.audit).

    ``ts`` is stored as the exact ISO-8601 string (UTC, microseconds) that was hashed.
    ``changes`` holds before/after of non-secret fields; secret fields appear only as
    ``{"changed": true, "fingerprint": <keyed HMAC>}``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_ts", "ts"),
        Index("ix_audit_events_operator_id", "operator", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_target_id", "target_id", "id"),
        Index("ix_audit_events_outcome_id", "outcome", "id"),
        Index("ix_audit_events_request_id", "request_id"),
        Index("ix_audit_events_target_pid_id", "target_pid", "id"),
        Index("ix_audit_events_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[int | None] = mapped_column(Integer)
    operator: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_pid: Mapped[str | None] = mapped_column(String(255))
    target_domain: Mapped[str | None] = mapped_column(String(2048))
    fields: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[float | None] = mapped_column(Float)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """Where the chain continues after a prune: the hash the first kept event links to."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pruned_before: Mapped[str] = mapped_column(String(32))
    first_kept_id: Mapped[int | None] = mapped_column(Integer)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    archived_count: Mapped[int] = mapped_column(Integer)
    archive_path: Mapped[str] = mapped_column(String(1024))
    archive_sha256: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The last event a verification reached, so the audit page only checks newer events."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    through_id: Mapped[int] = mapped_column(Integer)
    through_hash: Mapped[str] = mapped_column(String(64))
    full: Mapped[bool] = mapped_column(Boolean, default=False)


class R4CheckpointVersion(Base):
    """Highest signed summary-checkpoint version seen per r4 vault (rollback detection)."""

    __tablename__ = "r4_checkpoint_versions"

    vault_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    highest_version: Mapped[int] = mapped_column(Integer)
    signer: Mapped[str | None] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
