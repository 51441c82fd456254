"""Exact engine: every pair of distinct hashes within the radius, none missed.

Multi-index hashing (:mod:`.mih`) for the radii where an index prunes, the
cache-blocked brute-force scan (:mod:`.brute`) where it cannot; the choice
is made per call by :func:`.mih.plan` from the number of rows, bits and r.
"""

from __future__ import annotations

import numpy as np

from .mih import find_pairs_mih


def find_pairs_exact(
    unique: np.ndarray, nbits: int, radius: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, d)`` for every pair ``i < j`` of rows of ``unique`` within ``radius``."""
    return find_pairs_mih(unique, nbits, radius)
