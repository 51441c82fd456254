"""The fast path's one reduction per picture: every small picture the hashes,
the signature and the region hashes are made of, from one pass over the
decoded pixels.

The hashes' resizes (ahash, dhash, phash, whash's block sums), the
signature's thumbnails (16x16 and 32x32 gray, 8x8 colour) and the regions'
(the picture less a uniform border, its top 80%) all start with a
horizontal Lanczos pass over the full-size rows.  Those passes are columns
of one matrix product per block of pictures (:func:`imgdupes.resample.horizontal`),
the pixels converted to float once; before, the hashes, the signature's gray
and its colour each converted the whole chunk again (the colour one a ~74 MB
array per chunk of 256x192 pictures, mapped and unmapped each time), and
each region was a Pillow resize of its own.  Every result is Pillow's
``resize`` (LANCZOS, with ``box`` for the regions) bit for bit, as
resample.py's are; region boxes taller than :data:`TALL` times their width
are still resized by Pillow itself, whose pass order there differs.
"""

from __future__ import annotations

import numpy as np

from . import lowdetail, resample, signature
from .hashvalue import INNER, UPPER
from .medians import row_medians

# Pictures converted per block: gray and colour rows as float32 come to this
# many bytes at most, so the buffers are reused from the heap instead of
# being mapped afresh for each chunk (glibc maps anything above 32 MB).
# 2, 4, 8 and 16 MB measured alike on 96x72 and 256x192 chunks, 2 MB
# slower: the blocks' array operations cost what their bytes do.
BLOCK_BYTES = 4 << 20
# A region box taller than this times its width is resized by Pillow: Pillow
# 13 runs the vertical pass first on some of those (from 1.06 times the
# width on a 64x64 target), and its rounding then falls elsewhere.  It ran
# the horizontal pass first on every box no taller than wide that was tried
# (widths 6-900, targets 8-64 px).
TALL = 1.0

GRAY_SIDE = 16
FINE_SIDE = 32
COLOR_SIDE = 8

_BORDER_TOLERANCE = 12  # levels from the frame's colour that still count as border
_BORDER_MAX = 0.25  # of a side, trimmed at most from each edge


