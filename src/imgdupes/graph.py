"""Connected components of an undirected graph given as edge arrays.

scipy's csgraph does this fastest on big graphs, but importing it costs a
quarter of a second: more than a whole warm run over a photo folder.  Small
graphs use a plain union-find instead.
"""

from __future__ import annotations

import numpy as np

_SMALL = 200_000  # edges; below this the pure-Python union-find wins on start-up


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Component id (0..k-1) of each of ``n`` nodes; edges (i[k], j[k])."""
    if len(i) > _SMALL:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
        return connected_components(graph, directed=False)[1].astype(np.int64)
    parent = list(range(n))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.fromiter((find(x) for x in range(n)), dtype=np.int64, count=n)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.reshape(-1).astype(np.int64)
