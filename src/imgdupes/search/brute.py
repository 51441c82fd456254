"""Blocked brute-force scan: every pair, popcount of XOR.

The reference the other engines are checked against, and the fallback for a
radius so large that no index can prune anything.
"""

from __future__ import annotations

import numpy as np

from .bitops import as_words, popcount

_BLOCK_CELLS = 1 << 22  # pairs compared per numpy step; bounds temporary memory


def find_pairs_brute(matrix: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    words = as_words(matrix)
    n = words.shape[0]
    out_i, out_j, out_d = [], [], []
    block = max(1, _BLOCK_CELLS // max(1, n))
    for start in range(0, n, block):
        stop = min(n, start + block)
        # Compare rows [start, stop) with every row after `start`.
        rest = words[start:]
        dist = np.zeros((stop - start, n - start), dtype=np.int32)
        for w in range(words.shape[1]):
            dist += popcount(words[start:stop, w][:, None] ^ rest[:, w][None, :])
        ii, jj = np.nonzero(dist <= radius)
        jj = jj + start
        ii = ii + start
        keep = jj > ii
        out_i.append(ii[keep].astype(np.int64))
        out_j.append(jj[keep].astype(np.int64))
        out_d.append(dist[ii[keep] - start, jj[keep] - start])
    if not out_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.int32)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d).astype(np.int32)
