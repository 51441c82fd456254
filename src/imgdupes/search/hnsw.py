"""hnswlib engine (``--hnsw``): HNSW graph approximate k-nearest-neighbour search.

hnswlib knows only l2, ip and cosine spaces, so each hash becomes a 0/1 float
vector whose squared L2 distance is exactly its Hamming distance.
"""

from __future__ import annotations

import numpy as np

from .libs import bit_vectors, knn_pairs, library_errors, load_library, self_join_pairs
from .params import EngineParams


def _build(vectors: np.ndarray, params: EngineParams):
    hnswlib = load_library("hnsw")
    index = hnswlib.Index(space="l2", dim=vectors.shape[1])
    index.init_index(
        max_elements=max(1, vectors.shape[0]),
        ef_construction=params.hnsw_ef_construction,
        M=params.hnsw_m,
        random_seed=100,
    )
    index.set_num_threads(max(1, params.num_proc))
    index.add_items(vectors, np.arange(vectors.shape[0]))
    return index


def _search(index, queries: np.ndarray, k: int, params: EngineParams):
    # hnswlib cannot return k results when ef < k; the seed's k must still hold.
    index.set_ef(max(params.hnsw_ef, k))
    return index.knn_query(queries, k=k)


_BATCH = 100_000


@library_errors("hnswlib")
def candidate_pairs(
    unique: np.ndarray, nbits: int, radius: int, params: EngineParams
) -> tuple[np.ndarray, np.ndarray]:
    vectors = bit_vectors(unique, nbits)
    u = vectors.shape[0]
    k = max(1, min(params.hnsw_k, u))
    index = _build(vectors, params)
    return self_join_pairs(vectors, radius, lambda block: _search(index, block, k, params), _BATCH)


@library_errors("hnswlib")
def candidate_neighbours(
    matrix: np.ndarray, nbits: int, qmat: np.ndarray, radius: int, params: EngineParams
) -> np.ndarray:
    k = max(1, min(params.hnsw_k, matrix.shape[0]))
    index = _build(bit_vectors(matrix, nbits), params)
    labels, dists = _search(index, bit_vectors(qmat, nbits), k, params)
    return knn_pairs(labels, dists, radius)[1]
