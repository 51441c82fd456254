"""The sorting shortcuts of the search and grouping passes give numpy's own results."""

from __future__ import annotations

import numpy as np
import pytest

from imgdupes.search import collapse
from imgdupes.sorts import dense_ranks, sorted_with_order, stable_order, unique_sorted


@pytest.mark.parametrize("n", [0, 1, 2, 7, 5000])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_stable_order_is_numpys_stable_argsort(n, dtype):
    rng = np.random.default_rng(n)
    keys = rng.integers(0, 50, n).astype(dtype)  # many ties: the order among them counts
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
    ordered, order = sorted_with_order(keys)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(ordered, np.sort(keys)) and ordered.dtype == keys.dtype


def test_stable_order_outside_the_packed_range():
    keys = np.array([2**40, -3, 5, -3, 2**40, 0], dtype=np.int64)
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
    assert np.array_equal(sorted_with_order(keys)[1], np.argsort(keys, kind="stable"))


def test_dense_ranks_are_uniques_inverse():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 300, 1000)
    expected = np.unique(values, return_inverse=True)[1].reshape(-1)
    assert np.array_equal(dense_ranks(values, 300), expected)


@pytest.mark.parametrize("nbytes", [8, 5, 16])
def test_collapse_gives_the_unique_rows_and_where_each_row_went(nbytes):
    rng = np.random.default_rng(nbytes)
    base = rng.integers(0, 256, (300, nbytes), dtype=np.uint8)
    matrix = base[rng.integers(0, 300, 2000)]  # every row several times
    unique, inverse = collapse(matrix)
    assert len(unique) == len(np.unique(matrix, axis=0))
    assert len({row.tobytes() for row in unique}) == len(unique)
    assert np.array_equal(unique[inverse], matrix)
    assert len(np.unique(inverse)) == len(unique)


@pytest.mark.parametrize("n", [0, 1, 2, 500])
def test_unique_sorted_is_np_unique(n):
    values = np.random.default_rng(n).integers(-5, 40, n)
    assert np.array_equal(unique_sorted(values), np.unique(values))
