"""Multi-index hashing: every pair of hashes within a Hamming radius, exactly.

Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index
hashing" (CVPR 2012), run as a self-join in vectorised numpy.

The hash bits are cut into disjoint chunks, and chunk ``c`` gets a radius
``s_c`` with ``sum(s_c + 1) >= r + 1``.  If two hashes are within ``r``,
their chunk distances add up to at most ``r``, so at least one chunk ``c``
is within ``s_c`` (otherwise the sum would be at least ``r + 1``).  So
looking, chunk by chunk, only at pairs whose chunk keys are within ``s_c``
finds every pair; each candidate is then checked on the full hash.

Per chunk the rows are sorted by key (bucket = run of equal keys), and a
flat table maps a key to its bucket.  A pair of buckets within ``s_c`` is
found by XOR-ing every bucket key with every mask of weight 1..s_c; to see
each bucket pair once, a mask is only applied to keys whose bit at the
mask's top bit is 0.  A pair found in several chunks is kept only in the
first chunk that can find it, so no pair is reported twice and nothing is
deduplicated by sorting millions of candidates.

Chunk widths and radii come from a small cost model (:func:`plan`); when it
says no index can beat comparing everything (a radius that is a large share
of the bits, or few hashes), the blocked brute-force scan runs instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..sorts import sorted_with_order
from .bitops import as_words, popcount
from .brute import find_pairs_between, find_pairs_brute

MAX_WIDTH = 24  # widest chunk: its key -> bucket table is 2**24 int32 (64 MiB)
BLOCK = 1 << 18  # candidate pairs handled per numpy step: ~16 MB of temporaries

# Rough costs in nanoseconds, measured on a 2-core x86 machine with numpy 2.
# Only their ratios matter: they choose between plans, not promise a time.
# (probe, candidate) for the numpy path and for the compiled kernel, which
# visits every bucket for every mask but pays far less per step.
_NS_STEPS = {False: (12.0, 20.0), True: (1.5, 8.0)}
_NS_TABLE = 1.0  # one slot of a chunk's key table filled
_NS_SORT = 60.0  # one row sorted and gathered, per chunk
_NS_BRUTE_WORD = 1.0  # one pair x one 64-bit word in the brute-force scan


@dataclass(frozen=True)
class Chunk:
    """Bits ``[start, start + width)`` of a row (word-major, low bit first) and their radius."""

    start: int
    width: int
    radius: int


def ball_size(width: int, radius: int) -> int:
    """Number of keys within ``radius`` of a ``width``-bit key."""
    return sum(math.comb(width, k) for k in range(min(radius, width) + 1))


def _plan_cost(chunks: list[Chunk], n: int, compiled: bool) -> float:
    ns_probe, ns_candidate = _NS_STEPS[compiled]
    cost = 0.0
    for c in chunks:
        slots = 1 << c.width
        ball = ball_size(c.width, c.radius)
        occupied = slots * -math.expm1(-n / slots)  # expected distinct keys
        cost += _NS_SORT * n + _NS_TABLE * slots
        cost += ns_probe * occupied * (ball - 1) / (1 if compiled else 2)
        cost += ns_candidate * (n * n / 2) * ball / slots
    return cost


def brute_cost(n: int, words: int) -> float:
    return _NS_BRUTE_WORD * (n * n / 2) * words


def _chunks_for(m: int, nbits: int, n: int, radius: int) -> list[Chunk] | None:
    """``m`` chunks as wide as useful, radii spread so that ``sum(s + 1) = r + 1``.

    A chunk wider than about log2(n) bits leaves its buckets empty and only
    costs table memory, so wider chunks leave the remaining bits out: the
    argument above holds for any disjoint chunks, covering all bits or not.
    """
    widest = min(MAX_WIDTH, max(8, math.ceil(math.log2(max(n, 2))) + 2))
    used = min(nbits, m * widest)
    base, extra = divmod(used, m)
    if base < 1:
        return None
    widths = [base + 1] * extra + [base] * (m - extra)
    q, rem = divmod(radius + 1, m)
    if q == 0:
        return None  # some chunk would have nothing to find; fewer chunks do better
    chunks, start = [], 0
    for k, w in enumerate(widths):
        # The wider chunks take the larger radius: their buckets are emptier.
        chunks.append(Chunk(start, w, q if k < rem else q - 1))
        start += w
    return chunks


def plan(nbits: int, n: int, radius: int, compiled: bool = False) -> list[Chunk] | None:
    """The cheapest chunking for ``n`` rows of ``nbits`` bits, or ``None`` for brute force."""
    words = (nbits + 63) // 64
    best, best_cost = None, brute_cost(n, words)
    for m in range(1, min(radius + 1, nbits) + 1):
        chunks = _chunks_for(m, nbits, n, radius)
        if chunks is None:
            continue
        cost = _plan_cost(chunks, n, compiled)
        if cost < best_cost:
            best, best_cost = chunks, cost
    return best


def chunk_keys(words: np.ndarray, chunk: Chunk) -> np.ndarray:
    """The chunk's bits of every row as an int64 key."""
    w0, b0 = divmod(chunk.start, 64)
    key = words[:, w0] >> np.uint64(b0)
    if b0 + chunk.width > 64:
        key = key | (words[:, w0 + 1] << np.uint64(64 - b0))
    key = key & np.uint64((1 << chunk.width) - 1)
    return key.astype(np.int64)


