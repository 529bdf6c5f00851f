"""What a save sends: the fields that differ, removals as the API allows them, and the
conflict panel's rows. The save itself is :func:`app.services.entry_commands.save`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from app.cloudcruise import fields as catalogue
from app.cloudcruise.fields import Clear


class Stored(Protocol):
    """What a save compares with: a :class:`~app.cloudcruise.VaultEntry` read fresh, or an
    :class:`~app.models.IndexedEntry` row (bulk edits plan from the index)."""

    @property
    def proxy_setting(self) -> str | None: ...

    def has_secret(self, name: str) -> bool: ...

    def to_mapping(self) -> Mapping[str, Any]: ...


def _is_secret(name: str, changes: dict[str, Any], current: Stored) -> bool:
    """A field whose new value is a secret: compared as "given or not", never by value."""
    mode = changes.get("proxy_setting", current.proxy_setting)
    return catalogue.is_secret(name, {"proxy_setting": mode})


def same(stored: Any, wanted: Any) -> bool:
    """Equal, treating an unset (null) flag or text as equal to false / empty."""
    if stored is None and wanted in (False, ""):
        return True
    if wanted is None and stored in (False, ""):
        return True
    return stored == wanted and type(stored) is type(wanted)


def diff(current: Stored, wanted: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``wanted`` that differs from ``current`` (secrets: always if given)."""
    data = current.to_mapping()
    out: dict[str, Any] = {}
    for name, value in wanted.items():
        if _is_secret(name, wanted, current):
            if value is not None or current.has_secret(name):
                out[name] = value
            continue
        if not same(data.get(name), value):
            out[name] = value
    if "proxy_value" in out and "proxy_setting" not in out:
        # the mode decides whether the value is encrypted: always send it along
        out["proxy_setting"] = wanted.get("proxy_setting", data.get("proxy_setting"))
    return out


def removals(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``changes`` as they can be sent: a removed value becomes what the catalogue says
    clears that field (``null`` only where the API documents it), is left out, or — where
    the API has no documented way — a message for the operator instead."""
    body: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, value in changes.items():
        spec = catalogue.FIELDS.get(name)
        if spec is None or spec.blob or value not in (None, ""):
            body[name] = value
        elif spec.clear is Clear.NEVER:
            problems[name] = spec.keep or f"{spec.label} cannot be cleared."
        elif spec.clear is not Clear.OMIT:
            body[name] = spec.cleared()
    return body, problems


def conflict_rows(current: Stored, wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored now / yours per field the operator wants to set, as labels and formatted
    values. Secrets show as markers and stored browser state (live session tokens) as
    sizes: never their values."""
    data = current.to_mapping()
    rows = []
    for name, mine in sorted(wanted.items(), key=lambda kv: catalogue.label(kv[0])):
        stored = data.get(name)
        if _is_secret(name, wanted, current):
            marker = True
            theirs = "set" if current.has_secret(name) else "not set"
            yours = "new value" if mine is not None else "remove"
            differs = True
        elif name in catalogue.SESSION_BLOBS:
            marker = True
            theirs = catalogue.format_value(name, stored)
            yours = f"replace with {catalogue.format_value(name, mine)}" if mine else "clear"
            differs = stored != mine
        else:
            marker, differs = False, not same(stored, mine)
            theirs, yours = catalogue.format_value(name, stored), catalogue.format_value(name, mine)
        rows.append(
            {
                "field": name,
                "label": catalogue.label(name),
                "theirs": theirs,
                "yours": yours,
                "secret": marker,
                "differs": differs,
            }
        )
    return rows


__all__ = ["conflict_rows", "diff", "removals", "same"]
