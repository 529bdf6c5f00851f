"""Runtime files only their owner may read: the console's and the sandboxes' databases hold
operators, sessions, the audit log and (sandbox) workspace keys. No Flask imports."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: SQLite creates a database's -wal and -shm files with the database file's own mode
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing, and make it (and an SQLite file's companions) 0600
    before anything is written to it."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    for suffix in SQLITE_COMPANIONS:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            with contextlib.suppress(PermissionError):
                os.chmod(companion, 0o600)