def _masks(width: int, radius: int) -> Iterator[tuple[int, np.ndarray]]:
    """Masks of weight 1..radius, grouped by their top bit: (top bit, masks)."""
    if radius < 1:
        return
    for top in range(width):
        masks = [1 << top]
        for k in range(1, min(radius, top + 1)):
            for bits in combinations(range(top), k):
                masks.append((1 << top) | sum(1 << b for b in bits))
        yield top, np.asarray(masks, dtype=np.int64)


def _expand(
    sa: np.ndarray, ca: np.ndarray, sb: np.ndarray, cb: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray] | tuple[int, int, int, int]]:
    """Row pairs of bucket pairs (start, count) x (start, count), at most BLOCK per step.

    A single bucket pair larger than BLOCK comes out as its ranges
    ``(start_a, count_a, start_b, count_b)`` for the caller to scan blockwise.
    """
    prod = ca * cb
    huge = prod > BLOCK
    for k in np.nonzero(huge)[0].tolist():
        yield int(sa[k]), int(ca[k]), int(sb[k]), int(cb[k])
    if huge.any():
        keep = ~huge
        sa, ca, sb, cb, prod = sa[keep], ca[keep], sb[keep], cb[keep], prod[keep]
    if len(prod) == 0:
        return
    ends = np.cumsum(prod)
    lo = 0
    while lo < len(prod):
        base = ends[lo - 1] if lo else 0
        hi = int(np.searchsorted(ends, base + BLOCK, side="right"))
        hi = max(hi, lo + 1)
        pa, pb, pp = sa[lo:hi], sb[lo:hi], prod[lo:hi]
        if (pp == 1).all():
            yield pa, pb
        else:
            pcb = cb[lo:hi]
            owner = np.repeat(np.arange(hi - lo), pp)
            first = np.cumsum(pp) - pp
            local = np.arange(len(owner), dtype=np.int64) - first[owner]
            yield pa[owner] + local // pcb[owner], pb[owner] + local % pcb[owner]
        lo = hi


