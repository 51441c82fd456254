"""faiss engine (``--faiss-flat``): exact k-nearest-neighbour search, IndexFlatL2.

Every hash is compared with every other (exact, quadratic), and each keeps
its k nearest. On 0/1 float vectors squared L2 is exactly the Hamming
distance. With ``--faiss-cuda`` the index runs on a GPU when this faiss
build has GPU support and a GPU is present; otherwise on the CPU (the CLI
says so in one line before hashing starts).
"""

from __future__ import annotations

import numpy as np

from .libs import (
    bit_vectors,
    faiss_gpu_available,
    knn_pairs,
    library_errors,
    load_library,
    self_join_pairs,
)
from .params import EngineParams


def _build(vectors: np.ndarray, params: EngineParams):
    faiss = load_library("faiss-flat")
    faiss.omp_set_num_threads(max(1, params.num_proc))
    index = faiss.IndexFlatL2(vectors.shape[1])
    if params.faiss_cuda and faiss_gpu_available(faiss):
        if params.cuda_device < 0:
            index = faiss.index_cpu_to_all_gpus(index)
        else:
            resources = faiss.StandardGpuResources()
            index = faiss.index_cpu_to_gpu(resources, params.cuda_device, index)
            index.imgdupes_resources = resources  # keep alive as long as the index
    index.add(vectors)
    return index


# Queries per search call: bounds the (Q, k) result tables on a million hashes.
_BATCH = 65_536


@library_errors("faiss")
def candidate_pairs(
    unique: np.ndarray, nbits: int, radius: int, params: EngineParams
) -> tuple[np.ndarray, np.ndarray]:
    vectors = bit_vectors(unique, nbits)
    u = vectors.shape[0]
    k = max(1, min(params.faiss_flat_k, u))
    index = _build(vectors, params)

    def search(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dists, labels = index.search(block, k)
        return labels, dists

    return self_join_pairs(vectors, radius, search, _BATCH)


@library_errors("faiss")
def candidate_neighbours(
    matrix: np.ndarray, nbits: int, qmat: np.ndarray, radius: int, params: EngineParams
) -> np.ndarray:
    k = max(1, min(params.faiss_flat_k, matrix.shape[0]))
    index = _build(bit_vectors(matrix, nbits), params)
    dists, labels = index.search(bit_vectors(qmat, nbits), k)
    return knn_pairs(labels, dists, radius)[1]
