"""Pillow's Lanczos shrink to several sizes at once, as matrix products.

Pillow resizes in two passes, horizontal then vertical; each output pixel is
a sum of input pixels times integer weights (22 fraction bits), rounded to
8 bits after each pass.  Shrinking a picture costs about six multiply-adds
per input pixel whatever the output size, so the fast path's three hash
resizes (ahash, dhash, phash) were three full passes over the decoded
picture: more than half of the hashing work after the decode.

Here the horizontal passes of every target are one float32 matrix product
(BLAS), rounded to 8 bits as Pillow does; the vertical passes then act on a
few columns only, in float64 with Pillow's own integer weights, where every
sum is exact.  A float32 sum that lies within its rounding error of a half
(a few in a thousand) is recomputed exactly, so the pixels are Pillow's
bit for bit, with one exception: Pillow 13 runs the vertical pass first on
pictures much taller than wide (for an 8x8 target, height above about 1.9x
the width), and its first-pass rounding then falls on other sums: up to
one grey level apart in some pixels there.  On 96x72 pictures this costs
about a quarter of Pillow's three resizes (benchmarks/resample_speed.py);
whash's block sums (a projection, no rounding, see
:func:`imgdupes.hashes.whash_projected`) ride on the same product.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

PRECISION_BITS = 22  # Pillow's Resample.c for 8-bit images: 32 - 8 - 2
_ONE = float(1 << PRECISION_BITS)
_HALF = float(1 << (PRECISION_BITS - 1))


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


def _taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's ``precompute_coeffs``: (input index, normalised weight, valid) per tap."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    taps = int(np.ceil(support)) * 2 + 1
    centers = (np.arange(out_size) + 0.5) * scale
    # C's (int) cast truncates toward zero, as astype does
    xmin = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    x = xmin[:, None] + np.arange(taps)[None, :]
    valid = x < xmax[:, None]
    w = np.where(valid, _lanczos((x - centers[:, None] + 0.5) / filterscale), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=w, where=total != 0.0)
    return np.minimum(x, in_size - 1), w, valid


@functools.lru_cache(maxsize=512)
def pillow_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float64 matrix of Pillow's integer weights (x 2**22).

    Cached: a folder of photos from one camera shares a handful of sizes."""
    x, w, valid = _taps(in_size, out_size)
    # normalize_coeffs_8bpc: round half away from zero
    k = np.where(w < 0, np.trunc(w * _ONE - 0.5), np.trunc(w * _ONE + 0.5))
    rows = np.broadcast_to(np.arange(out_size)[:, None], x.shape)
    out = np.zeros((out_size, in_size))
    np.add.at(out, (rows[valid], x[valid]), k[valid])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=512)
def block_weights(in_size: int, out_size: int, blocks: int) -> np.ndarray:
    """(blocks, in_size): the Lanczos weights from in_size to out_size (as
    fractions, not Pillow's integers), the output rows of each of ``blocks``
    equal blocks summed."""
    x, w, valid = _taps(in_size, out_size)
    block_of = np.broadcast_to((np.arange(out_size) * blocks // out_size)[:, None], x.shape)
    out = np.zeros((blocks, in_size))
    np.add.at(out, (block_of[valid], x[valid]), w[valid])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=512)
def _tolerance(in_size: int, out_size: int) -> np.ndarray:
    """(out_size,) float32: how far the float32 first-pass sum of each output
    column can be from the exact one.  The weights k / 2**22 are exact in
    float32 (k < 2**23) and the pixels are integers, so only the additions
    round: at most (n + 1) * 2**-24 * sum(|pixel * weight|) for n taps, in
    any order of summation; doubled for margin."""
    weights = pillow_weights(in_size, out_size)
    taps = np.count_nonzero(weights, axis=1)
    bound = (taps + 1) * 2.0**-24 * 255.0 * np.abs(weights).sum(axis=1) / _ONE
    out = (2.0 * bound).astype(np.float32)
    out.flags.writeable = False
    return out


def _round8(sums: np.ndarray) -> np.ndarray:
    """Pillow's clip8: (sum + half) >> 22, clamped to 0..255."""
    return np.clip(np.floor((sums + _HALF) / _ONE), 0.0, 255.0)


@functools.lru_cache(maxsize=256)
def _across(width: int, widths: tuple[int, ...], block_sums: tuple[int, int] | None) -> np.ndarray:
    """(width, sum of widths [+ blocks]) float32: every horizontal pass side by side."""
    columns = [pillow_weights(width, w) / _ONE for w in widths]
    if block_sums is not None:
        columns.append(block_weights(width, *block_sums))
    out = np.ascontiguousarray(np.concatenate(columns).T, dtype=np.float32)
    out.flags.writeable = False
    return out


def shrink_batch(
    pixels: np.ndarray,
    sizes: Sequence[tuple[int, int]],
    block_sums: tuple[int, int] | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """A stack of same-size pictures, ``(B, rows, columns)`` uint8, Lanczos-resized
    to each of ``sizes`` as Pillow would: (B, h, w) uint8 arrays, and optionally
    whash's block sums: ``block_sums=(scale, blocks)`` gives the (B, blocks,
    blocks) sums of each picture resized to ``scale x scale``, without rounding.

    The horizontal passes of the whole stack are one matrix product, so a
    chunk of small pictures costs a few array operations, not a few per picture.
    """
    count, height, width = pixels.shape
    flat = pixels.reshape(count * height, width).astype(np.float32)
    across = (flat @ _across(width, tuple(w for w, _ in sizes), block_sums)).reshape(
        count, height, -1
    )
    out: list[np.ndarray] = []
    start = 0
    for w, h in sizes:
        # Pillow's first-pass rounding, on float32 sums of fractional weights
        block = across[:, :, start : start + w]
        part = np.floor(block + 0.5)
        # Where a float32 sum lies within its rounding error of a half, the
        # exact integer sum decides, as in Pillow (a few in a thousand sums).
        near = np.abs(block - np.floor(block) - 0.5) <= _tolerance(width, w)
        if near.any():
            b, r, c = np.nonzero(near)
            weights = pillow_weights(width, w)
            exact = np.einsum("kj,kj->k", pixels[b, r].astype(np.float64), weights[c])
            part[b, r, c] = np.floor((exact + _HALF) / _ONE)
        part = np.clip(part, 0.0, 255.0)
        start += w
        # float64 with Pillow's integer weights: every sum exact
        out.append(_round8(np.matmul(pillow_weights(height, h), part)).astype(np.uint8))
    sums = None
    if block_sums is not None:
        sums = np.matmul(block_weights(height, *block_sums), across[:, :, start:])
    return out, sums


def shrink(
    gray: Image.Image,
    sizes: Sequence[tuple[int, int]],
    block_sums: tuple[int, int] | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """:func:`shrink_batch` for one picture (mode L)."""
    resized, sums = shrink_batch(np.asarray(gray)[None], sizes, block_sums)
    return [r[0] for r in resized], None if sums is None else sums[0]
