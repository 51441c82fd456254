"""Sets are the connected components of the match graph, whatever the order."""

from __future__ import annotations

import numpy as np

from imgdupes.group import build_sets
from imgdupes.model import FileRecord, HashedImage
from imgdupes.search import find_matches


def _images(values: list[int]) -> list[HashedImage]:
    return [
        HashedImage(FileRecord(f"img{i:02d}.jpg", 100 + i, 0, 1, i), v.to_bytes(8, "big"), 10, 10)
        for i, v in enumerate(values)
    ]


def _sets(values: list[int], r: int) -> list[list[str]]:
    images = _images(values)
    matrix = np.frombuffer(b"".join(im.hash for im in images), np.uint8).reshape(-1, 8)
    m = find_matches(matrix, 64, r)
    return [sorted(s.paths) for s in build_sets(images, m.labels, 64, ["filepath"])]


def test_chain_of_matches_is_one_set():
    a = 0
    b = 0b1111  # 4 bits from a
    c = 0b11111111  # 4 bits from b, 8 from a
    far = (1 << 64) - 1
    assert _sets([a, b, c, far], 4) == [["img00.jpg", "img01.jpg", "img02.jpg"]]
    assert _sets([a, b, c, far], 3) == []


def test_radius_zero_to_all_bits():
    rng = np.random.default_rng(5)
    values = [int(v) for v in rng.integers(0, 2**63, 40, dtype=np.int64)]
    assert _sets(values, 0) == []
    everything = _sets(values, 64)
    assert len(everything) == 1 and len(everything[0]) == 40


def test_order_of_input_does_not_change_sets():
    rng = np.random.default_rng(9)
    base = [int(v) for v in rng.integers(0, 2**62, 30, dtype=np.int64)]
    values = base + [v ^ (1 << int(rng.integers(0, 64))) for v in base[:10]]
    names = [f"img{i:02d}.jpg" for i in range(len(values))]
    reference = None
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(values))
        images = [
            HashedImage(FileRecord(names[i], 5, 0, 1, int(i)), values[i].to_bytes(8, "big"), 1, 1)
            for i in order
        ]
        matrix = np.frombuffer(b"".join(im.hash for im in images), np.uint8).reshape(-1, 8)
        sets = build_sets(images, find_matches(matrix, 64, 2).labels, 64, ["filesize"])
        got = [s.paths for s in sets]
        reference = reference or got
        assert got == reference
    assert reference and len(reference) == 10


def test_sets_sharing_their_smallest_path_keep_one_order():
    """A hash table may list a path twice (two hashes): the two sets it is in
    come out in one order whatever order the rows came in."""
    from imgdupes.group import order_sets, row_entry
    from imgdupes.model import DupSet

    def dupset(*paths: str) -> DupSet:
        return DupSet([row_entry(p, 1, 0, bytes(8), 64) for p in paths])

    got = {
        tuple(tuple(s.paths) for s in order_sets(sets))
        for sets in (
            [dupset("a.jpg", "c.jpg"), dupset("a.jpg", "b.jpg"), dupset("0.jpg", "z.jpg")],
            [dupset("a.jpg", "b.jpg"), dupset("0.jpg", "z.jpg"), dupset("a.jpg", "c.jpg")],
        )
    }
    assert got == {(("0.jpg", "z.jpg"), ("a.jpg", "b.jpg"), ("a.jpg", "c.jpg"))}


def test_spanning_links_are_those_a_union_find_would_take():
    from imgdupes.group import spanning

    a = np.array([5, 7, 5, 9, 7, 9])
    b = np.array([7, 9, 9, 5, 11, 11])
    assert spanning(a, b).tolist() == [True, True, False, False, True, False]
