"""Loading the optional engine libraries, and the helpers the index engines share.

Each approximate engine lives in an optional extra. A missing or broken
library must end the run with one line that names the package to install and the real
import error, before any image is hashed; the seed hid that error behind a
bare ``except`` and users could not tell why NGT "would not load".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

import numpy as np

from ..errors import ConfigError, opt
from .params import EngineParams, EngineUnavailable

# engine -> (module to import, the library's name for users, the package pip installs).
# Hints name the package itself: on PyPI "imgdupes[x]" is the old 0.1.3 tool.
_LIBRARIES = {
    "ngt": ("ngtpy", "NGT", "ngt"),
    "hnsw": ("hnswlib", "hnswlib", "hnswlib"),
    "faiss-flat": ("faiss", "faiss", "faiss-cpu"),
}


class EngineFailed(EngineUnavailable):
    """The library raised an error while building or searching; the message says which."""


@contextmanager
def library_errors(label: str) -> Iterator[None]:
    """Turn a library's RuntimeError into one line naming the library, not a traceback."""
    try:
        yield
    except RuntimeError as exc:
        raise EngineFailed(f"{label} failed: {exc}") from None


NO_GPU_NOTE = "no CUDA GPU found; running faiss on the CPU"


def load_library(engine: str) -> ModuleType:
    """Import the library behind ``engine`` or raise EngineUnavailable saying why."""
    module, label, package = _LIBRARIES[engine]
    install = f"pip install {package}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise EngineUnavailable(f"{label} is not installed: {install}") from None
        # The package is there but something it needs is not: show which.
        raise EngineUnavailable(f"{label} cannot be loaded ({exc}): {install}") from None
    except ImportError as exc:
        # Typically a compiled module that does not match this machine or Python.
        raise EngineUnavailable(f"{label} cannot be loaded ({exc}): {install}") from None


def faiss_gpu_available(faiss: ModuleType) -> bool:
    # CPU builds of faiss have no GPU classes; get_num_gpus() alone is not enough.
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


# Tuning options that must be at least 1; a library given 0 either fails deep
# inside C++ or quietly searches nothing.
_AT_LEAST_ONE = {
    "ngt": ("ngt_k", "ngt_edges", "ngt_edges_for_search"),
    "hnsw": ("hnsw_k", "hnsw_ef_construction", "hnsw_ef"),
    "faiss-flat": ("faiss_flat_k",),
}


def check_engine(engine: str, params: EngineParams | None = None) -> list[str]:
    """Check the tuning options, load ``engine``'s library and return notes for the user.

    Called before hashing so a missing extra or a bad option costs no waiting.
    """
    if engine not in _LIBRARIES:
        return []
    if params is not None:
        for name in _AT_LEAST_ONE[engine]:
            if getattr(params, name) < 1:
                raise ConfigError(f"{opt(name)} must be at least 1, got {getattr(params, name)}")
        if engine == "hnsw" and params.hnsw_m < 2:
            # hnswlib's level generator divides by log(M): M=1 fails to allocate.
            raise ConfigError(f"{opt('hnsw_m')} must be at least 2, got {params.hnsw_m}")
        if engine == "ngt" and params.ngt_epsilon <= -1:
            raise ConfigError(f"{opt('ngt_epsilon')} must be above -1, got {params.ngt_epsilon}")
    lib = load_library(engine)
    notes = []
    if engine == "faiss-flat" and params is not None and params.faiss_cuda:
        if not faiss_gpu_available(lib):
            notes.append(NO_GPU_NOTE)
    return notes


def bit_vectors(matrix: np.ndarray, nbits: int) -> np.ndarray:
    """Packed hash rows -> (N, nbits) float32 of 0/1.

    For 0/1 vectors the squared L2 distance is exactly the Hamming distance,
    which is how the float-only libraries (hnswlib, IndexFlatL2) search bits.
    """
    return np.unpackbits(matrix, axis=1, count=nbits).astype(np.float32)


def knn_pairs(
    labels: np.ndarray, dists: np.ndarray, radius: int, first: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) neighbour table -> candidate pairs (query row, neighbour row).

    Neighbours the library itself puts beyond the radius are dropped here so
    that a million-row table does not become twenty million pairs; the search
    layer still recomputes every kept distance from the hashes.
    """
    q, k = labels.shape
    rows = np.repeat(np.arange(first, first + q, dtype=np.int64), k)
    labels = labels.reshape(-1).astype(np.int64)
    keep = (labels >= 0) & (dists.reshape(-1) <= radius + 0.5)
    return rows[keep], labels[keep]


def self_join_pairs(
    vectors: np.ndarray,
    radius: int,
    search: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    batch: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Query every row of ``vectors`` against its own index, ``batch`` rows at a
    time so the (Q, k) tables stay small; ``search`` returns (labels, dists)."""
    out_i, out_j = [], []
    for start in range(0, vectors.shape[0], batch):
        labels, dists = search(vectors[start : start + batch])
        i, j = knn_pairs(labels, dists, radius, first=start)
        out_i.append(i)
        out_j.append(j)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)
