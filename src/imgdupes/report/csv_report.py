"""``--csv FILE``: one row per file of every set, for spreadsheets and scripts.

Columns: set, path, size, width, height, hash, distance, keep, reason
(keep: 1 when ``-N`` keeps the file, 0 when it removes it; the plan's reason).  Names are written
exactly (quoted by the csv module when they hold commas, quotes or newlines;
undecodable bytes written back as the same bytes), except that a cell a
spreadsheet would read as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from ..model import Result

if TYPE_CHECKING:
    from ..plan import SetPlan

FIELDS = ("set", "path", "size", "width", "height", "hash", "distance", "keep", "reason")

# Characters that make Excel, LibreOffice or Google Sheets evaluate a cell
# (OWASP "CSV injection"); tab and carriage return start formulas in some too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``; every other text unchanged."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def rows(result: Result, plans: Sequence[SetPlan] | None = None) -> Iterator[tuple]:
    for k, s in enumerate(result.sets, start=1):
        actions = plans[k - 1].actions if plans is not None else [None] * len(s.entries)
        for e, a in zip(s.entries, actions, strict=True):
            yield (
                k,
                neutralise(e.path),
                e.size,
                e.width,
                e.height,
                neutralise(e.hash_hex),
                e.distance,
                "" if a is None else int(not a.remove),
                "" if a is None else neutralise(a.reason),
            )


def write_rows(result: Result, out: TextIO, plans: Sequence[SetPlan] | None = None) -> None:
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(FIELDS)
    writer.writerows(rows(result, plans))


def write_csv(
    path: str,
    result: Result,
    warn: Callable[[str], None] | None = None,
    plans: Sequence[SetPlan] | None = None,
) -> bool:
    """Write the CSV file; False (after one warning naming the path) on failure."""
    try:
        with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
            write_rows(result, fh, plans)
    except OSError as exc:
        if warn:
            warn(f"{path}: cannot write the CSV report: {exc.strerror or exc}")
        return False
    return True
