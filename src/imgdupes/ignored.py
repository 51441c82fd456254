"""Remembered non-duplicates: pairs a person said are different pictures.

Marked at the ``-d`` prompt (answer ``x``) or on the review page, kept in the
hash store's SQLite database (a table of its own), and taken out of every
later run's sets: a set whose pairs are all marked is never offered again,
one with some marked pairs is split where they were.  A file is known by
(dev, inode, size, mtime_ns): once it changes, it is a new picture and may be
offered again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations

import numpy as np

from .group import components
from .model import DupSet, SetEntry

Key = tuple[int, int, int, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ignored_pairs (
    a_dev INTEGER, a_ino INTEGER, a_size INTEGER, a_mtime INTEGER,
    b_dev INTEGER, b_ino INTEGER, b_size INTEGER, b_mtime INTEGER,
    a_path TEXT, b_path TEXT, added REAL,
    PRIMARY KEY (a_dev, a_ino, a_size, a_mtime, b_dev, b_ino, b_size, b_mtime)
) WITHOUT ROWID
"""


def key_of(e: SetEntry) -> Key | None:
    f = e.file
    return None if f is None else (f.dev, f.ino, f.size, f.mtime_ns)


class IgnoredPairs:
    """The table, on the connection of an open HashStore (so it is created
    only inside a database the store has made its own)."""

    def __init__(self, store) -> None:  # store: cache.HashStore
        self.store = store
        self.conn = store.conn
        self.conn.execute(_SCHEMA)

    @classmethod
    def open(cls, cache_dir: str | None, warn: Callable[[str], None]) -> IgnoredPairs | None:
        from .cache import HashStore

        store = HashStore.open(cache_dir, warn)
        if store is None or store.disabled:
            return None
        return cls(store)

    def close(self) -> None:
        self.store.close()

    def pairs(self) -> set[tuple[Key, Key]]:
        rows = self.conn.execute(
            "SELECT a_dev, a_ino, a_size, a_mtime, b_dev, b_ino, b_size, b_mtime FROM ignored_pairs"
        )
        return {(tuple(r[:4]), tuple(r[4:])) for r in rows}  # type: ignore[misc]

    def add(self, entries: Sequence[SetEntry]) -> int:
        """Mark every pair of ``entries`` as not duplicates; returns how many pairs."""
        rows = []
        for a, b in combinations([e for e in entries if e.file is not None], 2):
            ka, kb = key_of(a), key_of(b)
            assert ka is not None and kb is not None
            if kb < ka:
                a, b, ka, kb = b, a, kb, ka
            rows.append((*ka, *kb, a.path, b.path, time.time()))
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO ignored_pairs VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
            )
        return len(rows)

    def listing(self) -> list[tuple[str, str]]:
        return list(self.conn.execute("SELECT a_path, b_path FROM ignored_pairs ORDER BY 1, 2"))

    def forget(self) -> int:
        with self.conn:
            return self.conn.execute("DELETE FROM ignored_pairs").rowcount


def _split_one(
    s: DupSet,
    ignored: set[tuple[Key, Key]],
    linked: Callable[[SetEntry, SetEntry], bool],
) -> list[list[SetEntry]] | None:
    """The parts of ``s`` without its ignored pairs; None when it holds none."""
    keys = [key_of(e) for e in s.entries]
    n = len(keys)
    marked = set()
    for i, j in combinations(range(n), 2):
        a, b = keys[i], keys[j]
        if a is not None and b is not None and ((a, b) if a <= b else (b, a)) in ignored:
            marked.add((i, j))
    if not marked:
        return None
    links = [
        (i, j)
        for i, j in combinations(range(n), 2)
        if (i, j) not in marked and linked(s.entries[i], s.entries[j])
    ]
    comp = components(
        n, np.array([i for i, _ in links], np.int64), np.array([j for _, j in links], np.int64)
    )
    parts: dict[int, list[SetEntry]] = {}
    for i, c in enumerate(comp.tolist()):
        parts.setdefault(c, []).append(s.entries[i])
    return [p for p in parts.values() if len(p) >= 2]


def split_sets(
    sets: Iterable[DupSet],
    ignored: set[tuple[Key, Key]],
    linked: Callable[[SetEntry, SetEntry], bool],
    finish: Callable[[list[SetEntry]], DupSet],
) -> list[DupSet]:
    """Sets without their ignored pairs: a set holding one is re-linked from the
    pairs ``linked`` accepts and not ignored; parts of two or more files stay."""
    out: list[DupSet] = []
    for s in sets:
        parts = _split_one(s, ignored, linked)
        if parts is None:
            out.append(s)
        else:
            out.extend(finish(p) for p in parts)
    return out
