"""Cursor paging as the Qoder API does it (``after_id`` / ``before_id`` / ``limit``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

PAGE_SIZES = (20, 50, 100)


@dataclass(frozen=True)
class Cursor:
    after_id: str | None = None
    before_id: str | None = None
    limit: int = 20

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Cursor:
        try:
            limit = int(args.get("limit", 20))
        except ValueError:
            limit = 20
        after = (args.get("after_id") or "").strip()[:80] or None
        before = (args.get("before_id") or "").strip()[:80] or None
        if after and before:  # the API refuses both; keep the forward one
            before = None
        return cls(after, before, limit if limit in PAGE_SIZES else 20)

    def kwargs(self) -> dict[str, Any]:
        return {"after_id": self.after_id, "before_id": self.before_id, "limit": self.limit}

    def links(self, page: Any, base: str, keep: Mapping[str, str]) -> dict[str, str | None]:
        """URLs of the next (older) and previous (newer) pages, or None at either end.

        ``has_more`` tells whether there is more in the direction just paged: forward for
        ``after_id`` (or no cursor), backward for ``before_id``.
        """
        data = page.data
        if not data:
            return {"next": None, "previous": None}
        backwards = self.before_id is not None
        more_forward = (page.has_more and not backwards) or backwards
        more_backward = (page.has_more and backwards) or self.after_id is not None

        def url(**cursor: str) -> str:
            args = {k: v for k, v in keep.items() if v} | {"limit": str(self.limit)} | cursor
            return f"{base}?{urlencode(args)}"

        return {
            "next": url(after_id=page.last_id) if more_forward and page.last_id else None,
            "previous": url(before_id=page.first_id) if more_backward and page.first_id else None,
        }
