import numpy as np

from imgdupes import group as graph


def test_small_and_large_paths_give_the_same_components(monkeypatch):
    rng = np.random.default_rng(3)
    n = 2000
    i = rng.integers(0, n, 1500)
    j = rng.integers(0, n, 1500)
    small = graph.components(n, i, j)
    monkeypatch.setattr(graph, "_SMALL", 0)
    large = graph.components(n, i, j)
    # same partition (labels may be numbered differently)
    pairs_small = {(a, b) for a, b in zip(small[i], small[j], strict=True)}
    assert len(pairs_small) == len(set(small[i]))
    assert len(set(zip(small.tolist(), large.tolist(), strict=True))) == len(set(small.tolist()))
    assert len(set(small.tolist())) == len(set(large.tolist()))


def test_chain_and_isolated_nodes():
    labels = graph.components(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert labels[0] == labels[1] == labels[2]
    assert labels[4] == labels[5] != labels[0]
    assert labels[3] not in (labels[0], labels[4])
