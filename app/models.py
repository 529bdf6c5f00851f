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
    #: "local" (a password here) or "sso" (created and updated by OpenID Connect sign-in)
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    #: the identity provider's ``iss`` and ``sub`` of an SSO operator ("iss|sub")
    sso_subject: Mapped[str | None] = mapped_column(String(512), unique=True)
    #: the TOTP secret, encrypted with a key kept outside the database (never plaintext here)
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: a one-time password was set (created or reset by an admin): change it at sign-in
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

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


class RecoveryCode(Base):
    """A one-time recovery code of an operator's two-factor sign-in, stored hashed."""

    __tablename__ = "operator_recovery_codes"
    __table_args__ = (Index("ix_operator_recovery_codes_operator", "operator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorLink(Base):
    """A one-time link an admin hands out: an invitation (set a first password) or a
    password reset. Only the SHA-256 of its token is stored."""

    __tablename__ = "operator_links"
    __table_args__ = (Index("ix_operator_links_operator", "operator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(64))


class OperatorSession(Base):
    """A signed-in browser. The cookie holds a random token; this row, keyed by the token's
    SHA-256, is the session: every host sees it, and deleting it signs the browser out."""

    __tablename__ = "operator_sessions"
    __table_args__ = (Index("ix_operator_sessions_operator", "operator_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: absolute end, whatever the activity (VAULT_CONSOLE_SESSION_HOURS after sign-in)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: until when revealing secrets needs no password re-entry
    sudo_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))


class ThrottleCounter(Base):
    """Failed attempts of one key (``user:NAME``, ``ip:ADDR``, ``sudo:ID``) in the current
    window; incremented atomically before a password is checked (see services.throttle)."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer, default=0)


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
    #: 2 = linked by HMAC under the chain key; None = a legacy (plain SHA-256) event
    chain: Mapped[int | None] = mapped_column(Integer)
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
    pruned_by: Mapped[str | None] = mapped_column(String(64))
    #: keyed MAC of the anchor's fields: a forged anchor does not verify
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A keyed statement "the chain was intact through event #N with this hash": written by
    every verification and every ``CHECKPOINT_EVERY`` appends, also to the log sink. Never
    removed or moved backwards, so a table that ends below one was truncated."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    through_id: Mapped[int] = mapped_column(Integer)
    through_hash: Mapped[str] = mapped_column(String(64))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    event_count: Mapped[int | None] = mapped_column(Integer)
    #: keyed MAC of (through_id, through_hash, event_count, verified_at)
    mac: Mapped[str | None] = mapped_column(String(64))


class R4CheckpointVersion(Base):
    """Highest signed summary-checkpoint version seen per r4 vault (rollback detection)."""

    __tablename__ = "r4_checkpoint_versions"

    vault_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    highest_version: Mapped[int] = mapped_column(Integer)
    signer: Mapped[str | None] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IndexedEntry(Base):
    """One upstream vault entry in the entries index: metadata only, never a secret.

    A secret-free, synchronized copy of what the list, filters, sorts, the overview and
    drift detection need (see :mod:`app.services.entry_index`). Column names follow the
    API's field names. Secret fields are present only as a keyed fingerprint of their
    ciphertext (``fp_*``), so a secret changed elsewhere is detectable without storing it;
    cookies and storage only as counts.
    """

    __tablename__ = "entry_index"
    __table_args__ = (
        Index("ix_entry_index_key", "permissioned_user_id", "domain"),
        Index("ix_entry_index_browse", "deleted_at", "name_key", "id", "search_text"),
        Index("ix_entry_index_pid", "deleted_at", "pid_key", "domain", "id"),
        Index("ix_entry_index_host", "host", "domain"),
        Index("ix_entry_index_tfa", "deleted_at", "tfa", "name_key", "id"),
        Index("ix_entry_index_proxy", "proxy_mode", "name_key"),
        Index("ix_entry_index_updated", "deleted_at", "updated_at", "pid_key", "id"),
        Index("ix_entry_index_expires", "has_session", "effective_expires_at"),
        Index("ix_entry_index_outside", "changed_outside_at"),
        Index("ix_entry_index_provider", "secret_provider_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    permissioned_user_id: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(2048))
    user_alias: Mapped[str | None] = mapped_column(String(255))
    tfa_method: Mapped[str | None] = mapped_column(String(32))
    persist_cookies: Mapped[bool] = mapped_column(Boolean, default=False)
    persist_local_storage: Mapped[bool] = mapped_column(Boolean, default=False)
    persist_session_storage: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_csrf_cookies: Mapped[bool | None] = mapped_column(Boolean)
    cookie_domain_to_store: Mapped[str | None] = mapped_column(String(2048))
    expiry_time_from_last_use: Mapped[str | None] = mapped_column(String(255))
    expiry_time_from_session_data_set: Mapped[str | None] = mapped_column(String(255))
    allow_multiple_sessions: Mapped[bool | None] = mapped_column(Boolean)
    max_concurrency: Mapped[int | None] = mapped_column(Integer)
    prevent_concurrency_during_login: Mapped[bool | None] = mapped_column(Boolean)
    proxy_setting: Mapped[str | None] = mapped_column(String(32))
    #: static IP or country code; never a custom proxy URL (that is a secret: fp_proxy_value)
    proxy_value: Mapped[str | None] = mapped_column(String(255))
    secret_provider_id: Mapped[str | None] = mapped_column(String(255))
    secret_ref: Mapped[str | None] = mapped_column(String(1024))
    secret_cache_ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    fp_user_name: Mapped[str | None] = mapped_column(String(64))
    fp_password: Mapped[str | None] = mapped_column(String(64))
    fp_tfa_secret: Mapped[str | None] = mapped_column(String(64))
    fp_proxy_value: Mapped[str | None] = mapped_column(String(64))
    # runtime data written by agents: indexed, never reported as drift
    effective_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_data_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cookie_count: Mapped[int] = mapped_column(Integer, default=0)
    local_storage_count: Mapped[int] = mapped_column(Integer, default=0)
    session_storage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``updated_at`` exactly as the API sent it (the conflict check compares this text)
    updated_at_text: Mapped[str | None] = mapped_column(String(64))
    # derived, for the list's search, filters and sorts
    host: Mapped[str] = mapped_column(String(255), default="")
    tfa: Mapped[str] = mapped_column(String(32), default="none")
    proxy_mode: Mapped[str] = mapped_column(String(16), default="none")
    has_session: Mapped[bool] = mapped_column(Boolean, default=False)
    name_key: Mapped[str] = mapped_column(String(600), default="")
    pid_key: Mapped[str] = mapped_column(String(255), default="")
    search_text: Mapped[str] = mapped_column(String(2600), default="")
    #: hash of every value above: a sync rewrites a row only when this differs
    digest: Mapped[str] = mapped_column(String(40), default="")
    #: hash of the configuration values (not runtime data): drift when this differs
    config_digest: Mapped[str] = mapped_column(String(40), default="")
    # kept by the console, not from upstream
    changed_outside_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when this console last wrote the row from an upstream answer; a sync whose fetch
    #: began before then leaves the row alone (its copy may predate the write)
    console_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: set when this console deleted the entry, until a sync confirms it is gone
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # ---- what templates and services read (the list's names, and a VaultEntry's)
    @property
    def alias(self) -> str:
        return self.user_alias or ""

    @property
    def pid(self) -> str:
        return self.permissioned_user_id

    @property
    def title(self) -> str:
        return self.user_alias or self.permissioned_user_id

    @property
    def persist_local(self) -> bool:
        return self.persist_local_storage

    @property
    def persist_session(self) -> bool:
        return self.persist_session_storage

    @property
    def proxy(self) -> str:
        return self.proxy_mode

    @property
    def expires_at(self) -> datetime | None:
        return self.effective_expires_at

    @property
    def provider_backed(self) -> bool:
        return bool(self.secret_provider_id)

    def session_status(self, now: datetime) -> str:
        from app.services.entry_index import session_status

        return session_status(self.has_session, self.effective_expires_at, now)

    def has_secret(self, name: str) -> bool:
        return bool(getattr(self, f"fp_{name}", None))

    def to_mapping(self) -> dict[str, object]:
        """The entry's indexed fields under the API's names (secrets as None, like a
        :class:`VaultEntry`); ``updated_at`` is the API's own text."""
        from app.services.entry_index import CONFIG_FIELDS

        data: dict[str, object] = {"id": self.id}
        data.update({name: getattr(self, name) for name in CONFIG_FIELDS})
        data["updated_at"] = self.updated_at_text
        for name in ("user_name", "password", "tfa_secret"):
            data[name] = None
        return data

    def get(self, name: str, default: object = None) -> object:
        return self.to_mapping().get(name, default)


class BackgroundJob(Base):
    """State of a background job shared by every worker and host, and its lease.

    A process runs the job only while it holds the lease (``lease_owner`` until
    ``lease_until``), taken with one conditional UPDATE, so at most one runs at a time on
    SQLite and PostgreSQL alike. The outcome is stored here for every process to show.
    """

    __tablename__ = "background_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: JSON summary of the last successful run (counts)
    result: Mapped[str | None] = mapped_column(Text)
