"""CloudCruise's side of the upstream errors: its NestJS-style error bodies and the request
fields a validation message may name. The error classes are the neutral family of
:mod:`app.upstream_errors`.

Every message is safe to show to an operator and to log: bodies are parsed for
``message``/``error``/``code`` only and nothing from the request payload is echoed.
"""

from __future__ import annotations

import re
from typing import Any

from app.cloudcruise.fields import FIELDS
from app.upstream_errors import ErrorDetail

SERVICE = "CloudCruise"

#: Request fields a validation message may name (so it can be shown beside that field).
KNOWN_FIELDS = frozenset(FIELDS)

_PROPERTY_RE = re.compile(r"^property (\w+) should not exist")


def field_of(text: str) -> str | None:
    """The request field a CloudCruise validation message is about, if it names one."""
    m = _PROPERTY_RE.match(text)
    if m:
        return m.group(1)
    first = text.split(" ", 1)[0].strip(".,:'\"")
    if first in KNOWN_FIELDS:
        return first
    if first.startswith("proxy.") or first.startswith("cookies"):
        return "proxy" if first.startswith("proxy.") else "cookies"
    return None


def error_detail(body: Any) -> ErrorDetail:
    """``{"statusCode", "error", "message": str | [str], "code"?, "retryAfterSeconds"?}``."""
    data = body if isinstance(body, dict) else {}
    raw = data.get("message") or data.get("error")
    messages = tuple(str(m) for m in raw if m) if isinstance(raw, list) else ()
    message = "; ".join(messages) if isinstance(raw, list) else raw
    code = data.get("code")
    wait = data.get("retryAfterSeconds")
    return ErrorDetail(
        message=message if isinstance(message, str) and message else None,
        code=code if isinstance(code, str) else None,
        messages=messages,
        extra={"retry_after": float(wait)} if isinstance(wait, int | float) else {},
        body=data or None,
    )


__all__ = ["KNOWN_FIELDS", "SERVICE", "error_detail", "field_of"]
