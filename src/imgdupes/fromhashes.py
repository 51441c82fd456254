"""``--hashes-from``: the search and group stages on a hash table read from disk.

No image is read.  Sets report the paths exactly as the file writes them;
pixel sizes are unknown (0).  Python objects are made only for the rows
that end up in a set, so a table of millions of rows stays in numpy/Arrow.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import Config
from .group import ranked, row_entry, sets_of
from .hashio import HashTable
from .model import DupSet, SetEntry
from .search import find_matches, query_matches

Warn = Callable[[str], None]


def _entry(table: HashTable, k: int) -> SetEntry:
    return row_entry(
        table.path(k),
        int(table.size[k]),
        int(table.mtime_ns[k]),
        table.matrix[k].tobytes(),
        table.nbits,
    )


def group_table(config: Config, table: HashTable) -> list[DupSet]:
    matches = find_matches(
        table.matrix, table.nbits, config.threshold, config.engine, config.params
    )
    return sets_of(matches.labels, lambda k: _entry(table, k), config.sort, config.reverse)


def query_table(config: Config, table: HashTable, qhash: bytes) -> list[SetEntry]:
    idx, dist = query_matches(
        table.matrix, table.nbits, qhash, config.threshold, config.engine, config.params
    )
    found = dict(zip(idx.tolist(), dist.tolist(), strict=True))
    return ranked(found, lambda k: _entry(table, k), config.sort, config.reverse)
