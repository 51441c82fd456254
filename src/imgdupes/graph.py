"""Connected components of an undirected graph given as edge arrays.

Small graphs use a plain union-find; big ones hook and jump pointers on
arrays a block of edges at a time (scipy's csgraph would cost a quarter of a
second to import and a sparse matrix of every edge).
"""

from __future__ import annotations

import numpy as np

_SMALL = 200_000  # edges; below this the pure-Python union-find wins
_EDGES_PER_STEP = 1 << 20


def find_roots(parent: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The root of each of ``x`` in the forest ``parent`` (parent[r] == r at a root)."""
    r = parent[x]
    while True:
        up = parent[r]
        if np.array_equal(up, r):
            return r
        r = up


def join_into(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Merge the trees of a[k] and b[k] in the forest ``parent`` (every node's
    parent is no larger than the node): each root is hooked under the smallest
    root it must join, until no edge joins two trees."""
    while len(a):
        ra, rb = find_roots(parent, a), find_roots(parent, b)
        apart = ra != rb
        if not apart.any():
            return
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))


def flatten(parent: np.ndarray) -> None:
    """Point every node straight at its root (pointer jumping)."""
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return
        parent[:] = up


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Component id (0..k-1) of each of ``n`` nodes; edges (i[k], j[k]).

    Ids are numbered in the order of each component's smallest node."""
    if len(i) > _SMALL:
        # Big graphs (a dense folder's millions of pairs): hooking and pointer
        # jumping a block of edges at a time, in arrays; no scipy import, and
        # no sparse matrix of every edge.
        root = np.arange(n, dtype=np.int64)
        for lo in range(0, len(i), _EDGES_PER_STEP):
            join_into(root, i[lo : lo + _EDGES_PER_STEP], j[lo : lo + _EDGES_PER_STEP])
            flatten(root)
        return np.unique(root, return_inverse=True)[1].reshape(-1).astype(np.int64)
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
    # only nodes an edge touches can have another root
    roots = np.arange(n, dtype=np.int64)
    touched = np.unique(np.concatenate([i, j])).tolist() if len(i) else []
    roots[touched] = [find(x) for x in touched]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.reshape(-1).astype(np.int64)
