"""What the compare-seed tests of both providers check the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def assert_differs_as_seeded(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    values: Callable[[Any], Mapping[str, Any]],
    attributes: Iterable[str],
    *,
    only_a: set[str],
    only_b: set[str],
    same: set[str],
    changed: Mapping[str, str],
) -> None:
    """Two vaults' rows by matching key: exactly the seeded only-in sets, and per shared
    key exactly the one seeded attribute difference (or none)."""
    assert set(a) - set(b) == only_a and set(b) - set(a) == only_b
    names = list(attributes)
    differences = {
        k: [n for n in names if values(a[k])[n] != values(b[k])[n]] for k in set(a) & set(b)
    }
    assert {k for k, diff in differences.items() if not diff} == same
    assert {k: diff for k, diff in differences.items() if diff} == {
        k: [attr] for k, attr in changed.items()
    }
