"""The search stage's options and errors, below the engines that read them."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RunError

ENGINES = ("exact", "ngt", "hnsw", "faiss-flat")


@dataclass(frozen=True)
class EngineParams:
    """Tuning knobs of every engine, with the seed's defaults."""

    num_proc: int = 1
    ngt_k: int = 20
    ngt_epsilon: float = 0.1
    ngt_edges: int = 10
    ngt_edges_for_search: int = 40
    hnsw_k: int = 20
    hnsw_ef_construction: int = 100
    hnsw_m: int = 16
    hnsw_ef: int = 50
    faiss_flat_k: int = 20
    faiss_cuda: bool = False
    cuda_device: int = -1


class EngineUnavailable(RunError):
    """An optional engine's library is missing; the message names the extra to install."""
