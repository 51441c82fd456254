"""Sorting helpers for the search and grouping passes over millions of rows.

numpy's stable argsort of 32- and 64-bit integers is a merge sort: 0.23 s
for a million keys on our 2-core machine, where ``np.sort`` of int64 values
(a vectorised quicksort) takes 0.02 s.  A warm run over a million files
sorts a few million keys per search pass, so the order these passes need
is made from plain value sorts where the keys allow it.
"""

from __future__ import annotations

import numpy as np

_LOW = np.int64(0xFFFFFFFF)


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` (int64), for non-negative integer
    keys: below 2**31 and with fewer than 2**32 keys, each key and its
    position are one int64 value, and sorting those values gives the stable
    order (no two are equal)."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    if keys.dtype.kind not in "iu" or n >= 2**32 or int(keys.min()) < 0 or int(keys.max()) >= 2**31:
        return np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    packed = keys.astype(np.int64) << 32
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    return packed & _LOW


def sorted_with_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keys sorted, stable order) of non-negative integer keys below 2**31
    (see :func:`stable_order`), both from one sort."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2 or n >= 2**32 or int(keys.min()) < 0 or int(keys.max()) >= 2**31:
        order = stable_order(keys)
        return keys[order], order
    packed = keys.astype(np.int64) << 32
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    order = packed & _LOW
    packed >>= 32
    return packed.astype(keys.dtype), order


def dense_ranks(values: np.ndarray, bound: int) -> np.ndarray:
    """Rank (int64) of each of ``values`` (integers in [0, bound)) among the
    distinct values: ``np.unique(values, return_inverse=True)[1]``, by
    counting instead of sorting."""
    present = np.zeros(bound, dtype=bool)
    present[values] = True
    ranks = np.cumsum(present, dtype=np.int64)
    ranks -= 1
    return ranks[values]


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of a 1-d array, from one value sort (np.unique's
    first call imports numpy.ma, ~40 ms of a warm run's start)."""
    ordered = np.sort(np.asarray(values).reshape(-1))
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
