"""Bit-level helpers shared by every search engine."""

from __future__ import annotations

import numpy as np


def as_words(matrix: np.ndarray) -> np.ndarray:
    """(N, nbytes) uint8 -> (N, W) uint64, zero-padded; padding never changes a distance."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, nbytes = matrix.shape
    width = (nbytes + 7) // 8
    if nbytes != width * 8:
        padded = np.zeros((n, width * 8), dtype=np.uint8)
        padded[:, :nbytes] = matrix
        matrix = padded
    return matrix.view(np.uint64).reshape(n, width)


def popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x)


def distances(words: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Exact Hamming distance of row pairs (i[k], j[k])."""
    if len(i) == 0:
        return np.zeros(0, dtype=np.int32)
    return popcount(words[i] ^ words[j]).sum(axis=1, dtype=np.int32)


def distances_to(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance of every row to one query row (W,) uint64."""
    return popcount(words ^ query[None, :]).sum(axis=1, dtype=np.int32)
