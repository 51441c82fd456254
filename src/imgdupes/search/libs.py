"""Loading the optional engine libraries, and the helpers the index engines share.

Each approximate engine lives in an optional extra. A missing or broken
library must end the run with one line that names the extra and the real
import error, before any image is hashed; the seed hid that error behind a
bare ``except`` and users could not tell why NGT "would not load".
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from . import EngineParams, EngineUnavailable

# engine -> (module to import, the library's name for users, extra that installs it)
_LIBRARIES = {
    "ngt": ("ngtpy", "NGT", "ngt"),
    "hnsw": ("hnswlib", "hnswlib", "hnsw"),
    "faiss-flat": ("faiss", "faiss", "faiss"),
}

NO_GPU_NOTE = "no CUDA GPU found; running faiss on the CPU"


def load_library(engine: str) -> ModuleType:
    """Import the library behind ``engine`` or raise EngineUnavailable saying why."""
    module, label, extra = _LIBRARIES[engine]
    install = f"pip install 'imgdupes[{extra}]'"
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


def check_engine(engine: str, params: EngineParams | None = None) -> list[str]:
    """Load ``engine``'s library now (cheap) and return notes for the user.

    Called before hashing so a missing extra costs the user no waiting.
    """
    if engine not in _LIBRARIES:
        return []
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