class _ChunkSearch:
    """One chunk's sorted rows and key table, and the candidate checks on them."""

    def __init__(self, words: np.ndarray, chunk: Chunk, earlier: list[Chunk], radius: int):
        self.words = words
        self.earlier = earlier
        self.radius = radius
        skeys, self.order = sorted_with_order(chunk_keys(words, chunk).astype(np.int32))
        # Rows of a bucket are contiguous from here on; one word is a flat vector.
        self.cwords = words[self.order]
        self.cflat = self.cwords[:, 0] if words.shape[1] == 1 else None
        edge = np.flatnonzero(skeys[1:] != skeys[:-1]) + 1
        self.ustart = np.concatenate(([0], edge)).astype(np.int64)
        self.ucount = np.diff(np.concatenate((self.ustart, [len(skeys)])))
        self.ukeys = skeys[self.ustart]
        del skeys
        self.slot = np.full(1 << chunk.width, -1, dtype=np.int32)
        self.slot[self.ukeys] = np.arange(len(self.ukeys), dtype=np.int32)
        self.found_i: list[np.ndarray] = []
        self.found_j: list[np.ndarray] = []
        self.found_d: list[np.ndarray] = []

    def check(self, a: np.ndarray, b: np.ndarray) -> None:
        """Keep the candidate pairs (sorted positions) within the radius."""
        if len(a) == 0:
            return
        if self.cflat is not None:
            d = popcount(self.cflat[a] ^ self.cflat[b])
        else:
            d = popcount(self.cwords[a] ^ self.cwords[b]).sum(axis=1)
        ok = np.flatnonzero(d <= self.radius)
        if len(ok) == 0:
            return
        i, j, d = self.order[a[ok]], self.order[b[ok]], d[ok].astype(_distance_type(self.radius))
        if self.earlier:
            # Leave the pair to the first chunk that finds it.
            wi, wj = self.words[i], self.words[j]
            first_here = np.ones(len(i), dtype=bool)
            for c in self.earlier:
                first_here &= popcount(chunk_keys(wi, c) ^ chunk_keys(wj, c)) > c.radius
            i, j, d = i[first_here], j[first_here], d[first_here]
        # int32 while collecting: a dense folder's millions of pairs, half the memory
        small = _row_type(len(self.words))
        self.found_i.append(np.minimum(i, j).astype(small))
        self.found_j.append(np.maximum(i, j).astype(small))
        self.found_d.append(d)

    def check_buckets(self, ba: np.ndarray, bb: np.ndarray, same: bool) -> None:
        """Every row pair of the bucket pairs (ba[k], bb[k]); ``same``: ba is bb, pairs inside."""
        sa, ca = self.ustart[ba], self.ucount[ba]
        sb, cb = self.ustart[bb], self.ucount[bb]
        # Most buckets hold one row (or two, inside a bucket): no expansion needed.
        if same:
            unit = ca == 2
            self.check(sa[unit], sa[unit] + 1)
        else:
            unit = (ca == 1) & (cb == 1)
            self.check(sa[unit], sb[unit])
        rest = ~unit
        for part in _expand(sa[rest], ca[rest], sb[rest], cb[rest]):
            if len(part) == 4:
                # One bucket pair too big to expand: brute-force its rows blockwise.
                pa, na, pb, nb = part
                a, b, _ = find_pairs_between(
                    self.cwords[pa : pa + na], self.cwords[pb : pb + nb], self.radius, same
                )
                self.check(a + pa, b + pb)
            elif same:
                a, b = part
                lower = a < b
                self.check(a[lower], b[lower])
            else:
                self.check(*part)

    def search(self, chunk: Chunk) -> None:
        # Pairs inside one bucket (chunk distance 0).
        multi = np.flatnonzero(self.ucount >= 2)
        self.check_buckets(multi, multi, same=True)
        if chunk.radius < 1:
            return
        # Pairs of buckets whose keys differ in 1..s bits, each bucket pair once:
        # a mask is applied only to keys that have a 0 at the mask's top bit.
        ukeys = self.ukeys
        for top, masks in _masks(chunk.width, chunk.radius):
            src = np.flatnonzero(((ukeys >> top) & 1) == 0)
            if len(src) == 0:
                continue
            src_keys = ukeys[src]
            step = max(1, BLOCK // len(src))
            for m0 in range(0, len(masks), step):
                mk = masks[m0 : m0 + step].astype(np.int32)
                target = self.slot[mk[:, None] ^ src_keys[None, :]]
                _, col = np.nonzero(target >= 0)
                if len(col) == 0:
                    continue
                bb = target[target >= 0]
                self.check_buckets(src[col], bb.astype(np.int64), same=False)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs found (and let go here: each list is emptied as it is joined)."""
        if not self.found_i:  # of the types of the other chunks' pairs, which it joins
            rows = np.zeros(0, _row_type(len(self.words)))
            return rows, rows, np.zeros(0, _distance_type(self.radius))
        parts = list(zip(self.found_i, self.found_j, self.found_d, strict=True))
        self.found_i, self.found_j, self.found_d = [], [], []
        i, j, d = _joined(parts)
        return i, j, d


def _worth_compiling(n: int, radius: int, stored_bits: int) -> bool:
    """Loading numba and its cached kernel costs ~0.3 s per run.  Measured on
    2 cores, the numpy join stays under that up to 300k 64-bit hashes at r=4,
    but not at a million, nor from 100k at r=8 or 30k at r=12."""
    per_64_bits = radius * 64 / max(64, stored_bits)
    if n >= 500_000:
        return True
    return (n >= 50_000 and per_64_bits >= 6) or (n >= 20_000 and per_64_bits >= 10)


def compiled_join():
    """The numba kernel when numba is installed (extra ``[fast]``), else ``None``."""
    try:
        from .mih_numba import join_chunk
    except ImportError:
        return None
    return join_chunk


def _all_masks(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    masks, tops = [], []
    for top, group in _masks(chunk.width, chunk.radius):
        masks.append(group)
        tops.append(np.full(len(group), top, dtype=np.int64))
    if not masks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(masks), np.concatenate(tops)


def _search_compiled(join, words: np.ndarray, chunk: Chunk, earlier: list[Chunk], radius: int):
    one = _ChunkSearch(words, chunk, earlier, radius)
    masks, tops = _all_masks(chunk)
    e = np.asarray([(c.start, c.width, c.radius) for c in earlier], dtype=np.int64).reshape(-1, 3)
    fixed = (
        words,
        one.cwords,
        one.order.astype(np.int64, copy=False),
        one.ustart,
        one.ucount.astype(np.int64, copy=False),
        one.ukeys.astype(np.int64),
        one.slot,
        masks,
        tops,
        radius,
        e[:, 0].copy(),
        e[:, 1].copy(),
        e[:, 2].copy(),
    )
    cap = 1 << 20
    bufs = (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32))
    parts = []
    phase, m, u = 0, 0, 0
    while phase != 2:
        count, phase, m, u, need = join(*fixed, phase, m, u, *bufs)
        types = (_row_type(len(words)), _row_type(len(words)), _distance_type(radius))
        parts.append(tuple(b[:count].astype(t) for b, t in zip(bufs, types, strict=True)))
        if need > cap:  # one bucket pair could hold more pairs than the buffer
            cap = int(need)
            bufs = (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32))
    i, j, d = _joined(parts)
    return i, j, d


def find_pairs_mih(
    unique: np.ndarray,
    radius: int,
    chunks: list[Chunk] | None = None,
    compiled: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of rows within ``radius``, with its distance (row
    numbers int32 below 2**31 rows, else int64; distances uint8 for a radius
    below 256, else int32).

    ``chunks`` overrides the plan and ``compiled`` the choice of the numba
    kernel (default: used when installed); tests use both to exercise every
    branch.
    """
    n, nbytes = unique.shape
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
    if n < 2 or radius < 0:
        return empty
    stored_bits = 8 * nbytes  # padding bits are zero in every row, so harmless
    wanted = compiled is True or (compiled is None and _worth_compiling(n, radius, stored_bits))
    join = compiled_join() if wanted else None
    if compiled and join is None:
        raise ImportError("numba is not installed: pip install numba")
    if chunks is None:
        chunks = plan(stored_bits, n, radius, join is not None)
        if chunks is None:
            return find_pairs_brute(unique, radius)
    words = as_words(unique)
    parts = []
    for ci, chunk in enumerate(chunks):
        if join is not None:
            parts.append(_search_compiled(join, words, chunk, chunks[:ci], radius))
            continue
        one = _ChunkSearch(words, chunk, chunks[:ci], radius)
        one.search(chunk)
        parts.append(one.result())
        del one  # its sorted copy and table go before the next chunk's
    # a dense folder's 6M pairs in 56 MB, not 125
    i, j, d = _joined(parts)
    return i, j, d


def _row_type(n: int) -> type:
    return np.int32 if n < 2**31 else np.int64


def _distance_type(radius: int) -> type:
    return np.uint8 if radius < 256 else np.int32


def _joined(parts: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """The columns of ``parts`` (a list of (i, j, d) pieces) joined, each
    column's pieces let go as soon as it is joined, and a lone piece taken as
    it is: a dense folder's millions of pairs are held once plus one
    column, not twice.  Empties ``parts``."""
    columns = [list(c) for c in zip(*parts, strict=True)]
    parts.clear()
    out = []
    for pieces in columns:
        out.append(pieces[0] if len(pieces) == 1 else np.concatenate(pieces))
        pieces.clear()
    return out
