"""Grouping stage: component labels -> ordered duplicate sets.

The order never depends on the input order or on the engine: files inside a
set follow the ``--sort`` keys with the path as the last tie-break, and sets
are ordered by the smallest path they hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from . import hashes
from .model import DupSet, HashedImage, SetEntry

SORT_KEYS = ("filesize", "filepath", "imagesize", "width", "height", "mtime", "none")


def parse_sort(spec: str | None) -> list[str]:
    """``--sort`` value -> list of keys; default (None) is the seed's filesize."""
    if spec is None or spec == "":
        return ["filesize"]
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    bad = [k for k in keys if k not in SORT_KEYS]
    if bad or not keys:
        raise ValueError(
            f"invalid --sort key {', '.join(bad) or spec!r}; choose from {', '.join(SORT_KEYS)}"
        )
    return keys


def path_key(path: str) -> bytes:
    # Compare as bytes so names with undecodable bytes still sort stably.
    return path.encode("utf-8", "surrogateescape")


def sort_entries(entries: list[SetEntry], keys: Sequence[str], reverse: bool = False) -> None:
    """Sort in place: numeric keys largest first, paths ascending (the seed's meaning)."""

    def key(e: SetEntry):
        parts: list = []
        for k in keys:
            if k == "filesize":
                parts.append(-e.size)
            elif k == "filepath":
                parts.append(path_key(e.path))
            elif k == "imagesize":
                parts.append(-(e.width + e.height))
            elif k == "width":
                parts.append(-e.width)
            elif k == "height":
                parts.append(-e.height)
            elif k == "mtime":
                parts.append(-e.mtime_ns)
        parts.append(path_key(e.path))
        return tuple(parts)

    entries.sort(key=key, reverse=reverse)


def make_entry(h: HashedImage, nbits: int) -> SetEntry:
    return SetEntry(
        path=h.file.path,
        size=h.file.size,
        width=h.width,
        height=h.height,
        mtime_ns=h.file.mtime_ns,
        hash_hex=hashes.to_hex(h.hash, nbits),
        distance=0,
        file=h.file,
        hash=h.hash,
        tone=h.variants.get(hashes.TONE, b""),
    )


def best_form_distance(a: SetEntry, b: SetEntry) -> int:
    """Hamming distance as shot or tone-normalised, whichever is smaller
    (plain distance when either file has no tone hash)."""
    d = hashes.hamming(a.hash, b.hash)
    if a.tone and b.tone:
        d = min(d, hashes.hamming(a.tone, b.tone))
    return d


def build_sets(
    images: Sequence[HashedImage],
    labels: np.ndarray,
    nbits: int,
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
) -> list[DupSet]:
    members: dict[int, list[int]] = defaultdict(list)
    for idx, label in enumerate(labels.tolist()):
        if label >= 0:
            members[label].append(idx)
    sets = [
        finish_set([make_entry(images[i], nbits) for i in idxs], sort_keys, reverse)
        for idxs in members.values()
        if len(idxs) >= 2
    ]
    return order_sets(sets)


def finish_set(entries: list[SetEntry], sort_keys: Sequence[str], reverse: bool) -> DupSet:
    """Put a set's files in display order and measure each from the first."""
    sort_entries(entries, sort_keys, reverse)
    first = entries[0].hash
    for e in entries:
        e.distance = hashes.hamming(first, e.hash)
    return DupSet(entries)


def order_sets(sets: list[DupSet]) -> list[DupSet]:
    """Sets ordered by the smallest path they hold, whatever found them."""
    sets.sort(key=lambda s: min(path_key(e.path) for e in s.entries))
    return sets


def nearest_first(
    entries: list[SetEntry], sort_keys: Sequence[str], reverse: bool = False
) -> list[SetEntry]:
    """``--query`` order: by distance to the query, ties in ``--sort`` order."""
    by_distance: dict[int, list[SetEntry]] = defaultdict(list)
    for e in entries:
        by_distance[e.distance].append(e)
    ordered: list[SetEntry] = []
    for d in sorted(by_distance):
        sort_entries(by_distance[d], sort_keys, reverse)
        ordered.extend(by_distance[d])
    return ordered
