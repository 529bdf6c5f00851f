"""PostgreSQL ``interval`` strings as the vault API uses them for session expiry.

The API documents ``expiry_time_from_last_use`` / ``expiry_time_from_session_data_set``
as PostgreSQL intervals (``"01:30:00"``, ``"7 days 00:00:00"``). This module accepts the
forms PostgreSQL accepts that an operator would plausibly type:

* clock time ``HH:MM[:SS[.ffffff]]`` (hours may exceed 24);
* unit phrases ``7 days``, ``1 day 02:00:00``, ``2 hours 30 minutes``, ``1 week``,
  ``1 mon``, ``1 year`` with the usual abbreviations (``h``, ``min``, ``s``, ``d``, ``w``);
* ISO 8601 durations ``PT1H30M``, ``P7D``, ``P1DT2H``.

Months count as 30 days and years as 365 days (PostgreSQL's ``justify`` convention);
negative and zero-length intervals are rejected because an expiry must lie in the future.
:func:`format_interval` gives PostgreSQL's own output style (``1 day 02:00:00``,
``7 days``, ``01:30:00``) and :func:`humanize_interval` an operator-facing preview
(``1 h 30 min``).
"""

from __future__ import annotations

import re
from datetime import timedelta

MAX_INTERVAL = timedelta(days=3650)

_UNITS = {
    "microsecond": 1e-6, "microseconds": 1e-6, "us": 1e-6,
    "millisecond": 1e-3, "milliseconds": 1e-3, "ms": 1e-3,
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "m": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600,
    "day": 86400, "days": 86400, "d": 86400,
    "week": 7 * 86400, "weeks": 7 * 86400, "w": 7 * 86400,
    "mon": 30 * 86400, "mons": 30 * 86400, "month": 30 * 86400, "months": 30 * 86400,
    "year": 365 * 86400, "years": 365 * 86400, "y": 365 * 86400,
}  # fmt: skip

_CLOCK = re.compile(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d{1,6})?))?$")
_UNIT_TERM = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_ISO = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


class IntervalError(ValueError):
    """The text is not an interval the API accepts; the message says why."""


def parse_interval(text: str) -> timedelta:
    """Parse ``text`` into a positive :class:`timedelta` or raise :class:`IntervalError`."""
    if not isinstance(text, str) or not text.strip():
        raise IntervalError("Enter an interval such as 01:30:00 or 7 days.")
    raw = text.strip()
    if len(raw) > 64:
        raise IntervalError("That interval is too long to be valid.")
    seconds = _parse_iso(raw.upper()) if raw[:1] in "pP" else _parse_postgres(raw.lower())
    if seconds <= 0:
        raise IntervalError("The interval must be longer than zero.")
    delta = timedelta(seconds=seconds)
    if delta > MAX_INTERVAL:
        raise IntervalError("The interval must be at most 10 years.")
    return delta


def _parse_iso(raw: str) -> float:
    m = _ISO.match(raw)
    if not m or raw in ("P", "PT") or raw.endswith("T"):
        raise IntervalError(f"“{raw}” is not an ISO 8601 duration such as PT1H30M or P7D.")
    y, mo, w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return y * 365 * 86400 + mo * 30 * 86400 + w * 7 * 86400 + d * 86400 + h * 3600 + mi * 60 + s


def _parse_postgres(raw: str) -> float:
    raw = raw.removeprefix("@").strip().replace(",", " ")
    if raw.startswith("-") or " -" in raw:
        raise IntervalError("The interval must be positive.")
    total = 0.0
    rest = raw
    clock = re.search(r"(\d+:\d+(?::\d+(?:\.\d+)?)?)\s*$", rest)
    if clock:
        m = _CLOCK.match(clock.group(1))
        if not m:
            raise IntervalError(f"“{clock.group(1)}” is not a time of the form HH:MM:SS.")
        total += int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3) or 0)
        rest = rest[: clock.start()].strip()
    consumed = 0
    for term in _UNIT_TERM.finditer(rest):
        unit = term.group(2)
        if unit not in _UNITS:
            raise IntervalError(f"“{unit}” is not a unit PostgreSQL knows (use days, hours, …).")
        total += float(term.group(1)) * _UNITS[unit]
        consumed += len(term.group(0))
    leftover = re.sub(r"\s+", "", _UNIT_TERM.sub("", rest))
    if leftover:
        raise IntervalError(
            f"“{raw}” is not a duration: enter one like 01:30:00, 90 minutes or 7 days."
        )
    if not clock and not consumed:
        raise IntervalError(f"“{raw}” is not a duration: enter one like 01:30:00 or 7 days.")
    return total


def format_interval(delta: timedelta) -> str:
    """PostgreSQL's default output for an interval of days and time: ``1 day 02:00:00``."""
    total = delta.total_seconds()
    days, rem = divmod(int(total), 86400)
    frac = round(total - int(total), 6)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if frac:
        clock += f"{frac:.6f}".lstrip("0").rstrip("0")
    if not days:
        return clock
    day_part = f"{days} day" if days == 1 else f"{days} days"
    return day_part if clock == "00:00:00" else f"{day_part} {clock}"


def normalize_interval(text: str) -> str:
    """Parse and re-emit in PostgreSQL's output style."""
    return format_interval(parse_interval(text))


def humanize_interval(delta: timedelta) -> str:
    """Short operator preview: ``1 h 30 min``, ``7 d``, ``1 d 2 h``, ``45 s``."""
    total = int(round(delta.total_seconds()))
    if total <= 0:
        return "0 s"
    parts = []
    for size, label in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        value, total = divmod(total, size)
        if value:
            parts.append(f"{value} {label}")
    return " ".join(parts)


def describe_interval(text: str | None) -> str:
    """Preview for a stored or typed value; never raises (for templates)."""
    if not text:
        return "no expiry"
    try:
        return humanize_interval(parse_interval(text))
    except IntervalError:
        return "not a valid interval"
