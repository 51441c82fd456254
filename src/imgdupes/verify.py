"""Verification stage: confirm hash matches with a second, independent signal.

A 64-bit perceptual hash of a low-detail picture (flat colour, gradient,
stripes) carries little information, so unrelated pictures can share it.
Every candidate pair found by the hash search is therefore checked against
the small thumbnails kept from the same decode (:mod:`imgdupes.signature`):

- detailed pictures must have the same structure (Pearson correlation of the
  16x16 grayscale thumbnails, which ignores brightness and contrast changes),
  a similar overall brightness, and, when both are in colour, similar colours
  (a grayscale copy of a colour picture is still accepted);
- low-detail pictures are not trusted to the hash at all: they must look the
  same, thumbnail for thumbnail.

It runs only on files that the hash search matched, so it costs little.
Files whose hashes are identical are split too: 10,000 blank scans hash
alike whatever their colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .group import find_roots, flatten, forest_components, join_into, set_labels, spanning
from .signature import GRAY_SIDE, SIGNATURE_BYTES, color_of, gray_of


@dataclass(frozen=True)
class Thresholds:
    """The acceptance rules; values were chosen on benchmarks/accuracy.py's tune split."""

    min_detail: float = 5.0  # detail (see Features) below which a picture counts as flat
    min_correlation: float = 0.85  # structure must agree this well
    max_brightness_shift: float = 60.0  # mean gray level difference, 0..255
    colourful: float = 12.0  # mean |chroma| above which a thumbnail counts as "in colour"
    max_chroma_diff: float = 22.0  # mean |chroma difference| when both are in colour
    mixed_min_correlation: float = 0.95  # one in colour, one gray: a grayscale copy?
    mixed_max_brightness_shift: float = 20.0
    flat_max_diff: float = 6.0  # low-detail pictures: mean |difference| of both thumbnails


DEFAULT = Thresholds()


def _plane_residual_projector() -> np.ndarray:
    ys, xs = np.mgrid[0:GRAY_SIDE, 0:GRAY_SIDE]
    design = np.stack([np.ones(GRAY_SIDE * GRAY_SIDE), xs.ravel(), ys.ravel()], axis=1)
    projector = np.eye(GRAY_SIDE * GRAY_SIDE) - design @ np.linalg.pinv(design)
    return projector.T.astype(np.float32)


_PLANE_RESIDUAL = _plane_residual_projector()


class Features:
    """Per-file numbers the rules compare, computed once for the files involved.

    Only the thumbnails (uint8) and a few numbers per file are kept; the
    float vectors a rule compares are made for the pairs being checked, so a
    dense folder of 50,000 involved files holds 22 MB here, not 200."""

    def __init__(self, signatures: Sequence[bytes]):
        n = len(signatures)
        raw = np.zeros((n, SIGNATURE_BYTES), dtype=np.uint8)
        self.present = np.zeros(n, dtype=bool)
        for k, sig in enumerate(signatures):
            if len(sig) == SIGNATURE_BYTES:
                raw[k] = np.frombuffer(sig, dtype=np.uint8)
                self.present[k] = True
        self.raw = raw
        self.mean = np.zeros(n, dtype=np.float32)
        self.std = np.zeros(n, dtype=np.float32)
        self.norm = np.zeros(n, dtype=np.float32)
        self.saturation = np.zeros(n, dtype=np.float32)
        for lo in range(0, n, _FILES_PER_STEP):
            rows = np.arange(lo, min(n, lo + _FILES_PER_STEP))
            gray = self.gray(rows)
            mean = gray.mean(axis=1)
            self.mean[rows] = mean
            # Detail is what is left after removing the best-fitting plane: a
            # linear gradient has a large spread but says no more than a flat colour.
            residual = gray @ _PLANE_RESIDUAL
            self.std[rows] = np.sqrt((residual**2).mean(axis=1))
            self.norm[rows] = np.linalg.norm(gray - mean[:, None], axis=1)
            self.saturation[rows] = np.abs(self.chroma(rows)).mean(axis=(1, 2))

    def gray(self, rows: np.ndarray) -> np.ndarray:
        return gray_of(self.raw, rows).astype(np.float32)

    def color(self, rows: np.ndarray) -> np.ndarray:
        return color_of(self.raw, rows).astype(np.float32)

    def chroma(self, rows: np.ndarray) -> np.ndarray:
        color = self.color(rows)
        return color - color.mean(axis=2, keepdims=True)

    def unit(self, rows: np.ndarray) -> np.ndarray:
        centred = self.gray(rows) - self.mean[rows, None]
        return centred / np.maximum(self.norm[rows], 1e-6)[:, None]


