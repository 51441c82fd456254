"""``--hashes-from``: the search and group stages on a hash table read from disk.

No image is read.  Sets report the paths exactly as the file writes them;
pixel sizes are unknown (0).  Python objects are made only for the rows
that end up in a set, so a table of millions of rows stays in numpy/Arrow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import hashes
from .config import Config
from .group import finish_set, nearest_first, order_sets
from .hashio import HashTable
from .model import DupSet, SetEntry
from .search import find_matches, query_matches

Warn = Callable[[str], None]


def _entry(table: HashTable, k: int) -> SetEntry:
    row = table.matrix[k]
    return SetEntry(
        path=table.path(k),
        size=int(table.size[k]),
        width=0,
        height=0,
        mtime_ns=int(table.mtime_ns[k]),
        hash_hex=hashes.to_hex(row.tobytes(), table.nbits),
        distance=0,
        hash=row.tobytes(),
    )


def group_table(config: Config, table: HashTable) -> list[DupSet]:
    matches = find_matches(
        table.matrix, table.nbits, config.threshold, config.engine, config.params
    )
    rows = np.flatnonzero(matches.labels >= 0)
    labels = matches.labels[rows]
    order = np.argsort(labels, kind="stable")
    rows, labels = rows[order], labels[order]
    bounds = np.flatnonzero(np.diff(labels)) + 1
    sets = [
        finish_set([_entry(table, k) for k in members.tolist()], config.sort, config.reverse)
        for members in np.split(rows, bounds)
        if len(members) >= 2
    ]
    return order_sets(sets)


def query_table(config: Config, table: HashTable, qhash: bytes) -> list[SetEntry]:
    idx, dist = query_matches(
        table.matrix, table.nbits, qhash, config.threshold, config.engine, config.params
    )
    entries = []
    for k, d in zip(idx.tolist(), dist.tolist(), strict=True):
        e = _entry(table, k)
        e.distance = int(d)
        entries.append(e)
    return nearest_first(entries, config.sort, config.reverse)
