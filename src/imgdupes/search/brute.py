"""Blocked brute-force scan: every pair, popcount of XOR.

The reference the other engines are checked against, and the fallback for a
radius so large that no index can prune anything.  It works on tiles small
enough to stay in the CPU cache (a few hundred KiB of temporaries) with
preallocated outputs, so numpy runs near the machine's popcount throughput
instead of streaming 8-byte temporaries through main memory.
"""

from __future__ import annotations

import numpy as np

from .bitops import as_words

_TILE_CELLS = 1 << 16  # pairs per tile: 512 KiB of uint64 temporaries, cache-resident
_TILE_COLS = 1 << 12


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)


def find_pairs_words(
    wa: np.ndarray, wb: np.ndarray, radius: int, same: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (row of ``wa``, row of ``wb``) within ``radius`` of (N, W) uint64 rows.

    ``same`` means ``wa`` is ``wb``: only pairs ``i < j`` are returned.
    """
    na, nw = wa.shape
    nb = wb.shape[0]
    if na == 0 or nb == 0 or radius < 0:
        return _empty()
    cols = min(nb, _TILE_COLS)
    rows = max(1, min(na, _TILE_CELLS // cols))
    tmp = np.empty((rows, cols), dtype=np.uint64)
    cnt = np.empty((rows, cols), dtype=np.uint8)
    acc = np.empty((rows, cols), dtype=np.uint16) if nw > 1 else None
    hit = np.empty((rows, cols), dtype=bool)
    # Transposed copies make each word a contiguous vector for the tile ops.
    ta = np.ascontiguousarray(wa.T)
    tb = np.ascontiguousarray(wb.T)
    out_i, out_j, out_d = [], [], []
    for r0 in range(0, na, rows):
        r1 = min(na, r0 + rows)
        h = r1 - r0
        c_first = (r0 // cols) * cols if same else 0
        for c0 in range(c_first, nb, cols):
            c1 = min(nb, c0 + cols)
            w = c1 - c0
            t, c, m = tmp[:h, :w], cnt[:h, :w], hit[:h, :w]
            if acc is None:
                np.bitwise_xor(ta[0, r0:r1, None], tb[0, None, c0:c1], out=t)
                np.bitwise_count(t, out=c)
                dist = c
            else:
                dist = acc[:h, :w]
                dist.fill(0)
                for k in range(nw):
                    np.bitwise_xor(ta[k, r0:r1, None], tb[k, None, c0:c1], out=t)
                    np.bitwise_count(t, out=c)
                    np.add(dist, c, out=dist)
            np.less_equal(dist, radius, out=m)
            if not m.any():
                continue
            ii, jj = np.nonzero(m)
            d = dist[ii, jj]
            ii = ii + r0
            jj = jj + c0
            if same:
                keep = ii < jj
                ii, jj, d = ii[keep], jj[keep], d[keep]
            out_i.append(ii.astype(np.int64))
            out_j.append(jj.astype(np.int64))
            out_d.append(d.astype(np.int32))
    if not out_i:
        return _empty()
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)


def find_pairs_between(
    a: np.ndarray, b: np.ndarray, radius: int, same: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`find_pairs_words`; accepts packed (N, nbytes) uint8 or (N, W) uint64 rows."""
    if a.dtype == np.uint8:
        a = as_words(a)
    if same:
        b = a
    elif b.dtype == np.uint8:
        b = as_words(b)
    return find_pairs_words(a, b, radius, same)


def find_pairs_brute(matrix: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of rows within ``radius``: (i, j, distance)."""
    return find_pairs_between(matrix, matrix, radius, same=True)
