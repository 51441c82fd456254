"""The multi-index join of one chunk as a compiled loop (numba, extra ``[fast]``).

Same algorithm and same results as the numpy path in :mod:`.mih`, without
materialising candidate pairs: numpy pays ~20 ns per candidate for the
gathers and temporaries, the loop ~2 ns, which is what makes large radii
on millions of hashes affordable.  Imported only when numba is installed.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _popcount64(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(inline="always")
def _distance(cw, a, b):
    d = np.uint64(0)  # one type throughout: int + uint64 would make numba use floats
    for w in range(cw.shape[1]):
        d += _popcount64(cw[a, w] ^ cw[b, w])
    return d


@njit(inline="always")
def _key(words, row, start, width):
    w0 = start // 64
    b0 = start % 64
    k = words[row, w0] >> np.uint64(b0)
    if b0 + width > 64:
        k = k | (words[row, w0 + 1] << np.uint64(64 - b0))
    return k & ((np.uint64(1) << np.uint64(width)) - np.uint64(1))


@njit(inline="always")
def _first_here(words, i, j, e_start, e_width, e_radius):
    # The pair belongs to the first chunk that finds it: drop it if an earlier one does.
    for c in range(len(e_start)):
        kd = _popcount64(
            _key(words, i, e_start[c], e_width[c]) ^ _key(words, j, e_start[c], e_width[c])
        )
        if kd <= e_radius[c]:
            return False
    return True


@njit(cache=True)
def join_chunk(
    words, cwords, order, ustart, ucount, ukeys, slot, masks, mask_top, radius,
    e_start, e_width, e_radius, phase, m0, u0, oi, oj, od,
):  # fmt: skip
    """Pairs (original rows i < j, distance) found by this chunk and no earlier one.

    Writes into the fixed buffers ``oi, oj, od`` (growing arrays inside the
    loop costs more than the search) and stops before a bucket pair that
    might not fit: returns ``(count, phase, m, u, need)`` to resume from;
    phase 2 means done.  Phase 0 is pairs inside a bucket, phase 1 pairs of
    buckets ``mask`` apart.
    """
    cap = len(oi)
    n_out = 0
    if phase == 0:
        for u in range(u0, len(ustart)):
            s0 = ustart[u]
            c0 = ucount[u]
            need = c0 * (c0 - 1) // 2
            if n_out + need > cap:
                return n_out, 0, 0, u, need
            for a in range(s0, s0 + c0):
                for b in range(a + 1, s0 + c0):
                    d = _distance(cwords, a, b)
                    if d <= np.uint64(radius):
                        i, j = order[a], order[b]
                        if _first_here(words, i, j, e_start, e_width, e_radius):
                            oi[n_out], oj[n_out], od[n_out] = min(i, j), max(i, j), d
                            n_out += 1
        m0 = 0
        u0 = 0
    # Mask outside, buckets inside: keys ascend, so key ^ mask walks the
    # table almost in order and the lookups stay in cache.
    for m in range(m0, len(masks)):
        mask = masks[m]
        top = mask_top[m]
        for u in range(u0 if m == m0 else 0, len(ustart)):
            key = ukeys[u]
            if (key >> top) & 1:
                continue  # the bucket with that bit clear finds this pair
            v = slot[key ^ mask]
            if v < 0:
                continue
            s0 = ustart[u]
            c0 = ucount[u]
            s1 = ustart[v]
            c1 = ucount[v]
            need = c0 * c1
            if n_out + need > cap:
                return n_out, 1, m, u, need
            for a in range(s0, s0 + c0):
                for b in range(s1, s1 + c1):
                    d = _distance(cwords, a, b)
                    if d <= np.uint64(radius):
                        i, j = order[a], order[b]
                        if _first_here(words, i, j, e_start, e_width, e_radius):
                            oi[n_out], oj[n_out], od[n_out] = min(i, j), max(i, j), d
                            n_out += 1
    return n_out, 2, 0, 0, 0