_FILES_PER_STEP = 1 << 14


def accept(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds = DEFAULT) -> np.ndarray:
    """Vectorised rule: may files a[k] and b[k] be called duplicates?"""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    detailed = (f.std[a] >= t.min_detail) & (f.std[b] >= t.min_detail)
    correlation = np.einsum("ij,ij->i", f.unit(a), f.unit(b))
    brightness = np.abs(f.mean[a] - f.mean[b])
    colour_a = f.saturation[a] >= t.colourful
    colour_b = f.saturation[b] >= t.colourful
    chroma_diff = np.abs(f.chroma(a) - f.chroma(b)).mean(axis=(1, 2))
    # A grayscale copy of a colour picture keeps its luminance exactly, so when
    # only one side has colour the structure must agree much more closely.
    mixed = colour_a != colour_b
    detailed_ok = (
        (correlation >= np.where(mixed, t.mixed_min_correlation, t.min_correlation))
        & (brightness <= np.where(mixed, t.mixed_max_brightness_shift, t.max_brightness_shift))
        & (~(colour_a & colour_b) | (chroma_diff <= t.max_chroma_diff))
    )
    flat_ok = (np.abs(f.gray(a) - f.gray(b)).mean(axis=1) <= t.flat_max_diff) & (
        np.abs(f.color(a) - f.color(b)).mean(axis=(1, 2)) <= t.flat_max_diff
    )
    ok = np.where(detailed, detailed_ok, flat_ok)
    # A file without a signature (hashes imported from a file) cannot be checked.
    return ok | ~(f.present[a] & f.present[b])


