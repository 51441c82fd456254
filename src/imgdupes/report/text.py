"""The text report: the sets in fdupes's layout, the query's matches, the -m summary."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from ..model import DupSet, SetEntry
from .formatting import fdupes_size, set_listing


def write_sets(sets: Sequence[DupSet], out: TextIO, sameline: bool = False) -> None:
    for s in sets:
        out.write(set_listing(s.paths, sameline))


def write_query(
    query: str, entries: Sequence[SetEntry], out: TextIO, sameline: bool = False
) -> None:
    out.write(f"Query: {query}\n\n")
    if entries:
        out.write(set_listing([e.path for e in entries], sameline))


def summary_line(sets: Sequence[DupSet]) -> str:
    """fdupes ``-m`` wording: counts and bytes of the files beyond each set's first."""
    if not sets:
        return "No duplicates found."
    nfiles = sum(len(s) - 1 for s in sets)
    nbytes = sum(e.size for s in sets for e in s.entries[1:])
    head = f"{nfiles} duplicate files (in {len(sets)} sets), occupying "
    # fdupes ends the line with a full stop only when it counts bytes
    return head + fdupes_size(nbytes) + ("." if nbytes < 1024 else "")


def _folders(s: DupSet) -> set[str]:
    return {os.path.dirname(p) or "." for p in s.paths}


def subdir_warning(sets: Sequence[DupSet]) -> str | None:
    """The seed's warning when sets span several folders (``-d`` mode), once per
    run: the seed repeated three lines of it before every set."""
    spanning = sum(len(_folders(s)) > 1 for s in sets)
    if not spanning:
        return None
    return (
        "WARNING! Found similar images in different subdirectories: "
        f"{spanning} of {len(sets)} sets span several folders (--no-subdir-warning hides this)"
    )
