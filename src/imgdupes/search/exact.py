"""Exact engine: every pair of hashes within the radius.

This first version is the blocked brute-force scan; it is exact for every
radius but quadratic in the number of distinct hashes.
"""

from __future__ import annotations

import numpy as np

from .brute import find_pairs_brute


def find_pairs_exact(
    unique: np.ndarray, nbits: int, radius: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return find_pairs_brute(unique, radius)