def refine_components(
    signatures: Sequence[bytes],
    unique_index: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    order_key: Sequence[bytes],
    thresholds: Thresholds = DEFAULT,
) -> np.ndarray:
    """Component label per file (-1 for files in no set), using only verified links.

    ``unique_index[f]`` is the unique-hash row of file f; ``pairs_i/j`` are the
    unique rows the hash search matched.  Files of one row are first split into
    groups of mutually alike thumbnails (leader clustering in ``order_key``
    order, so the result does not depend on input order); then each matched
    row pair links the groups whose leaders pass the check.
    """
    n = len(unique_index)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    u = int(unique_index.max()) + 1
    row_size = np.bincount(unique_index, minlength=u)
    involved_rows = np.zeros(u, dtype=bool)
    involved_rows[pairs_i] = True
    involved_rows[pairs_j] = True
    involved_rows |= row_size >= 2
    files = np.nonzero(involved_rows[unique_index])[0]
    if len(files) == 0:
        return labels
    feats = Features([signatures[k] for k in files])
    local = {int(fid): k for k, fid in enumerate(files)}

    # Files of each row in a stable order.
    by_row: dict[int, list[int]] = {}
    for fid in sorted(files.tolist(), key=lambda x: order_key[x]):
        by_row.setdefault(int(unique_index[fid]), []).append(fid)

    node_of = np.full(n, -1, dtype=np.int64)
    leaders: list[int] = []  # file id of each node's leader
    row_nodes: dict[int, list[int]] = {}
    for row, members in by_row.items():
        if len(members) == 1:  # most rows of a folder of distinct pictures: nothing to split
            node_of[members[0]] = len(leaders)
            row_nodes[row] = [len(leaders)]
            leaders.append(members[0])
            continue
        pending = np.array([local[m] for m in members], dtype=np.int64)
        ids = np.array(members, dtype=np.int64)
        nodes = []
        while len(pending):
            leader = pending[0]
            same = accept(feats, np.full(len(pending), leader), pending, thresholds)
            same[0] = True
            node = len(leaders)
            leaders.append(int(ids[0]))
            node_of[ids[same]] = node
            nodes.append(node)
            pending, ids = pending[~same], ids[~same]
        row_nodes[row] = nodes

    # Nodes of one row are numbered consecutively: each matched row pair links
    # every node of one row with every node of the other.  Only components
    # count, so a pair whose nodes are already joined is not checked at all:
    # a cluster of 250 near-identical pictures (31,125 pairs) is settled by
    # its first few hundred.  Pairs go a block at a time, as arrays.
    first = np.zeros(u, dtype=np.int64)
    count = np.zeros(u, dtype=np.int64)
    for row, nodes in row_nodes.items():
        first[row] = nodes[0]
        count[row] = len(nodes)
    leader_local = np.array([local[fid] for fid in leaders], dtype=np.int64)
    pairs_i = np.asarray(pairs_i)
    pairs_j = np.asarray(pairs_j)
    m = len(leaders)
    root = np.arange(m, dtype=np.int64)  # a forest: one tree per component so far
    steps = 0
    for lo in range(0, len(pairs_i), _PAIRS_PER_BLOCK):
        ea, eb = _node_pairs(
            pairs_i[lo : lo + _PAIRS_PER_BLOCK], pairs_j[lo : lo + _PAIRS_PER_BLOCK], first, count
        )
        # small steps, so that what one step joins spares the checks of the next
        for at in range(0, len(ea), _PAIRS_PER_STEP):
            sa, sb = ea[at : at + _PAIRS_PER_STEP], eb[at : at + _PAIRS_PER_STEP]
            while len(sa):
                ra, rb = find_roots(root, sa), find_roots(root, sb)
                apart = ra != rb
                if not apart.any():
                    break
                sa, sb, ra, rb = sa[apart], sb[apart], ra[apart], rb[apart]
                # Check first the pairs that would join something were every
                # pair accepted (a star of 1,000 pairs is 1,000 joins, a clique
                # of 1,000 pairs 45); the others only if still apart after.
                tree = spanning(ra, rb)
                keep = accept(feats, leader_local[sa[tree]], leader_local[sb[tree]], thresholds)
                join_into(root, sa[tree][keep], sb[tree][keep])
                sa, sb = sa[~tree], sb[~tree]
                steps += 1
                if steps % 64 == 0:
                    flatten(root)  # keeps the trees shallow, so finding roots stays cheap
    flatten(root)
    assigned = node_of >= 0
    labels[assigned] = set_labels(forest_components(root)[node_of[assigned]])
    return labels


_PAIRS_PER_BLOCK = 1 << 16  # row pairs expanded to node pairs at once
_PAIRS_PER_STEP = 1 << 10  # node pairs checked at once


def _node_pairs(
    pi: np.ndarray, pj: np.ndarray, first: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every (node of row pi[k], node of row pj[k]), as two arrays."""
    cp, cq = count[pi], count[pj]
    per = cp * cq
    owner = np.repeat(np.arange(len(pi)), per)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(per) - per, per)
    return first[pi][owner] + offset // cq[owner], first[pj][owner] + offset % cq[owner]


def accept_query(
    query_sig: bytes, signatures: Sequence[bytes], thresholds: Thresholds = DEFAULT
) -> np.ndarray:
    """Which of ``signatures`` pass the check against the query's signature."""
    if not signatures:
        return np.zeros(0, dtype=bool)
    feats = Features([query_sig, *signatures])
    others = np.arange(1, len(signatures) + 1)
    return accept(feats, np.zeros(len(signatures), dtype=np.int64), others, thresholds)
