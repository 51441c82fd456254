"""``--hashes-from``: the search and group stages on a hash table read from disk.

No image is read.  Sets report the paths exactly as the file writes them;
pixel sizes are unknown (0).  Python objects are made only for the rows
that end up in a set, so a table of millions of rows stays in numpy/Arrow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import Config
from .group import sort_entries
from .hashio import HashTable
from .model import DupSet, SetEntry
from .search import find_matches, query_matches
from .search.bitops import as_words, distances_to

Warn = Callable[[str], None]


def _entry(table: HashTable, k: int) -> SetEntry:
    row = table.matrix[k]
    return SetEntry(
        path=table.path(k),
        size=int(table.size[k]),
        width=0,
        height=0,
        mtime_ns=int(table.mtime_ns[k]),
        hash_hex=_hex(row, table.nbits),
        distance=0,
        hash=row.tobytes(),
    )


def _hex(row: np.ndarray, nbits: int) -> str:
    from . import hashes

    return hashes.to_hex(row.tobytes(), nbits)


def group_table(config: Config, table: HashTable) -> list[DupSet]:
    matches = find_matches(
        table.matrix, table.nbits, config.threshold, config.engine, config.params
    )
    rows = np.flatnonzero(matches.labels >= 0)
    labels = matches.labels[rows]
    order = np.argsort(labels, kind="stable")
    rows, labels = rows[order], labels[order]
    bounds = np.flatnonzero(np.diff(labels)) + 1
    sets = []
    for members in np.split(rows, bounds):
        if len(members) < 2:
            continue
        entries = [_entry(table, k) for k in members.tolist()]
        sort_entries(entries, config.sort, config.reverse)
        first = np.frombuffer(entries[0].hash, dtype=np.uint8).reshape(1, -1)
        member_words = as_words(np.stack([np.frombuffer(e.hash, dtype=np.uint8) for e in entries]))
        dist = distances_to(member_words, as_words(first)[0])
        for e, d in zip(entries, dist.tolist(), strict=True):
            e.distance = int(d)
        sets.append(DupSet(entries))
    sets.sort(key=lambda s: min(e.path.encode("utf-8", "surrogateescape") for e in s.entries))
    return sets


def query_table(config: Config, table: HashTable, qhash: bytes) -> list[SetEntry]:
    idx, dist = query_matches(
        table.matrix, table.nbits, qhash, config.threshold, config.engine, config.params
    )
    entries = []
    for k, d in zip(idx.tolist(), dist.tolist(), strict=True):
        e = _entry(table, k)
        e.distance = int(d)
        entries.append(e)
    by_distance: dict[int, list[SetEntry]] = {}
    for e in entries:
        by_distance.setdefault(e.distance, []).append(e)
    ordered: list[SetEntry] = []
    for d in sorted(by_distance):
        sort_entries(by_distance[d], config.sort, config.reverse)
        ordered.extend(by_distance[d])
    return ordered
