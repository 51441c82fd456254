"""A second, independent signal computed from the same decode as the hashes.

The verification stage uses it to confirm hash matches: a perceptual hash
of a low-detail picture carries little information, so two unrelated flat
or gradient images can share a hash.  The signature is small and fixed in
size so that the hash store keeps it next to the hashes.

Layout (SIGNATURE_BYTES bytes): an 8x8 RGB thumbnail (192 bytes), a 16x16
grayscale thumbnail (256 bytes) and a 32x32 grayscale thumbnail (1024 bytes),
all Lanczos-reduced, row-major.  The 32x32 one (version 2) carries the fine
detail that tells apart pages of one layout with different text; a version-1
signature (the first 448 bytes) is still read, without that check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

from . import resample

# The matrix path (resample.py) matches Pillow's resize but for a rare +-1 in a byte
# (3 of 89,600 on small JPEGs), far inside what verification tolerates: same version.
SIGNATURE_VERSION = 2
COLOR_SIDE = 8
GRAY_SIDE = 16
FINE_SIDE = 32
COLOR_BYTES = COLOR_SIDE * COLOR_SIDE * 3
FINE_OFFSET = COLOR_BYTES + GRAY_SIDE * GRAY_SIDE  # = version 1's size
SIGNATURE_BYTES = FINE_OFFSET + FINE_SIDE * FINE_SIDE
# The layout: each part a row-major uint8 thumbnail of this shape, in this order.
# Other modules read a signature through the accessors below only.
PARTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("color", (COLOR_SIDE, COLOR_SIDE, 3)),
    ("gray", (GRAY_SIDE, GRAY_SIDE)),
    ("fine", (FINE_SIDE, FINE_SIDE)),
)


def color_of(raw: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), pixels, 3) uint8: the colour thumbnails of signatures ``raw[rows]``
    (``raw``: (N, SIGNATURE_BYTES))."""
    return raw[rows, :COLOR_BYTES].reshape(len(rows), -1, 3)


def gray_of(raw: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), pixels) uint8: the 16x16 grayscale thumbnails of signatures ``raw[rows]``."""
    return raw[rows, COLOR_BYTES:FINE_OFFSET]


def fine_of(raw: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """(len(rows), pixels) uint8: the 32x32 grayscale thumbnails of signatures
    ``raw[rows]`` (version 2; empty columns for a version-1 ``raw``)."""
    return raw[rows, FINE_OFFSET:SIGNATURE_BYTES]


def parts(sig: bytes) -> list[np.ndarray]:
    """The thumbnails of one signature, as arrays shaped as in :data:`PARTS`."""
    arr = np.frombuffer(sig, dtype=np.uint8)
    out, at = [], 0
    for _, shape in PARTS:
        size = int(np.prod(shape))
        if at + size > len(arr):
            break  # a signature of an earlier, shorter layout holds the first parts only
        out.append(arr[at : at + size].reshape(shape))
        at += size
    return out


def turned(sig: bytes, turn: Callable[[np.ndarray], np.ndarray]) -> bytes:
    """The signature of the picture turned by ``turn`` (an (H, W, ...) array
    operation), each thumbnail turned alike; b"" stays b""."""
    if not sig:
        return sig
    return b"".join(np.ascontiguousarray(turn(part)).tobytes() for part in parts(sig))


def compute(color: Image.Image, gray: Image.Image) -> bytes:
    return compute_batch([np.asarray(color)], [np.asarray(gray)])[0].tobytes()


def compute_batch(colors: list[np.ndarray], grays: list[np.ndarray]) -> np.ndarray:
    """(B, SIGNATURE_BYTES) uint8: the signatures of pictures given as (H, W, 3)
    and (H, W) uint8 arrays, Lanczos-reduced as Pillow does (see
    :mod:`imgdupes.resample`); pictures of one size share one product."""
    out = np.empty((len(grays), SIGNATURE_BYTES), dtype=np.uint8)
    nc = COLOR_BYTES
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, g in enumerate(grays):
        groups.setdefault(g.shape, []).append(k)
    for (h, w), members in groups.items():
        b = len(members)
        gray = np.stack([grays[k] for k in members])
        # every colour band is a picture of its own, as in Pillow
        bands = np.stack([colors[k] for k in members]).transpose(0, 3, 1, 2).reshape(b * 3, h, w)
        (small_gray, fine), _ = resample.shrink_batch(
            gray, [(GRAY_SIDE, GRAY_SIDE), (FINE_SIDE, FINE_SIDE)]
        )
        (small_color,), _ = resample.shrink_batch(bands, [(COLOR_SIDE, COLOR_SIDE)])
        rows = np.asarray(members)
        out[rows, :nc] = (
            small_color.reshape(b, 3, COLOR_SIDE, COLOR_SIDE).transpose(0, 2, 3, 1).reshape(b, nc)
        )
        out[rows, nc:FINE_OFFSET] = small_gray.reshape(b, GRAY_SIDE * GRAY_SIDE)
        out[rows, FINE_OFFSET:] = fine.reshape(b, FINE_SIDE * FINE_SIDE)
    return out


def from_thumbnails(color: np.ndarray, gray: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """(B, SIGNATURE_BYTES) uint8 from thumbnails already made (the fast path's
    :func:`imgdupes.thumbs.reduce_stack`): (B, 8, 8, 3), (B, 16, 16), (B, 32, 32)."""
    b = len(gray)
    return np.concatenate([color.reshape(b, -1), gray.reshape(b, -1), fine.reshape(b, -1)], axis=1)
