"""The exact engine finds exactly the pairs a brute-force scan finds."""

from __future__ import annotations

import numpy as np
import pytest

from imgdupes.search import find_matches
from imgdupes.search.bitops import as_words
from imgdupes.search.brute import find_pairs_brute
from imgdupes.search.mih import Chunk, compiled_join, find_pairs_mih, plan

HAVE_NUMBA = compiled_join() is not None
KERNELS = [False, pytest.param(True, marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba"))]


def planted(n: int, nbits: int, seed: int, max_flips: int) -> np.ndarray:
    """Random hashes, a third of them near-copies of others, plus one repeated "blank"."""
    rng = np.random.default_rng(seed)
    nbytes = (nbits + 7) // 8
    m = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    k = n // 3
    m[n - k :] = m[rng.integers(0, n - k, size=k)]
    for _ in range(max_flips):
        rows = n - k + np.flatnonzero(rng.random(k) < 0.6)
        pos = rng.integers(0, nbits, size=len(rows))
        m[rows, pos // 8] ^= (0x80 >> (pos % 8)).astype(np.uint8)
    m[: n // 200] = m[n // 200]
    if nbits % 8:
        m[:, -1] &= np.uint8((0xFF << (8 - nbits % 8)) & 0xFF)
    return m


def pair_set(i, j) -> set[tuple[int, int]]:
    return set(zip(i.tolist(), j.tolist(), strict=True))


def reference(unique: np.ndarray, radius: int) -> set[tuple[int, int]]:
    w = as_words(unique)
    d = np.bitwise_count(w[:, None, :] ^ w[None, :, :]).sum(axis=2)
    i, j = np.nonzero(np.triu(d <= radius, 1))
    return pair_set(i, j)


@pytest.mark.parametrize("compiled", KERNELS)
@pytest.mark.parametrize("nbits", [64, 144, 256])
@pytest.mark.parametrize("radius", [0, 1, 4, 8, 12])
def test_mih_equals_brute_force(nbits, radius, compiled):
    m = np.unique(planted(1500, nbits, seed=nbits + radius, max_flips=nbits // 8), axis=0)
    i, j, d = find_pairs_mih(m, radius, compiled=compiled)
    assert pair_set(i, j) == reference(m, radius)
    assert (i < j).all()
    w = as_words(m)
    assert (np.bitwise_count(w[i] ^ w[j]).sum(axis=1) == d).all()


@pytest.mark.parametrize("compiled", KERNELS)
@pytest.mark.parametrize(
    "chunks",
    [
        [Chunk(0, 6, 2), Chunk(6, 6, 1), Chunk(12, 6, 0)],  # crowded buckets: the expansion paths
        [Chunk(60, 8, 1), Chunk(0, 4, 1), Chunk(30, 3, 1)],  # a key across two words, bits left out
    ],
)
def test_any_valid_chunking_is_exact(chunks, compiled):
    # sum(s + 1) = 6 covers r = 5; crowded 6-bit buckets force big bucket pairs.
    m = np.unique(planted(1200, 128, seed=7, max_flips=5), axis=0)
    i, j, _ = find_pairs_mih(m, 5, chunks=chunks, compiled=compiled)
    assert pair_set(i, j) == reference(m, 5)


def test_every_pair_reported_once():
    m = np.unique(planted(3000, 64, seed=3, max_flips=6), axis=0)
    i, j, _ = find_pairs_mih(m, 8)
    assert len(i) == len(pair_set(i, j))


def test_large_radius_falls_back_to_brute_force_and_stays_exact():
    m = np.unique(planted(800, 64, seed=5, max_flips=10), axis=0)
    assert plan(64, len(m), 30) is None
    i, j, _ = find_pairs_mih(m, 30)
    assert pair_set(i, j) == reference(m, 30)
    i, j, _ = find_pairs_mih(m, 64)
    assert len(i) == len(m) * (len(m) - 1) // 2


def test_brute_force_between_tiles_matches_reference():
    m = np.unique(planted(5000, 256, seed=9, max_flips=40), axis=0)
    i, j, _ = find_pairs_brute(m, 100)
    assert pair_set(i, j) == reference(m, 100)


def test_components_match_brute_force_components():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = planted(4000, 64, seed=11, max_flips=6)
    got = find_matches(m, 64, 4)
    # Reference components straight from all input rows, identical ones included.
    bi, bj, _ = find_pairs_brute(m, 4)
    g = coo_matrix((np.ones(len(bi)), (bi, bj)), shape=(len(m), len(m)))
    _, comp = connected_components(g, directed=False)
    sizes = np.bincount(comp)
    ref = np.where(sizes[comp] >= 2, comp, -1)

    def canon(labels):
        groups = {}
        for row, lab in enumerate(labels.tolist()):
            if lab >= 0:
                groups.setdefault(lab, []).append(row)
        return sorted(groups.values())

    assert canon(got.labels) == canon(ref)
    blank = got.labels[: 4000 // 200]
    assert (blank == blank[0]).all() and blank[0] >= 0  # identical hashes: one set


def test_find_matches_on_sixty_thousand_unique_hashes_is_exact_at_r4():
    m = np.unique(planted(60_000, 64, seed=13, max_flips=5), axis=0)
    got = find_matches(m, 64, 4)
    i, j, _ = find_pairs_brute(m, 4)
    ui, uj = got.unique_index[i], got.unique_index[j]  # input rows -> rows of the unique table
    assert len(i) > 1000
    assert pair_set(got.pairs_i, got.pairs_j) == pair_set(np.minimum(ui, uj), np.maximum(ui, uj))
