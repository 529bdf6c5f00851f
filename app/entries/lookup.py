"""An entry for a view, or a 404 page: from the index (no upstream call), or read fresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort

from app.cloudcruise import VaultEntry
from app.models import IndexedEntry
from app.services import entries
from app.upstream_errors import NotFoundError


def _or_404(find: Callable[[str], Any], entry_id: str) -> Any:
    try:
        return find(entry_id)
    except NotFoundError:
        abort(404)


def indexed_or_404(entry_id: str) -> IndexedEntry:
    """The indexed entry (what an action needs to name it): no upstream call."""
    return _or_404(entries.locate, entry_id)


def fresh_or_404(entry_id: str) -> VaultEntry:
    """The entry read fresh for a write (its index row brought up to date now)."""
    return _or_404(entries.load, entry_id)


def page_or_404(entry_id: str) -> VaultEntry:
    """The entry read fresh for a page (the request writes nothing)."""
    return _or_404(entries.read, entry_id)
