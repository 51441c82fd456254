"""Search stage: hashes + radius -> pairs within the radius -> components.

Every engine sits behind one function signature::

    engine(unique: np.ndarray[(U, nbytes), uint8], nbits: int, radius: int,
           params: EngineParams) -> (i, j)  candidate pairs of row indices

Engines may return candidates beyond the radius or miss some (approximate
ones do); this layer recomputes every distance from the hashes and keeps
only pairs within the radius, so no engine can ever report a pair beyond r.
Identical hashes are collapsed before any engine runs: 10,000 copies of one
blank image are one row, not 50 million pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..group import components, set_labels
from .bitops import as_words, distances, distances_to
from .params import ENGINES, EngineParams, EngineUnavailable

__all__ = ["ENGINES", "EngineParams", "EngineUnavailable", "find_matches", "query_matches"]

PairFinder = Callable[[np.ndarray, int, int, EngineParams], tuple[np.ndarray, np.ndarray]]
QueryFinder = Callable[[np.ndarray, int, np.ndarray, int, EngineParams], np.ndarray]


def _exact_pairs(unique: np.ndarray, nbits: int, radius: int, params: EngineParams):
    from .mih import find_pairs_mih

    i, j, _ = find_pairs_mih(unique, radius)
    return i, j


def get_pair_finder(engine: str) -> PairFinder:
    if engine == "exact":
        return _exact_pairs
    if engine == "ngt":
        from .ngt import candidate_pairs
    elif engine == "hnsw":
        from .hnsw import candidate_pairs
    elif engine == "faiss-flat":
        from .faiss_flat import candidate_pairs
    else:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    return candidate_pairs


def get_query_finder(engine: str) -> QueryFinder | None:
    """Candidate rows for a single query; ``None`` means use the exact scan."""
    if engine == "ngt":
        from .ngt import candidate_neighbours
    elif engine == "hnsw":
        from .hnsw import candidate_neighbours
    elif engine == "faiss-flat":
        from .faiss_flat import candidate_neighbours
    else:
        return None
    return candidate_neighbours


@dataclass
class Matches:
    """Result of the search stage over N input hashes."""

    labels: np.ndarray  # (N,) component id per input row; -1 for rows in no set
    pairs_i: np.ndarray  # pairs of unique-hash rows within the radius
    pairs_j: np.ndarray
    pairs_d: np.ndarray
    unique_index: np.ndarray  # (N,) row of the unique-hash table for each input row


def collapse(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows and, for every input row, its row in the unique table."""
    if matrix.shape[0] == 0:
        return matrix, np.zeros(0, dtype=np.int64)
    # Sorting 64-bit words is ~10x faster than np.unique(axis=0) on byte rows.
    words = as_words(matrix)
    if words.shape[1] == 1:
        # A plain (unstable) value sort: rows of one value are the same row,
        # so which of them stands for it does not matter (np.unique's
        # return_index asks for a merge sort, 6x slower on a million rows).
        flat = words[:, 0]
        order = np.argsort(flat)
        ordered = flat[order]
        new = np.empty(len(order), dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        first = order[new]
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
    else:
        order = np.lexsort(words.T[::-1])
        ordered = words[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
        first = order[new]
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
    if matrix.shape[1] == 8 * words.shape[1]:
        # rows gathered as whole words: numpy's fancy indexing of byte rows is 5x slower
        unique = words[first].view(np.uint8).reshape(len(first), matrix.shape[1])
    else:
        unique = matrix[first]
    return unique, inverse.reshape(-1).astype(np.int64, copy=False)


def find_matches(
    matrix: np.ndarray,
    nbits: int,
    radius: int,
    engine: str = "exact",
    params: EngineParams | None = None,
) -> Matches:
    """All pairs within ``radius`` and the connected components they form."""
    params = params or EngineParams()
    n = matrix.shape[0]
    unique, inverse = collapse(matrix)
    u = unique.shape[0]
    # Distinct unique rows are at least a bit apart: radius 0 has no pairs to look for.
    if u > 1 and radius > 0 and engine == "exact":
        from .mih import find_pairs_mih

        # every pair i < j once, with its true distance: nothing to normalise
        pi, pj, pd = find_pairs_mih(unique, radius)
    elif u > 1 and radius > 0:
        ci, cj = get_pair_finder(engine)(unique, nbits, radius, params)
        ci = np.asarray(ci, dtype=np.int64)
        cj = np.asarray(cj, dtype=np.int64)
        # Normalise: i < j, no self pairs, no repeats, true distance within r.
        lo, hi = np.minimum(ci, cj), np.maximum(ci, cj)
        keep = lo != hi
        lo, hi = lo[keep], hi[keep]
        if len(lo):
            key = np.unique(lo * u + hi)
            lo, hi = key // u, key % u
        words = as_words(unique)
        d = distances(words, lo, hi)
        keep = d <= radius
        pi, pj, pd = lo[keep], hi[keep], d[keep]
    else:
        pi = pj = np.zeros(0, dtype=np.int64)
        pd = np.zeros(0, dtype=np.int32)

    # Component of each unique row; rows of identical hashes share a unique row.
    comp = components(u, pi, pj)
    labels = set_labels(comp[inverse] if n else np.zeros(0, dtype=np.int64))
    return Matches(labels=labels, pairs_i=pi, pairs_j=pj, pairs_d=pd, unique_index=inverse)


def query_matches(
    matrix: np.ndarray,
    nbits: int,
    query: bytes,
    radius: int,
    engine: str = "exact",
    params: EngineParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows within ``radius`` of ``query``: (indices, distances), nearest first."""
    params = params or EngineParams()
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    qmat = np.frombuffer(query, dtype=np.uint8).reshape(1, -1)
    words = as_words(matrix)
    qwords = as_words(qmat)[0]
    finder = get_query_finder(engine)
    if finder is None:
        d = distances_to(words, qwords)
        idx = np.nonzero(d <= radius)[0]
    else:
        idx = np.unique(np.asarray(finder(matrix, nbits, qmat, radius, params), dtype=np.int64))
        d = np.zeros(matrix.shape[0], dtype=np.int32)
        if len(idx):
            d[idx] = distances_to(words[idx], qwords)
        idx = idx[d[idx] <= radius]
    order = np.lexsort((idx, d[idx]))
    return idx[order], d[idx][order]
