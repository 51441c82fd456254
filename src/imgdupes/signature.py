"""A second, independent signal computed from the same decode as the hashes.

The verification stage uses it to confirm hash matches: a perceptual hash
of a low-detail picture carries little information, so two unrelated flat
or gradient images can share a hash.  The signature is small and fixed in
size so that the hash store keeps it next to the hashes.

Layout (SIGNATURE_BYTES bytes): an 8x8 RGB thumbnail (192 bytes), a 16x16
grayscale thumbnail (256 bytes) and a 32x32 grayscale thumbnail (1024 bytes),
all Lanczos-reduced, row-major, then (version 3) the 16x16 *texture* (256
bytes): the area means of the gray picture on a 16x16 grid, in float, less
their best-fitting plane, in 1/:data:`TEXTURE_GAIN` of a level about 128
(clipped at about 8 levels either way).  The 32x32 one (version 2) carries
the fine detail that tells apart pages of one layout with different text; the
texture carries the pattern of a low-detail picture (a paper, a soft
gradient) whose thumbnails, rounded to whole levels, hold less than a level
of it.  Shorter signatures of earlier layouts (the first 448 or 1472 bytes)
are still read, without the checks their missing parts serve.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

from . import resample
from .medians import row_medians

# The matrix path (resample.py) matches Pillow's resize but for a rare +-1 in a byte
# (3 of 89,600 on small JPEGs), far inside what verification tolerates: same version.
SIGNATURE_VERSION = 3
COLOR_SIDE = 8
GRAY_SIDE = 16
FINE_SIDE = 32
COLOR_BYTES = COLOR_SIDE * COLOR_SIDE * 3
FINE_OFFSET = COLOR_BYTES + GRAY_SIDE * GRAY_SIDE  # = version 1's size
TEXTURE_OFFSET = FINE_OFFSET + FINE_SIDE * FINE_SIDE  # = version 2's size
SIGNATURE_BYTES = TEXTURE_OFFSET + GRAY_SIDE * GRAY_SIDE
# Steps of the texture per gray level: a paper whose pattern spans half a level
# (0.3-2.5 levels rms on the real split) keeps 8-40 steps of it.
TEXTURE_GAIN = 16.0
# The layout: each part a row-major uint8 thumbnail of this shape, in this order.
# Other modules read a signature through the accessors below only.
PARTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("color", (COLOR_SIDE, COLOR_SIDE, 3)),
    ("gray", (GRAY_SIDE, GRAY_SIDE)),
    ("fine", (FINE_SIDE, FINE_SIDE)),
    ("texture", (GRAY_SIDE, GRAY_SIDE)),
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
    return raw[rows, FINE_OFFSET:TEXTURE_OFFSET]


def texture_of(raw: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """(len(rows), pixels) uint8: the 16x16 textures of signatures ``raw[rows]``
    (version 3; see the layout above)."""
    return raw[rows, TEXTURE_OFFSET:SIGNATURE_BYTES]


@functools.lru_cache(maxsize=512)
def area_weights(size: int, out: int, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """(out, size) float32: each output cell the mean of the input pixels of
    [lo, hi) (the whole row by default) it covers, fractional at the edges,
    so every pixel counts alike.  Cached: a folder's pictures share a handful
    of sizes (and the texture hashes' boxes, see :mod:`imgdupes.lowdetail`)."""
    edges = lo + np.arange(out + 1) * (((size if hi is None else hi) - lo) / out)
    a, b = edges[:-1, None], edges[1:, None]
    px = np.arange(size)[None, :]
    cover = np.clip(np.minimum(b, px + 1) - np.maximum(a, px), 0, None)
    weights = (cover / np.maximum(cover.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)
    weights.flags.writeable = False
    return weights


def _plane_projector(side: int) -> np.ndarray:
    """(side*side, side*side): what the best-fitting plane leaves of a thumbnail."""
    ys, xs = np.mgrid[0:side, 0:side]
    design = np.stack([np.ones(side * side), xs.ravel(), ys.ravel()], axis=1)
    return (np.eye(side * side) - design @ np.linalg.pinv(design)).astype(np.float32)


PLANE_RESIDUAL = _plane_projector(GRAY_SIDE)
_YS, _XS = np.mgrid[0:GRAY_SIDE, 0:GRAY_SIDE]
_DESIGN = np.stack([np.ones(GRAY_SIDE**2), _XS.ravel(), _YS.ravel()], axis=1).astype(np.float32)
_DESIGN_PAIRS = (_DESIGN[:, :, None] * _DESIGN[:, None, :]).reshape(GRAY_SIDE**2, 9)


def _plain_plane(means: np.ndarray) -> np.ndarray:
    """(B, 256): the plane fitted to the cells that lie near it, so that a
    frame, a caption band or a logo on a plain picture does not move it (the
    paper keeps its own level and pattern around them).  Starts from the
    median, then twice keeps the cells within 2.5 deviations and refits."""
    plane = np.repeat(row_medians(means)[:, None], means.shape[1], axis=1)
    spread = row_medians(np.abs(means - plane))[:, None] * 1.5 + 0.05
    for _ in range(2):
        w = (np.abs(means - plane) <= 2.5 * spread).astype(np.float32)
        # = einsum("bk,ki,kj->bij", w, D, D), bit for bit: w is 0/1 and D's
        # products are whole numbers, so every partial sum is an exact
        # float32 integer in any order; one matrix product, not a 3-way einsum
        normal = (w @ _DESIGN_PAIRS).reshape(-1, 3, 3)
        normal += np.eye(3, dtype=np.float32) * 1e-3
        rhs = np.einsum("bk,ki,bk->bi", w, _DESIGN, means)
        plane = np.linalg.solve(normal, rhs[..., None])[..., 0] @ _DESIGN.T
        r = (means - plane) * w
        kept = np.maximum(w.sum(axis=1, keepdims=True), 1)
        spread = np.sqrt((r**2).sum(axis=1, keepdims=True) / kept) + 0.05
    return plane


plain_plane = _plain_plane  # the texture hashes' plane too (imgdupes.lowdetail)


def textures(gray: np.ndarray, as_float: np.ndarray | None = None) -> np.ndarray:
    """(B, GRAY_SIDE**2) uint8 textures of (B, H, W) uint8 pictures of one size
    (``as_float``: the same pictures as float32 already, spares the conversion)."""
    b, h, w = gray.shape
    means = np.matmul(
        np.matmul(
            area_weights(h, GRAY_SIDE), gray.astype(np.float32) if as_float is None else as_float
        ),
        area_weights(w, GRAY_SIDE).T,
    ).reshape(b, -1)
    residual = means - _plain_plane(means)
    return np.clip(np.rint(128 + TEXTURE_GAIN * residual), 0, 255).astype(np.uint8)


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
        out[rows, FINE_OFFSET:TEXTURE_OFFSET] = fine.reshape(b, FINE_SIDE * FINE_SIDE)
        out[rows, TEXTURE_OFFSET:] = textures(gray)
    return out


def from_thumbnails(
    color: np.ndarray, gray: np.ndarray, fine: np.ndarray, texture: np.ndarray
) -> np.ndarray:
    """(B, SIGNATURE_BYTES) uint8 from parts already made (the fast path's
    :func:`imgdupes.thumbs.reduce_stack`), in :data:`PARTS`' order."""
    b = len(gray)
    return np.concatenate([p.reshape(b, -1) for p in (color, gray, fine, texture)], axis=1)
