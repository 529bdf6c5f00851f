"""Comparing two vaults of one provider: what each has that the other lacks, and what differs.

Provider-neutral. A provider's compare adapter (``Provider.compare``) turns one vault into a
:class:`Side`: its rows, each with a matching key (r4: the item name; Qoder: the MCP server
URL, both normalised) and the attributes compared, and, for r4, the side's trust. This
module pairs the rows and sorts them into groups; :mod:`app.vaults.compare` is the page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: group key -> heading, in display order
GROUPS: dict[str, str] = {
    "only_a": "Only in A",
    "only_b": "Only in B",
    "different": "In both, different",
    "same": "Same",
}


@dataclass(frozen=True)
class Row:
    """One item or credential of a vault, as compared."""

    key: str  # the normalised matching key
    title: str  # what the operator reads (the name or URL as served)
    type: str  # the type filter's value
    url: str  # where the item is shown in its vault
    #: attribute -> comparable value (a website list as a frozenset, a count as an int)
    values: Mapping[str, Any] = field(default_factory=dict)
    #: attribute -> the value as shown
    shown: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trust:
    """A side's checkpoint status (r4): verified, unverified or rollback."""

    status: str
    label: str
    reason: str


@dataclass(frozen=True)
class Side:
    """One vault of the comparison: its rows, or why it could not be read."""

    letter: str  # "A" or "B"
    vault_id: str
    name: str = ""
    url: str = ""
    rows: tuple[Row, ...] = ()
    error: str | None = None
    trust: Trust | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Pair:
    key: str
    group: str
    a: Row | None
    b: Row | None
    #: the attributes that differ (labels come from the adapter)
    differences: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return (self.a or self.b).title  # type: ignore[union-attr]  # one side is set

    @property
    def type(self) -> str:
        return (self.a or self.b).type  # type: ignore[union-attr]


def pair(a_rows: Iterable[Row], b_rows: Iterable[Row], attributes: Sequence[str]) -> list[Pair]:
    """Match rows by key (several rows with one key pair up in order; the rest are only on
    their side) and sort each pair into its group."""
    by_key: dict[str, list[Row]] = defaultdict(list)
    for row in b_rows:
        by_key[row.key].append(row)
    pairs: list[Pair] = []
    for row in a_rows:
        match = by_key[row.key].pop(0) if by_key.get(row.key) else None
        if match is None:
            pairs.append(Pair(row.key, "only_a", row, None))
            continue
        differ = tuple(n for n in attributes if row.values.get(n) != match.values.get(n))
        pairs.append(Pair(row.key, "different" if differ else "same", row, match, differ))
    for rows in by_key.values():
        pairs.extend(Pair(row.key, "only_b", None, row) for row in rows)
    order = {g: i for i, g in enumerate(GROUPS)}
    pairs.sort(key=lambda p: (order[p.group], p.key, p.title))
    return pairs


def counts(pairs: Iterable[Pair]) -> dict[str, int]:
    out = dict.fromkeys(GROUPS, 0)
    for p in pairs:
        out[p.group] += 1
    return out


def matching(pairs: Iterable[Pair], *, group: str, type_: str, text: str) -> list[Pair]:
    """The pairs the filters keep. No group: every difference (the same ones are counted and
    listed only when asked for)."""
    needle = text.strip().casefold()

    def keep(p: Pair) -> bool:
        if group and p.group != group:
            return False
        if not group and p.group == "same":
            return False
        if type_ and type_ not in {r.type for r in (p.a, p.b) if r is not None}:
            return False
        if needle:
            haystack = " ".join(r.title for r in (p.a, p.b) if r is not None).casefold()
            return needle in haystack or needle in p.key
        return True

    return [p for p in pairs if keep(p)]


@dataclass(frozen=True)
class Adapter:
    """How one provider's vaults are compared (declared in its package, named by the
    registry's ``Provider.compare``)."""

    #: what rows are, for headings: "items", "credentials"
    noun: str
    #: what rows are matched by, for the page: "name", "MCP server URL"
    matched_by: str
    #: attribute -> label, in display order
    attributes: Mapping[str, str]
    #: type value -> label (the type filter)
    types: Mapping[str, str]
    #: ``vaults()`` -> [(id, name)] every vault a comparison may pick
    vaults: Callable[[], list[tuple[str, str]]]
    #: ``load(vault_id, letter)`` -> Side; raises NotFoundError for an unknown vault
    load: Callable[[str, str], Side]
    #: whether sides carry a checkpoint trust status
    trusted: bool = False


@dataclass
class Comparison:
    provider: str
    adapter: Adapter
    a: Side
    b: Side
    pairs: list[Pair] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Both sides read: the groups mean something."""
        return self.a.ok and self.b.ok

    @property
    def rollback(self) -> Side | None:
        """A side whose checkpoint went back: the comparison is blocked."""
        return next((s for s in (self.a, self.b) if s.trust and s.trust.status == "rollback"), None)

    @property
    def unverified(self) -> list[Side]:
        """Sides whose metadata is not authenticated by a verified checkpoint."""
        if not self.adapter.trusted:
            return []
        return [
            s
            for s in (self.a, self.b)
            if s.ok and (s.trust is None or s.trust.status != "verified")
        ]

    @property
    def verified(self) -> bool:
        return self.adapter.trusted and not self.unverified and self.rollback is None


def compare(provider: str, adapter: Adapter, a: Side, b: Side) -> Comparison:
    result = Comparison(provider, adapter, a, b)
    if result.complete and result.rollback is None:
        result.pairs = pair(a.rows, b.rows, list(adapter.attributes))
    return result
