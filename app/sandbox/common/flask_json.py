"""JSON in and out of the emulators' Flask apps."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, request


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``payload`` as JSON; a ``str`` or ``bytes`` payload is sent as it is (pre-encoded)."""
    text = payload if isinstance(payload, str | bytes) else json.dumps(payload, ensure_ascii=False)
    return Response(text, status=status, headers=headers, mimetype="application/json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN / Infinity: Python accepts them, JSON not


def request_json(invalid: Callable[[], Exception], *, strict: bool = True) -> Any:
    """The JSON request body whatever its content type; empty means ``{}``. Raises
    ``invalid()`` when it is not JSON (``strict``: ``NaN`` and ``Infinity`` are not)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_reject_constant if strict else None)
    except (UnicodeDecodeError, ValueError):
        raise invalid() from None
