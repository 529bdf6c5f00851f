"""File downloads of tables (the audit log, vault comparisons): CSV whose cells a
spreadsheet shows as text, or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

#: a spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def csv_cell(value: object) -> object:
    """Text a spreadsheet will show as text: a leading quote disarms a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def lines(fmt: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """``rows`` as CSV (a header, then neutralised cells) or JSON Lines, in chunks."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({c: row.get(c) for c in columns}, sort_keys=True) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: csv_cell(row.get(c)) for c in columns})
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
