"""NGT engine (``--ngt``): graph-based approximate k-nearest-neighbour search.

Hashes are stored as NGT Byte objects with NGT's Hamming distance, one packed
hash byte per dimension (8x fewer dimensions than one 0/1 byte per bit, and
measured about twice as fast to build and search). NGT keeps its index on
disk; it lives in a private temporary directory removed however the run ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .libs import knn_pairs, library_errors, load_library
from .params import EngineParams


@contextmanager
def _index(matrix: np.ndarray, params: EngineParams) -> Iterator[object]:
    ngtpy = load_library("ngt")
    workdir = tempfile.mkdtemp(prefix="imgdupes-ngt-")
    try:
        path = os.path.join(workdir, "index")
        ngtpy.create(
            path,
            matrix.shape[1],
            edge_size_for_creation=params.ngt_edges,
            edge_size_for_search=params.ngt_edges_for_search,
            distance_type="Hamming",
            object_type="Byte",
        )
        index = ngtpy.Index(path, log_disabled=True)
        try:
            index.batch_insert(matrix.astype(np.float32), num_threads=max(1, params.num_proc))
            yield index
        finally:
            index.close()
    finally:
        # Also runs on Ctrl-C: no index directory is ever left behind.
        shutil.rmtree(workdir, ignore_errors=True)


def _search(index, queries: np.ndarray, k: int, params: EngineParams) -> tuple:
    """(Q, k) ids and distances of each query's k nearest, -1 where fewer were found."""
    ngtpy = load_library("ngt")
    index.set(
        num_of_search_objects=k,
        epsilon=params.ngt_epsilon,
        edge_size=params.ngt_edges_for_search,
    )
    results = ngtpy.BatchResults()
    index.batch_search(queries.astype(np.float32), results, with_distance=True)
    offsets = results.get_index().astype(np.int64)
    ids = results.get_indexed_ids().astype(np.int64)
    dists = results.get_indexed_distances()
    counts = np.diff(offsets)
    q = len(counts)
    labels = np.full((q, k), -1, dtype=np.int64)
    dtable = np.full((q, k), np.inf, dtype=np.float32)
    rows = np.repeat(np.arange(q), counts)
    cols = np.arange(len(ids)) - np.repeat(offsets[:-1], counts)
    labels[rows, cols] = ids
    dtable[rows, cols] = dists
    return labels, dtable


# Queries per batch_search call: bounds the result buffers on a million hashes.
_BATCH = 100_000


@library_errors("NGT")
def candidate_pairs(
    unique: np.ndarray, nbits: int, radius: int, params: EngineParams
) -> tuple[np.ndarray, np.ndarray]:
    u = unique.shape[0]
    k = max(1, min(params.ngt_k, u))
    out_i, out_j = [], []
    with _index(unique, params) as index:
        for start in range(0, u, _BATCH):
            labels, dists = _search(index, unique[start : start + _BATCH], k, params)
            i, j = knn_pairs(labels, dists, radius, first=start)
            out_i.append(i)
            out_j.append(j)
    return np.concatenate(out_i), np.concatenate(out_j)


@library_errors("NGT")
def candidate_neighbours(
    matrix: np.ndarray, nbits: int, qmat: np.ndarray, radius: int, params: EngineParams
) -> np.ndarray:
    k = max(1, min(params.ngt_k, matrix.shape[0]))
    with _index(matrix, params) as index:
        labels, dists = _search(index, qmat, k, params)
    return knn_pairs(labels, dists, radius)[1]
