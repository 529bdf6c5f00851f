"""SQLAlchemy 2.x engine (one per process) and request-scoped session, plus migrations.

SQLite (the default) runs in WAL mode with a busy timeout so several gunicorn workers can
write at once, and migrates itself at start. PostgreSQL (several hosts on one database) is
migrated only by the release step (``flask --app app db upgrade``), serialised by an
advisory lock; a worker whose schema is behind refuses to start with one clear line.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.fileperms import private_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


#: pg_advisory_lock key of schema migrations ("vcmigr" in ASCII)
MIGRATION_LOCK = 0x7663_6D69_6772


class SchemaBehind(RuntimeError):
    """The database schema is older than this code; the release step has not run."""


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """Holds the engine and a scoped session; ``db.session`` is the current request's session."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._session: scoped_session[Session] | None = None

    def init_app(self, app: Any) -> None:
        self.url = app.config["DATABASE_URL"]
        self.engine = make_engine(self.url, app.config.get("DB_POOL_SIZE", 5))
        self._session = scoped_session(sessionmaker(bind=self.engine, expire_on_commit=False))
        app.extensions["database"] = self
        self.lock_dir = Path(app.config["INSTANCE_PATH"])
        database = self.engine.url.database
        if self.is_sqlite and database and database != ":memory:":
            private_file(Path(database))  # operators, sessions, audit log: owner only
        if self.is_sqlite:
            if app.config.get("AUTO_MIGRATE", True):
                self.upgrade(lock_dir=self.lock_dir)
        elif app.config.get("SCHEMA_CHECK", True):
            self.require_current_schema()

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            if self._session is not None:
                self._session.remove()

    @property
    def session(self) -> Session:
        assert self._session is not None, "Database.init_app() has not run"
        return self._session()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def upgrade(self, lock_dir: Path | None = None, revision: str = "head") -> None:
        """Apply Alembic migrations. Concurrent upgrades queue: on SQLite on a host file lock,
        on PostgreSQL on an advisory lock (across hosts); the second finds nothing to do."""
        assert self.engine is not None
        cfg = alembic_config(self.url)
        if self.is_sqlite:
            with (
                file_lock(self._migrate_lock(lock_dir)),
                self.engine.begin() as conn,
            ):
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                conn.commit()
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()

    def _migrate_lock(self, lock_dir: Path | None) -> Path:
        """Beside the database file, so every process using that file queues on it."""
        assert self.engine is not None
        database = self.engine.url.database
        if database and database != ":memory:":
            return Path(database).with_name(Path(database).name + ".migrate.lock")
        return (lock_dir or self.lock_dir) / "migrate.lock"

    def revisions(self) -> tuple[str | None, str]:
        """(the database's schema revision, the code's head revision)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        assert self.engine is not None
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return current, str(head)

    def require_current_schema(self) -> None:
        """Raise :class:`SchemaBehind` unless the schema is at this code's head revision."""
        current, head = self.revisions()
        if current != head:
            raise SchemaBehind(
                f"the database schema is at revision {current or 'none (empty database)'} but "
                f"this code needs {head}: run the release step `flask --app app db upgrade` "
                "first (workers never migrate a shared database themselves)."
            )


@contextmanager
def file_lock(path: Path):
    """Exclusive lock on ``path`` shared by this host's processes (flock; woken by the kernel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