def reduce_stack(
    gray: np.ndarray | None,
    color: np.ndarray | None,
    hash_size: int,
    whash_scale: int = 0,
    regions: bool = True,
) -> dict[str, np.ndarray]:
    """The small pictures of a stack of same-size pictures ((B, H, W) uint8 gray,
    (B, H, W, 3) uint8 colour; without colour only the hashes' parts; without
    gray, Pillow's ``convert("L")`` of the colour, see :func:`luma_float`).

    Keys: ``ahash`` (B, n, n), ``dhash`` (B, n, n+1), ``phash`` (B, 4n, 4n) uint8;
    ``whash`` (B, n, n) block sums (with ``whash_scale``); with colour also
    ``gray`` (B, 16, 16), ``fine`` (B, 32, 32), ``color`` (B, 8, 8, 3), ``texture``
    (B, 256) (see :mod:`imgdupes.signature`) and, with
    ``regions``, ``inner`` and ``upper`` (B, 4n, 4n) uint8.  The signature and
    the regions are taken, as before, from the picture box-reduced to >= 128 px
    (``Image.reduce``) when it is at least 256 px on its shorter side."""
    count, height, width = (color if gray is None else gray).shape[:3]
    step = max(1, BLOCK_BYTES // (height * width * 16))
    parts = [
        _reduce_block(
            None if gray is None else gray[lo : lo + step],
            None if color is None else color[lo : lo + step],
            hash_size,
            whash_scale,
            regions,
        )
        for lo in range(0, count, step)
    ]
    smalls = [p.pop(_SMALL) for p in parts if _SMALL in p]
    out = (
        parts[0]
        if len(parts) == 1
        else {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    )
    if smalls:
        # once a stack, not once a block: a 640x480 picture is a block of its own
        out[TEXTURE_HASH] = texture_hashes(smalls, out["gray"], out["texture"])
    return out


_SMALL = "_small"  # _reduce_block's key: the signature's pictures, for the texture hashes


def _reduce_block(
    gray: np.ndarray | None,
    color: np.ndarray | None,
    hash_size: int,
    whash_scale: int,
    regions: bool,
) -> dict[str, np.ndarray]:
    n = hash_size
    side = 4 * n
    as_float = color_float = None
    if gray is None:
        assert color is not None
        b, h, w, _ = color.shape
        color_float = color.reshape(b, h, w * 3).astype(np.float32)
        as_float = luma_float(color_float.reshape(b, h, w, 3))
        gray = as_float.astype(np.uint8)
    height = gray.shape[1]
    specs = [resample.lanczos(n), resample.lanczos(n + 1), resample.lanczos(side)]
    if whash_scale:
        specs.append(resample.blocks(whash_scale, n))
    # the signature's and regions' own picture is this one unless it is big
    factor = min(gray.shape[1:]) // 128
    shared = color is not None and factor < 2
    boxes = common = None
    if shared:
        specs.append(resample.lanczos(GRAY_SIDE))
        if side != FINE_SIDE:
            specs.append(resample.lanczos(FINE_SIDE))
        if regions:
            boxes, common = _inner_boxes(gray)
            if common is not None:  # one more column block of the same product
                specs.append(resample.lanczos(side, common[0], common[2]))
    parts = resample.horizontal(gray, specs, as_float)
    out = {
        "ahash": resample.vertical(parts[0], n),
        "dhash": resample.vertical(parts[1], n),
        "phash": resample.vertical(parts[2], side),
    }
    if whash_scale:
        weights = resample.block_weights(height, whash_scale, n)
        out["whash"] = np.matmul(weights, parts[3])
    if color is None:
        return out
    if shared:
        small, small_color = gray, color
        at = 4 if whash_scale else 3
        across_gray, across_side = parts[at], parts[2]
        across_fine = parts[2] if side == FINE_SIDE else parts[at + 1]
        out["fine"] = (
            out["phash"] if side == FINE_SIDE else resample.vertical(across_fine, FINE_SIDE)
        )
    else:
        small, small_color = _box_reduce(gray, color, factor)
        own = [resample.lanczos(GRAY_SIDE), resample.lanczos(FINE_SIDE)]
        if side != FINE_SIDE:
            own.append(resample.lanczos(side))
        if regions:
            boxes, common = _inner_boxes(small)
            if common is not None:
                own.append(resample.lanczos(side, common[0], common[2]))
        got = resample.horizontal(small, own)
        parts = got
        across_gray, across_fine = got[0], got[1]
        across_side = got[1] if side == FINE_SIDE else got[2]
        out["fine"] = resample.vertical(across_fine, FINE_SIDE)
    out["gray"] = resample.vertical(across_gray, GRAY_SIDE)
    # the signature's texture: area means, in float, as signature.compute_batch makes it
    out["texture"] = signature.textures(small, as_float if shared else None)
    b, h, w = small.shape
    (across_color,) = resample.horizontal(
        small_color.reshape(b, h, w * 3),
        [resample.bands(COLOR_SIDE)],
        color_float if shared else None,
    )
    out["color"] = resample.vertical(across_color, COLOR_SIDE).reshape(b, COLOR_SIDE, COLOR_SIDE, 3)
    if regions:
        assert boxes is not None
        inner = None
        if common is not None:
            inner = resample.vertical(parts[-1], side, common[1], common[3])
        out[INNER], out[UPPER] = _regions(small, across_side, side, boxes, inner)
        out[_SMALL] = small
    return out


TEXTURE_HASH = "texture_hash"  # reduce_stack's key: (B, 2, 8) uint8, see imgdupes.lowdetail


def texture_hashes(
    small: np.ndarray | list[np.ndarray], gray: np.ndarray, texture: np.ndarray
) -> np.ndarray:
    """(B, 2, NBYTES) uint8 texture hashes of a (B, H, W) stack of the
    signature's pictures (or a list of blocks of it) whose 16x16 gray and
    texture parts are given; zeros for the pictures
    :func:`imgdupes.lowdetail.selected_parts` leaves out."""
    out = np.zeros((len(gray), 2, lowdetail.NBYTES), dtype=np.uint8)
    chosen = np.flatnonzero(lowdetail.selected_parts(gray, texture))
    if len(chosen):
        blocks = small if isinstance(small, list) else [small]
        ends = np.cumsum([len(b) for b in blocks])
        at = np.searchsorted(ends, chosen, side="right")
        starts = ends - np.array([len(b) for b in blocks])
        picked = np.stack([blocks[k][i - starts[k]] for k, i in zip(at, chosen, strict=True)])
        out[chosen] = lowdetail.texture_hashes(picked, trimmed_boxes(picked))
    return out


# Pillow's RGB -> L: (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16
_LUMA = np.array([19595.0, 38470.0, 7471.0], dtype=np.float32)


def luma_float(color: np.ndarray) -> np.ndarray:
    """Pillow's ``convert("L")`` of (..., 3) RGB values held as float32, as float32.
    Exact: every product and partial sum is an integer below 2**24."""
    out = color @ _LUMA
    out += 32768.0  # in place: these passes over every pixel cost more than the product
    out *= 1.0 / 65536.0
    return np.floor(out, out=out)


def luma(color: np.ndarray) -> np.ndarray:
    """(H, W) uint8 Pillow ``convert("L")`` of an (H, W, 3) uint8 picture."""
    return luma_float(color.astype(np.float32)).astype(np.uint8)


def _box_reduce(gray: np.ndarray, color: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's ``reduce(factor)`` of each picture (its rounding and partial edge
    blocks), as the signature has always been taken from it."""
    from PIL import Image

    grays = [np.asarray(Image.fromarray(g).reduce(factor)) for g in gray]
    colors = [np.asarray(Image.fromarray(c).reduce(factor)) for c in color]
    return np.stack(grays), np.stack(colors)


def trimmed_boxes(gray: np.ndarray) -> np.ndarray:
    """(B, 4) int64 (left, top, right, bottom) of each picture of a (B, H, W)
    uint8 stack less a uniform border: the rows and columns at the edges (up
    to a quarter of the side each) within a few levels of the frame's median
    colour almost everywhere.  A picture uniform all over is left whole."""
    count, h, w = gray.shape
    frame = np.concatenate([gray[:, 0], gray[:, -1], gray[:, :, 0], gray[:, :, -1]], axis=1)
    level = row_medians(frame).astype(np.int16)  # int() of a .5 median truncates
    # |pixel - level| <= tolerance, as two uint8 comparisons
    low = np.clip(level - _BORDER_TOLERANCE, 0, 255).astype(np.uint8)[:, None, None]
    high = np.clip(level + _BORDER_TOLERANCE, 0, 255).astype(np.uint8)[:, None, None]
    near = (gray >= low) & (gray <= high)
    # the same division as near.mean(): exact counts over the side (a sum of
    # the flags as bytes, twice as quick as count_nonzero along an axis)
    flags = near.view(np.uint8)
    rows = flags.sum(axis=2, dtype=np.int32) / w >= 0.98
    cols = flags.sum(axis=1, dtype=np.int32) / h >= 0.98

    def run(flags: np.ndarray) -> np.ndarray:
        limit = int(flags.shape[1] * _BORDER_MAX)
        if limit == 0:  # a side under 4 px: nothing to trim
            return np.zeros(len(flags), dtype=np.int64)
        stop = ~flags[:, :limit]
        return np.where(stop.any(axis=1), stop.argmax(axis=1), limit)

    top, bottom = run(rows), run(rows[:, ::-1])
    left, right = run(cols), run(cols[:, ::-1])
    boxes = np.stack([left, top, w - right, h - bottom], axis=1).astype(np.int64)
    whole = rows.all(axis=1) | cols.all(axis=1)
    boxes[whole] = (0, 0, w, h)
    return boxes


def region_boxes(gray: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """((B, 4) float32 inner boxes, the upper box) of a (B, H, W) stack, as
    Pillow holds them (C floats): the trimmed box less 5% of its size on each
    side, and the top 80% of the picture."""
    h, w = gray.shape[1:]
    x0, y0, x1, y1 = trimmed_boxes(gray).T.astype(np.float64)
    dx, dy = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
    inner = np.stack([x0 + dx, y0 + dy, x1 - dx, y1 - dy], axis=1).astype(np.float32)
    upper = tuple(float(v) for v in np.float32([0, 0, w, 0.8 * h]))
    return inner, upper  # type: ignore[return-value]


def _tall(box: tuple[float, ...] | list[float]) -> bool:
    x0, y0, x1, y1 = box
    return (y1 - y0) > TALL * (x1 - x0)


def _inner_boxes(gray: np.ndarray) -> tuple[np.ndarray, tuple[float, ...] | None]:
    """The inner boxes of a stack, and the box when all share it (pictures
    without a border do) and the matrix product can resize it."""
    boxes, _ = region_boxes(gray)
    first = boxes[0]
    if (boxes == first).all() and not _tall(first.tolist()):
        return boxes, tuple(first.tolist())
    return boxes, None


def _regions(
    small: np.ndarray,
    across_side: np.ndarray,
    side: int,
    inner_boxes: np.ndarray,
    inner: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(inner, upper) (B, side, side) uint8: each region of ``small`` resized to
    side x side as ``Image.resize(..., LANCZOS, box=...)`` does (``inner``:
    already made, when the pictures share one box)."""
    b, h, w = small.shape
    upper = tuple(float(v) for v in np.float32([0, 0, w, 0.8 * h]))
    if _tall(upper):
        upper_px = np.stack([_pillow_region(p, upper, side) for p in small])
    else:
        # the top 80% spans the whole width: phash's horizontal pass already is its first
        upper_px = resample.vertical(across_side, side, upper[1], upper[3])
    if inner is not None:
        return inner, upper_px
    inner_px = np.empty((b, side, side), dtype=np.uint8)
    # pictures with the same border share a box
    keys, which = np.unique(inner_boxes, axis=0, return_inverse=True)
    for k, box in enumerate(keys.tolist()):
        members = np.flatnonzero(which.ravel() == k)
        x0, y0, x1, y1 = box
        if _tall(box):
            for i in members:
                inner_px[i] = _pillow_region(small[i], tuple(box), side)
            continue
        # only the rows the vertical pass reads are resized across
        weights = resample.box_weights(h, side, y0, y1)
        used = np.flatnonzero(weights.any(axis=0))
        lo, hi = int(used[0]), int(used[-1]) + 1
        (across,) = resample.horizontal(small[members, lo:hi], [resample.lanczos(side, x0, x1)])
        inner_px[members] = resample.round8_u8(np.matmul(weights[:, lo:hi], across))
    return inner_px, upper_px


def _pillow_region(pixels: np.ndarray, box: tuple[float, ...], side: int) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(pixels)
    return np.asarray(img.resize((side, side), Image.Resampling.LANCZOS, box=box))
