"""SQLAlchemy 2.x engine and request-scoped session, plus Alembic upgrades at start.

SQLite (the default) runs in WAL mode with a busy timeout so several gunicorn workers can
write at once; any other SQLAlchemy URL (PostgreSQL) works unchanged.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


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
        self.engine = make_engine(self.url)
        self._session = scoped_session(sessionmaker(bind=self.engine, expire_on_commit=False))
        app.extensions["database"] = self
        if app.config.get("AUTO_MIGRATE", True):
            self.upgrade(lock_dir=Path(app.config["INSTANCE_PATH"]))

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            if self._session is not None:
                self._session.remove()

    @property
    def session(self) -> Session:
        assert self._session is not None, "Database.init_app() has not run"
        return self._session()

    def upgrade(self, lock_dir: Path, revision: str = "head") -> None:
        """Apply Alembic migrations; a file lock keeps concurrent workers from racing."""
        assert self.engine is not None
        with file_lock(lock_dir / "migrate.lock"), self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


@contextmanager
def file_lock(path: Path):
    """Exclusive lock on ``path`` shared by this host's processes (flock; woken by the kernel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
