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


def _taps(
    in_size: int, out_size: int, in0: float = 0.0, in1: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's ``precompute_coeffs`` for the source span ``in0..in1`` (the whole
    picture by default; Pillow holds a box as C floats, so ``in0``/``in1`` must be
    float32 values already): (input index, normalised weight, valid) per tap."""
    if in1 is None:
        in1 = float(in_size)
    # (in1 - in0) is a float subtraction in C, the division a double one
    scale = float(np.float32(in1) - np.float32(in0)) / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    taps = int(np.ceil(support)) * 2 + 1
    centers = in0 + (np.arange(out_size) + 0.5) * scale
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
    return box_weights(in_size, out_size, 0.0, float(in_size))


@functools.lru_cache(maxsize=2048)
def box_weights(in_size: int, out_size: int, in0: float, in1: float) -> np.ndarray:
    """:func:`pillow_weights` of the source span ``in0..in1`` (``resize(box=...)``;
    float32 values, as Pillow holds them)."""
    x, w, valid = _taps(in_size, out_size, in0, in1)
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


def _tolerance_of(weights: np.ndarray) -> np.ndarray:
    """(out,) float32: how far the float32 first-pass sum of each output
    column can be from the exact one.  The weights k / 2**22 are exact in
    float32 (k < 2**23) and the pixels are integers, so only the additions
    round: at most (n + 1) * 2**-24 * sum(|pixel * weight|) for n taps, in
    any order of summation; doubled for margin."""
    taps = np.count_nonzero(weights, axis=1)
    bound = (taps + 1) * 2.0**-24 * 255.0 * np.abs(weights).sum(axis=1) / _ONE
    return (2.0 * bound).astype(np.float32)


def round8_u8(sums: np.ndarray) -> np.ndarray:
    """Pillow's clip8, (sum + half) >> 22 clamped to 0..255, as uint8, computed
    in ``sums`` (float64, overwritten): a division by 2**22 is the product by
    its inverse, exactly, and no step makes a temporary."""
    sums += _HALF
    sums *= 1.0 / _ONE
    np.floor(sums, out=sums)
    np.clip(sums, 0.0, 255.0, out=sums)
    return sums.astype(np.uint8)


# A horizontal pass, as a hashable key: ("lanczos", out, in0, in1) is Pillow's
# resize of the span in0..in1 (float32 values) to ``out`` columns;
# ("bands", out, n) the same of the whole width for each of n interleaved
# bands (RGB rows as they come, no transpose); ("blocks", scale, blocks) whash's
# block sums of the picture resized to ``scale``, unrounded.
Pass = tuple


def lanczos(out: int, in0: float = 0.0, in1: float | None = None) -> Pass:
    return ("lanczos", out, in0, in1)


def bands(out: int, n: int = 3) -> Pass:
    return ("bands", out, n)


def blocks(scale: int, count: int) -> Pass:
    return ("blocks", scale, count)


@functools.lru_cache(maxsize=1024)
def _pass_weights(length: int, spec: Pass) -> np.ndarray:
    """(out columns, length) float64: Pillow's integer weights of one pass over
    rows of ``length`` values (or whash's fractional block weights)."""
    kind = spec[0]
    if kind == "lanczos":
        _, out, in0, in1 = spec
        return box_weights(length, out, in0, float(length) if in1 is None else in1)
    if kind == "bands":
        _, out, n = spec
        # column j*n + c of the output is band c of output pixel j
        return np.kron(pillow_weights(length // n, out), np.eye(n))
    _, scale, count = spec
    return block_weights(length, scale, count)


@functools.lru_cache(maxsize=256)
def _across_specs(
    length: int, specs: tuple[Pass, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length, total columns) float32 of every pass side by side; each
    column's distance from a half below which its float32 sum is checked
    (0.5 less :func:`_tolerance_of`; 1 for the unrounded block sums: never);
    and (total columns, length) float64 of the integer weights (the check's)."""
    columns, limits, weights = [], [], []
    for spec in specs:
        w = _pass_weights(length, spec)
        if spec[0] == "blocks":
            columns.append(w)
            limits.append(np.ones(len(w), dtype=np.float32))
        else:
            columns.append(w / _ONE)
            limits.append(np.float32(0.5) - _tolerance_of(w))
        weights.append(w)
    out = np.ascontiguousarray(np.concatenate(columns).T, dtype=np.float32)
    limit = np.concatenate(limits)
    exact = np.concatenate(weights)
    for a in (out, limit, exact):
        a.flags.writeable = False
    return out, limit, exact


def horizontal(
    pixels: np.ndarray, specs: Sequence[Pass], as_float: np.ndarray | None = None
) -> list[np.ndarray]:
    """Every pass of ``specs`` over the rows of ``pixels`` ((..., length) uint8),
    as one float32 matrix product: Pillow's first-pass values (rounded to 8
    bits, as float64) for the Lanczos passes, unrounded sums for ``blocks``.
    Each result has the shape of ``pixels`` with the last axis replaced by the
    pass's columns (a view into one array).  ``as_float``: the same pixels as
    float32 already (spares the conversion)."""
    shape = pixels.shape
    rows = pixels.reshape(-1, shape[-1])
    matrix, limit, weights = _across_specs(shape[-1], tuple(specs))
    flat = rows.astype(np.float32) if as_float is None else as_float.reshape(rows.shape)
    across = flat @ matrix
    # Pillow's first-pass rounding, on float32 sums of fractional weights:
    # floor(sum + 0.5), all columns at once
    part = across + np.float32(0.5)
    np.floor(part, out=part)
    # Where a float32 sum lies within its rounding error of a half, the
    # exact integer sum decides, as in Pillow (a few in a thousand sums).
    off = across - part  # in [-0.5, 0.5): +-0.5 at a half
    np.abs(off, out=off)
    near = off >= limit
    if near.any():
        # (np.nonzero of a 2-D mask is 20x slower than this in numpy 2.4)
        r, c = np.divmod(np.flatnonzero(near), near.shape[1])
        exact = _exact_sums(rows, r, c, weights, specs)
        part[r, c] = np.floor((exact + _HALF) / _ONE)
    np.clip(part, 0.0, 255.0, out=part)
    rounded = part.astype(np.float64)
    out: list[np.ndarray] = []
    start = 0
    for spec in specs:
        stop = start + len(_pass_weights(shape[-1], spec))
        source = across if spec[0] == "blocks" else rounded
        out.append(source[:, start:stop].reshape(*shape[:-1], -1))
        start = stop
    return out


# Rows at least this long have their near-half sums taken a pass at a time,
# each from its own taps (96-wide rows: 0.10 ms a chunk over whole rows, 0.17
# a pass at a time; 256-wide: 0.39 against 0.24 a block).
_WINDOWS_FROM = 192


def _exact_sums(
    rows: np.ndarray, r: np.ndarray, c: np.ndarray, weights: np.ndarray, specs: Sequence[Pass]
) -> np.ndarray:
    """(k,) float64: the exact first-pass sums at rows ``r``, columns ``c`` (every
    product and partial sum an integer below 2**53: the same in any order).
    Each sum reads only what its weights cover: a colour pass's column its
    band, a third of the interleaved row; a Lanczos column of a wide row the
    window of its taps (a quarter of the hashing of a 256x192 picture went
    to this on whole rows and their matrix rows, mostly zeros)."""
    length = rows.shape[1]
    if length < _WINDOWS_FROM and not any(spec[0] == "bands" for spec in specs):
        # short rows: one product over whole rows costs less than a step per pass
        return np.einsum("kj,kj->k", rows[r].astype(np.float64), weights[c])
    exact = np.empty(len(r))
    start = 0
    for spec in specs:
        stop = start + len(_pass_weights(length, spec))
        sel = np.flatnonzero((c >= start) & (c < stop))
        if len(sel):
            at, column = r[sel], c[sel]
            if spec[0] == "bands":
                _, out, n = spec
                pixel, band = np.divmod(column - start, n)
                values = rows.reshape(len(rows), -1, n)[at, :, band]  # (k, length / n)
                per_band = pillow_weights(length // n, out)[pixel]
                exact[sel] = np.einsum("kj,kj->k", values.astype(np.float64), per_band)
            elif spec[0] == "lanczos" and _window(length, spec)[1].shape[1] * 2 <= length:
                first, window = _window(length, spec)
                j = column - start
                values = np.lib.stride_tricks.sliding_window_view(rows, window.shape[1], axis=1)
                taken = values[at, first[j]].astype(np.float64)  # (k, taps)
                exact[sel] = np.einsum("kj,kj->k", taken, window[j])
            else:
                exact[sel] = np.einsum("kj,kj->k", rows[at].astype(np.float64), weights[column])
        start = stop
    return exact


@functools.lru_cache(maxsize=256)
def _window(length: int, spec: Pass) -> tuple[np.ndarray, np.ndarray]:
    """(first input, (out, taps) weights) of a Lanczos pass: every output's
    weights within one window of ``taps`` inputs from its first."""
    weights = _pass_weights(length, spec)
    used = weights != 0
    lo = np.where(used.any(axis=1), used.argmax(axis=1), 0)
    hi = length - np.where(used.any(axis=1), used[:, ::-1].argmax(axis=1), length)
    taps = max(1, int((hi - lo).max()))
    first = np.minimum(lo, length - taps)
    window = np.stack([weights[k, f : f + taps] for k, f in enumerate(first.tolist())])
    for a in (first, window):
        a.flags.writeable = False
    return first, window


def vertical(part: np.ndarray, out: int, in0: float = 0.0, in1: float | None = None) -> np.ndarray:
    """Pillow's second pass of a (B, rows, columns) first-pass result to ``out``
    rows of the span in0..in1: float64 with Pillow's integer weights, where
    every sum is exact.  (B, out, columns) uint8."""
    rows = part.shape[-2]
    weights = box_weights(rows, out, in0, float(rows) if in1 is None else in1)
    return round8_u8(np.matmul(weights, part))


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
    specs = [lanczos(w) for w, _ in sizes]
    if block_sums is not None:
        specs.append(blocks(*block_sums))
    parts = horizontal(pixels, specs)
    out = [vertical(part, h) for part, (_, h) in zip(parts, sizes, strict=False)]
    sums = None
    if block_sums is not None:
        sums = np.matmul(block_weights(pixels.shape[1], *block_sums), parts[-1])
    return out, sums


def shrink(
    gray: Image.Image,
    sizes: Sequence[tuple[int, int]],
    block_sums: tuple[int, int] | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """:func:`shrink_batch` for one picture (mode L)."""
    resized, sums = shrink_batch(np.asarray(gray)[None], sizes, block_sums)
    return [r[0] for r in resized], None if sums is None else sums[0]
