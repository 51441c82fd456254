"""A second candidate source for low-detail pictures (a paper, a canvas, a
soft wallpaper), where the plain hash cannot serve.

A DCT hash of such a picture sits on coefficients a fraction of a level
strong, rounded to whole levels on the way: a JPEG, a WebP or a re-toned copy
of a paper lands 6-20 bits from its original, a crop or a frame further.
The *texture hash* here keeps the pattern in float: the picture's area means
on a 16x16 grid, less the plane fitted to the cells near it (as the
signature's texture), clipped at 8 levels (a caption, a logo), then the
signs of its 64 lowest DCT frequencies about their median (so any tone
curve that keeps the order of levels keeps the bits).  Each picture has two:
of its box less a uniform frame of another level (a black border; a plain
paper's own edges are not a frame), and of that box less 5% a side, so a
copy cropped by 5% a side meets its original's inner one.

Only pictures that are low-detail by their signature (:func:`selected`) get
them; the others' are zeros (no hash), so a folder of photos gives this
source no rows to search.  Every link it proposes is verified as any other
(:func:`imgdupes.verify.decide`, whose ``texture`` rule compares the grain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import signature
from .medians import row_medians
from .signature import GRAY_SIDE, PLANE_RESIDUAL, TEXTURE_GAIN, area_weights, gray_of, texture_of

BITS = 64  # every texture hash, whatever the hash size of the plain one
NBYTES = BITS // 8
# Hamming radius of this source, fixed: the user's threshold is the plain
# hash's.  On the real split copies of a paper are within 10 bits in one of
# the two forms (5% crops and frames included), different papers 0.9% of pairs.
RADIUS = 10
# Which pictures: low-detail (the 16x16 thumbnail's detail, less its plane,
# below verify's 5 levels, or half the texture's cells plain), with a grain
# for the texture rule to compare.  A little wider than verify's bounds, so a
# copy whose contrast grew a little still has its hash.
MAX_DETAIL = 8.0
MIN_PLAIN_SHARE = 0.4
MIN_GRAIN = 0.1
_CLIP = 8.0  # levels: a caption band or a logo is no more than this strong here
_FRAME_MIN_STEP = 30.0  # levels between a frame and the picture's centre
_INNER = 0.05  # of the box, less on each side for the inner form


def _edge_padded(a: np.ndarray) -> np.ndarray:
    """(k, h, w) -> (k, h + 2, w + 2), each side's row or column repeated: what
    ``np.pad(mode="edge")`` gives, without its ~80 us of set-up a call (verification
    calls this per pair)."""
    k, h, w = a.shape
    p = np.empty((k, h + 2, w + 2), dtype=a.dtype)
    p[:, 1:-1, 1:-1] = a
    p[:, 0, 1:-1] = a[:, 0]
    p[:, -1, 1:-1] = a[:, -1]
    p[:, :, 0] = p[:, :, 1]
    p[:, :, -1] = p[:, :, -2]
    return p


def plain_cells(texture: np.ndarray) -> np.ndarray:
    """(k, 256) bool: the texture's cells neither clipped nor next to one."""
    clipped = ((texture <= 1) | (texture >= 254)).reshape(-1, GRAY_SIDE, GRAY_SIDE)
    p = _edge_padded(clipped)
    near = np.zeros_like(clipped)
    for dy in range(3):
        for dx in range(3):
            near |= p[:, dy : dy + GRAY_SIDE, dx : dx + GRAY_SIDE]
    return ~near.reshape(len(texture), -1)


