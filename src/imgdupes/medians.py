"""Row medians for the hashing stage: ``np.median(values, axis=1)``, the same
values and dtype, from a sort.

numpy's median partitions each row with a general selection; its SIMD sort
of a whole small row (64-336 values) is about ten times quicker there, and
the fast path takes a few medians per picture (the hashes' bits, whash's
blocks, the texture's plane, the border's level).  Rows hold no NaN.
"""

from __future__ import annotations

import numpy as np


def row_medians(values: np.ndarray) -> np.ndarray:
    """(B,) medians of a (B, n) array, as ``np.median(values, axis=1)``: the mean
    of the two middle values for an even n (in float64 for integers, as
    ``np.mean`` takes them, else in the values' own type)."""
    if values.dtype.kind in "iub":
        # numpy sorts 16-bit integers with SIMD, not 8-bit ones
        ordered = np.sort(values.astype(np.int16 if values.itemsize == 1 else values.dtype), axis=1)
        ordered = ordered.astype(np.float64)
    else:
        ordered = np.sort(values, axis=1)
    n = values.shape[1]
    mid = ordered[:, n // 2]
    if n % 2:
        return mid
    return (ordered[:, n // 2 - 1] + mid) / 2