def local_detail(thumb: np.ndarray, side: int) -> np.ndarray:
    """(k, side*side) float32: what a 3x3 mean does not explain of (k, side*side) thumbnails."""
    g = thumb.astype(np.float32).reshape(-1, side, side)
    p = _edge_padded(g)
    rows = p[:, :, :-2] + p[:, :, 1:-1] + p[:, :, 2:]  # the 3x3 sum, one axis at a time
    box = (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9
    return (g - box).reshape(len(g), -1)


def selected(sigs: np.ndarray) -> np.ndarray:
    """(B,) bool: which of (B, SIGNATURE_BYTES) signatures are of low-detail
    pictures with a grain (see the bounds above)."""
    rows = np.arange(len(sigs))
    return selected_parts(gray_of(sigs, rows), texture_of(sigs, rows))


def selected_parts(gray: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """:func:`selected` from the signature's parts: (B, 256) uint8 16x16 gray
    thumbnails and textures."""
    gray = gray.reshape(len(gray), -1).astype(np.float32)
    texture = texture.reshape(len(texture), -1)
    detail = np.sqrt(((gray @ PLANE_RESIDUAL.T) ** 2).mean(axis=1))
    plain = plain_cells(texture).mean(axis=1)
    grain = np.sqrt((local_detail(texture, GRAY_SIDE) ** 2).mean(axis=1)) / TEXTURE_GAIN
    return ((detail < MAX_DETAIL) | (plain >= MIN_PLAIN_SHARE)) & (grain >= MIN_GRAIN)


def _median(levels: np.ndarray) -> int:
    """The lower median of uint8 levels, from their histogram (a sort of every pixel costs more)."""
    counts = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    return int(np.searchsorted(counts, (counts[-1] + 1) // 2))


def _box(gray: np.ndarray, trimmed: Sequence[int]) -> tuple[float, float, float, float]:
    """The picture less its uniform frame (``trimmed``, see
    :func:`imgdupes.thumbs.trimmed_boxes`) when the frame's level differs from
    the centre's: a plain paper's edges are as uniform as a frame, and how
    much of them is trimmed changes with a copy's contrast."""
    h, w = gray.shape
    frame = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    centre = gray[h // 4 : h - h // 4, w // 4 : w - w // 4]
    if abs(_median(frame) - _median(centre)) <= _FRAME_MIN_STEP:
        return 0.0, 0.0, float(w), float(h)
    x0, y0, x1, y1 = (float(v) for v in trimmed)
    return x0, y0, x1, y1


def _dct_matrix() -> np.ndarray:
    n = GRAY_SIDE
    k, x = np.mgrid[0:n, 0:n]
    return np.cos(np.pi * k * (2 * x + 1) / (2 * n)).astype(np.float32)


_DCT = _dct_matrix()
# the 64 lowest frequencies (by k + l, then row order), the constant left out
_ORDER = np.add.outer(np.arange(GRAY_SIDE), np.arange(GRAY_SIDE)).ravel()
_LOWEST = np.argsort(_ORDER, kind="stable")[1 : BITS + 1]


def texture_hashes(grays: Sequence[np.ndarray], trimmed: np.ndarray) -> np.ndarray:
    """(B, 2, NBYTES) uint8: the texture hashes (whole box, inner box) of
    (H, W) uint8 gray pictures (the signature's picture, see
    :mod:`imgdupes.thumbs`), each less its uniform border ``trimmed[k]``."""
    means = np.empty((2 * len(grays), GRAY_SIDE * GRAY_SIDE), dtype=np.float32)
    for k, gray in enumerate(grays):
        h, w = gray.shape
        x0, y0, x1, y1 = _box(gray, trimmed[k])
        dx, dy = _INNER * (x1 - x0), _INNER * (y1 - y0)
        pixels = gray.astype(np.float32)
        boxes = [(x0, y0, x1, y1), (x0 + dx, y0 + dy, x1 - dx, y1 - dy)]
        for form, (a, b, c, d) in enumerate(boxes):
            cells = area_weights(h, GRAY_SIDE, b, d) @ pixels @ area_weights(w, GRAY_SIDE, a, c).T
            means[2 * k + form] = cells.ravel()
    residual = np.clip(means - signature.plain_plane(means), -_CLIP, _CLIP)
    coeffs = np.matmul(np.matmul(_DCT, residual.reshape(-1, GRAY_SIDE, GRAY_SIDE)), _DCT.T)
    low = coeffs.reshape(len(means), -1)[:, _LOWEST]
    bits = low > row_medians(low)[:, None]
    return np.packbits(bits, axis=1).reshape(len(grays), 2, NBYTES)
