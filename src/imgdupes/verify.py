"""Verification stage: confirm hash matches with a second, independent signal.

A 64-bit perceptual hash of a low-detail picture (flat colour, gradient,
stripes) carries little information, so unrelated pictures can share it.
Every candidate pair found by the hash search is therefore checked against
the small thumbnails kept from the same decode (:mod:`imgdupes.signature`):

- detailed pictures must have the same structure, by one of three rules
  (:data:`RULES`, in the order tried): ``structure``, the Pearson correlation
  of the 16x16 grayscale thumbnails with a similar overall brightness;
  ``tone``, the correlation of their *ranks* (what survives brightness,
  contrast, gamma and clipped highlights: any increasing change of levels
  keeps the order of the pixels); ``local``, the rank correlation over the
  12 of 16 blocks (4x4 pixels each) that agree best, so a caption band, a
  logo or a watermark over a quarter of the picture is tolerated while the
  rest must agree more closely.  When both are in colour their colours must
  be alike too (a grayscale copy of a colour picture is still accepted);
- low-detail pictures are not trusted to the hash at all: they must look the
  same, thumbnail for thumbnail (``flat``).

It runs only on files that the hash search matched, so it costs little.
Files whose hashes are identical are split too: 10,000 blank scans hash
alike whatever their colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .group import find_roots, flatten, forest_components, join_into, set_labels, spanning
from .lowdetail import local_detail
from .lowdetail import plain_cells as _plain_cells
from .signature import (
    FINE_OFFSET,
    FINE_SIDE,
    GRAY_SIDE,
    PLANE_RESIDUAL,
    SIGNATURE_BYTES,
    TEXTURE_GAIN,
    TEXTURE_OFFSET,
    color_of,
    fine_of,
    gray_of,
    texture_of,
)


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
    min_rank_correlation: float = 0.90  # tone rule: correlation of the thumbnails' ranks
    mixed_min_rank_correlation: float = 0.95  # ... when one side is gray
    min_local_correlation: float = 0.97  # local rule: ranks over the best-agreeing blocks
    gray_max: float = 4.0  # mean |chroma| up to which a thumbnail counts as gray
    tone_max_chroma_diff: float = 0.5  # colour pattern, each side scaled to mean |chroma| 1
    # Gamma 0.6 moves the mean level by at most ~50, brightness x1.25 less:
    # the light and the dark variant of one design differ by 130 and more.
    tone_max_brightness_shift: float = 100.0
    fine_min_energy: float = 4.0  # fine detail (rms, levels) above which it must agree
    # ... where the other side has at least this much: a dark sky's stars are
    # little energy in all, and two galaxies on black differ only there.
    fine_low_energy: float = 2.0
    fine_min_correlation: float = 0.975  # ... this well (over the kept blocks for "local")
    # ... or this well when the tones differ (a re-toned copy, clipped colours
    # shift its luminance unevenly); pages of one layout share their tones.
    retoned_fine_min_correlation: float = 0.90
    retoned_min_shift: float = 8.0  # mean level difference that counts as re-toned
    # Fine detail after aligning (a crop, a border, a slight turn): the best
    # of the warps of :data:`_WARPS` must agree this well and beat the
    # unaligned comparison by the margin.  Pages of one layout are already
    # aligned: no warp beats the identity there (measured: by at most 0.01).
    aligned_fine_min_correlation: float = 0.70
    aligned_min_gain: float = 0.15
    # ... and the 16x16 thumbnails must agree this well under that warp:
    # pages of different layouts whose lines a warp puts in register reach
    # 0.86 there, cropped, bordered and turned copies are at 0.88 and more.
    aligned_min_correlation: float = 0.90
    # Only pictures with detail outside any one band can be confirmed (the
    # region hashes' extra candidates: a low-detail picture's region says
    # even less than the whole of it), and where one has no fine detail to
    # compare (a soft picture, a brightened one whose highlights clipped), the
    # 16x16 thumbnails must agree this well (the plain search's 0.85 is for a
    # whole picture's hash near; a region's says less).
    require_fine: bool = False
    soft_min_correlation: float = 0.90
    # Low-detail pictures with a grain (a paper, a canvas: the texture's
    # part that a 3x3 mean does not explain, levels rms): the grain must
    # agree, in any tone.  Different papers reach 0.6 at most on the real
    # split; copies 0.85 and more, where not clipped to white.
    grain_min_energy: float = 0.15
    grain_min_correlation: float = 0.8
    grain_max_ratio: float = 3.0  # a re-toned copy's grain is scaled by the curve's slope
    # The tint (mean colour less its gray): a tone curve keeps its direction
    # and scales it with the grain; a grayscale copy has none and keeps the
    # luminance (so do JPEG copies whose faint tint the chroma rounding took).
    tint_gray: float = 0.6
    tint_min_cosine: float = 0.9
    tint_close: float = 2.0  # levels: faint tints whose direction says little
    tint_max_ratio: float = 2.0
    gray_copy_max_shift: float = 3.0
    clipped_tint_min_cosine: float = 0.8
    # ... and the grain after aligning a crop or a frame (see _aligned_grain):
    # copies reach 0.5-0.85, other papers 0.45 at most on the real split.
    aligned_grain_min_correlation: float = 0.5
    flat_grain_min_correlation: float = 0.3  # see decide's flat rule
    # A whole-picture rule (structure, tone) must also hold outside each band
    # and corner of :func:`_masks`, where both pictures vary there: two
    # pictures that share only a caption band or a logo over soft, different
    # backgrounds correlate in the band alone (-0.6 outside it on
    # stellarium's ocean panoramas; -0.24 to 0.28 for independent smooth
    # fields), copies 0.34 and more (0.74 on the real split).
    support_min_correlation: float = 0.3
    support_min_std: float = 2.0  # levels: a part flatter than this says nothing
    # ... and inside a ring of 2 of the 16 pixels, which a frame holds: two
    # pictures in one black frame reach 0.98 over the whole and 0.32 inside
    # (stellarium's planet maps), copies 0.69 and more inside.
    support_inner_min_correlation: float = 0.5
    # The fine detail too, outside each band and corner where both have some
    # there: two dark pictures under one caption agree in its text alone.
    fine_support_min_correlation: float = 0.5


DEFAULT = Thresholds()


_PLANE_RESIDUAL = PLANE_RESIDUAL.T


def fine_detail(fine: np.ndarray, side: int = FINE_SIDE) -> np.ndarray:
    """(k, 1024) 32x32 thumbnails -> what a 3x3 mean does not explain (text,
    edges, texture), as (k, 1024) float32: a page of one layout with other
    words differs here while its thumbnails at 16x16 are the same gray bars."""
    return local_detail(fine, side)


_CLIPPED = 250  # levels from which a highlight counts as clipped (its detail is gone)


def _inner(side: int, ring: int) -> np.ndarray:
    keep = np.zeros((side, side), dtype=bool)
    keep[ring:-ring, ring:-ring] = True
    return keep.ravel()


# The fine detail is compared inside a ring of 2 of its 32 pixels: the
# edges are what a frame or a crop changes first, and two different
# pictures in one frame (letterboxing, a border) agree all along it.
_FINE_INNER = _inner(FINE_SIDE, 2)
_GRAY_INNER = _inner(GRAY_SIDE, 2)  # see Thresholds.support_inner_min_correlation


def _fine_pair(raw_a: np.ndarray, raw_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fine detail of two sets of 32x32 thumbnails and which pixels to
    compare: not where either side is clipped (a brightened copy's highlights
    have lost theirs), nor at the edges (:data:`_FINE_INNER`)."""
    keep = (raw_a < _CLIPPED) & (raw_b < _CLIPPED) & _FINE_INNER
    return fine_detail(raw_a), fine_detail(raw_b), keep


def _masked_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row over the pixels where ``w`` holds."""
    wf = w.astype(np.float32)
    cnt = np.maximum(wf.sum(axis=1, keepdims=True), 1.0)
    xc = (x - (x * wf).sum(axis=1, keepdims=True) / cnt) * wf
    yc = (y - (y * wf).sum(axis=1, keepdims=True) / cnt) * wf
    num = (xc * yc).sum(axis=1)
    return num / np.maximum(np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1)), 1e-6)


def _warp_grid() -> list[tuple[float, float]]:
    """(scale, degrees) of the warps tried, the identity left out: a crop of
    up to ~10% of each side, a border of as much, or both between two copies
    (a set's files are checked against one another, not only against the
    original), and a turn of up to 4 degrees.  Steps move the thumbnail's
    edge by about half a pixel."""
    scales = (0.8, 0.84, 0.87, 0.9, 0.93, 0.96, 1.0, 1.04, 1.075, 1.11, 1.15, 1.19, 1.25)
    angles = (-4.0, -2.0, 0.0, 2.0, 4.0)
    return [(s, a) for s in scales for a in angles if (s, a) != (1.0, 0.0)]


_WARPS = _warp_grid()
# Around the best warp: half a step in scale and turn (in units of _STEPS),
# then a pixel's shift either way.
_REFINE = np.array(
    [(ds, da, 0.0, 0.0) for ds in (-0.5, 0.0, 0.5) for da in (-0.5, 0.0, 0.5)]
    + [(0.0, 0.0, dx, dy) for dy in (-1.0, 0.0, 1.0) for dx in (-1.0, 0.0, 1.0) if dx or dy],
    dtype=np.float32,
)
_STEPS = np.array([0.035, 2.0, 1.0, 1.0], dtype=np.float32)  # scale, degrees, pixels


def _coords(side: int, params: np.ndarray) -> tuple[np.ndarray, ...]:
    """Where each pixel of a side x side thumbnail samples under (..., 4) warps
    (scale, degrees, dx, dy; shifts in 32x32 pixels) about the centre: the
    four neighbours' flat indices and bilinear weights, each (..., side*side,
    4), and whether the sample's 3x3 neighbourhood lies inside the picture."""
    c = (side - 1) / 2
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
    u, v = (xs - c).ravel(), (ys - c).ravel()
    s, t = params[..., 0:1], np.deg2rad(params[..., 1:2])
    cos, sin = s * np.cos(t), s * np.sin(t)
    step = side / FINE_SIDE
    sx = c + cos * u - sin * v + params[..., 2:3] * step
    sy = c + sin * u + cos * v + params[..., 3:4] * step
    # one pixel of margin: the fine detail takes a 3x3 mean
    inside = (sx >= 1) & (sx <= side - 2) & (sy >= 1) & (sy <= side - 2)
    x0 = np.clip(np.floor(sx), 0, side - 2).astype(np.int64)
    y0 = np.clip(np.floor(sy), 0, side - 2).astype(np.int64)
    fx, fy = np.clip(sx - x0, 0, 1), np.clip(sy - y0, 0, 1)
    base = y0 * side + x0
    index = np.stack([base, base + 1, base + side, base + side + 1], axis=-1)
    weight = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=-1)
    return index, weight.astype(np.float32), inside


def _warp(raw: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(k, P, side*side) samples of (k, side*side) thumbnails: ``index`` and
    ``weight`` either (P, side*side, 4), one table for all, or (k, P, ...)."""
    k = len(raw)
    if index.ndim == 3:
        return (raw[:, index] * weight).sum(axis=-1)
    flat = np.take_along_axis(raw, index.reshape(k, -1), axis=1).reshape(index.shape)
    return (flat * weight).sum(axis=-1)


_COARSE_TABLES: tuple[np.ndarray, ...] | None = None


def _coarse_tables() -> tuple[np.ndarray, ...]:
    """The 16x16 sampling tables of every warp of :data:`_WARPS` (made once)."""
    global _COARSE_TABLES
    if _COARSE_TABLES is None:
        grid = np.array([(s, a, 0.0, 0.0) for s, a in _WARPS], dtype=np.float32)
        _COARSE_TABLES = (grid, *_coords(GRAY_SIDE, grid))
    return _COARSE_TABLES


_MIN_ALIGNED_PIXELS = 0.4  # of the picture: less overlap tells too little
_ALIGN_PAIRS_PER_STEP = 64


def aligned_fine(
    raw_a: np.ndarray,
    raw_b: np.ndarray,
    gray_a: np.ndarray,
    gray_b: np.ndarray,
    min_coarse: float = DEFAULT.min_correlation,
) -> tuple[np.ndarray, np.ndarray]:
    """(fine, coarse): the best correlation of the fine detail (32x32) over
    the warps, the identity left out, and the correlation of the 16x16
    thumbnails under the warp that aligns those best.  The warp is found on
    the 16x16 thumbnails (every (scale, turn) of :data:`_WARPS`, cheap), then
    the fine detail is compared under it and shifts of a pixel around it (an
    off-centre crop); pairs whose 16x16 thumbnails align nowhere (below
    ``min_coarse``) stop there."""
    n = len(raw_a)
    best_fine = np.full(n, -1.0, dtype=np.float32)
    best_coarse = np.full(n, -1.0, dtype=np.float32)
    grid, index, weight, inside = _coarse_tables()
    for lo in range(0, n, _ALIGN_PAIRS_PER_STEP):
        ga = gray_a[lo : lo + _ALIGN_PAIRS_PER_STEP].astype(np.float32)
        gb = gray_b[lo : lo + _ALIGN_PAIRS_PER_STEP].astype(np.float32)
        k, p = len(ga), len(grid)
        warped = _warp(gb, index, weight).reshape(k * p, -1)
        mask = np.broadcast_to(inside, (k, *inside.shape)).reshape(k * p, -1)
        coarse = _masked_corr(np.repeat(ga, p, axis=0), warped, mask).reshape(k, p)
        coarse[:, inside.mean(axis=1) < _MIN_ALIGNED_PIXELS] = -1.0
        pick = np.argmax(coarse, axis=1)
        best_coarse[lo : lo + k] = coarse[np.arange(k), pick]
        go = np.nonzero(best_coarse[lo : lo + k] >= min_coarse)[0]  # aligned somewhere
        if not len(go):
            continue
        # the 16x16 thumbnails place the warp within a step: the fine detail
        # is compared under its neighbours in scale and turn, and shifted
        near = np.repeat(grid[pick[go]][:, None, :], len(_REFINE), axis=1)
        near += _REFINE[None, :, :] * _STEPS
        fine_index, fine_weight, fine_inside = _coords(FINE_SIDE, near)
        a = raw_a[lo + go].astype(np.float32)
        b = _warp(raw_b[lo + go].astype(np.float32), fine_index, fine_weight)
        q = len(_REFINE)
        b = b.reshape(len(go) * q, -1)
        ok = fine_inside.reshape(len(go) * q, -1) & (b < _CLIPPED)
        ok &= np.repeat(a < _CLIPPED, q, axis=0)
        corr = _masked_corr(np.repeat(fine_detail(a), q, axis=0), fine_detail(b), ok)
        corr[ok.mean(axis=1) < _MIN_ALIGNED_PIXELS] = -1.0
        best_fine[lo + go] = corr.reshape(len(go), q).max(axis=1)
    return best_fine, best_coarse


class Features:
    """Per-file numbers the rules compare, computed once for the files involved.

    Only the thumbnails (uint8) and a few numbers per file are kept; the
    float vectors a rule compares are made for the pairs being checked, so a
    dense folder of 50,000 involved files holds 22 MB here, not 200."""

    def __init__(self, signatures: Sequence[bytes]):
        n = len(signatures)
        raw = np.zeros((n, SIGNATURE_BYTES), dtype=np.uint8)
        present = np.zeros(n, dtype=bool)
        has_fine = np.zeros(n, dtype=bool)  # a version-1 signature has no 32x32 part
        has_texture = np.zeros(n, dtype=bool)  # ... nor version 2 a texture
        for k, sig in enumerate(signatures):
            if len(sig) in (FINE_OFFSET, TEXTURE_OFFSET, SIGNATURE_BYTES):
                raw[k, : len(sig)] = np.frombuffer(sig, dtype=np.uint8)
                present[k] = True
                has_fine[k] = len(sig) >= TEXTURE_OFFSET
                has_texture[k] = len(sig) == SIGNATURE_BYTES
        self._derive(raw, present, has_fine, has_texture)

    @classmethod
    def from_matrix(cls, raw: np.ndarray, present: np.ndarray) -> Features:
        """The features of (n, SIGNATURE_BYTES) signatures given as one matrix
        (``present``: which rows hold one), used as it is: no bytes object
        per file, no copy."""
        f = cls.__new__(cls)
        f._derive(raw, present, present, present)
        return f

    def _derive(
        self, raw: np.ndarray, present: np.ndarray, has_fine: np.ndarray, has_texture: np.ndarray
    ) -> None:
        n = len(raw)
        self.present = present
        self.has_fine = has_fine
        self.has_texture = has_texture
        self.raw = raw
        self.fine_raw = fine_of(raw)
        # the grain (see :meth:`grain`), in levels rms, and the share of
        # the texture's cells that are plain (see :func:`_plain_cells`)
        self.grain_energy = np.zeros(n, dtype=np.float32)
        self.plain_share = np.zeros(n, dtype=np.float32)
        # the tint: the mean colour less its gray (what a grayscale copy has none of)
        colours = color_of(raw, np.arange(n))
        mean_colour = colours.mean(axis=1, dtype=np.float32)  # no float copy of the thumbnails
        self.tint = mean_colour - mean_colour.mean(axis=1, keepdims=True)
        # share of the colour thumbnail clipped to white in some channel: a
        # brightened pale picture, whose tint the clipping shrinks and turns
        self.clipped = (colours.max(axis=2) >= _CLIPPED).mean(axis=1).astype(np.float32)
        del colours, mean_colour  # (n, 192) bytes: not held through the steps below
        self.fine_energy = np.zeros(n, dtype=np.float32)
        self.mean = np.zeros(n, dtype=np.float32)
        self.std = np.zeros(n, dtype=np.float32)
        # detail left outside the band or corner that holds most of it
        # (:func:`_masks`): an edit on a plain picture has none there
        self.std_outside = np.zeros(n, dtype=np.float32)
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
            block = _blocks(residual**2).sum(axis=2)  # (k, 16) energy per block
            kept = block[:, _KEPT_BLOCKS].sum(axis=2)  # (k, regions)
            self.std_outside[rows] = np.sqrt(kept.min(axis=1) / (12 * 16))
            self.norm[rows] = np.linalg.norm(gray - mean[:, None], axis=1)
            self.saturation[rows] = np.abs(self.chroma(rows)).mean(axis=(1, 2))
            for at in range(0, len(rows), _FINE_FILES_PER_STEP):  # 4 KB of floats a file
                part = rows[at : at + _FINE_FILES_PER_STEP]
                fine = fine_detail(self.fine_raw[part])
                self.fine_energy[part] = np.sqrt((fine**2).mean(axis=1))
                self.grain_energy[part] = np.sqrt((self.grain(part) ** 2).mean(axis=1))
                self.plain_share[part] = _plain_cells(texture_of(raw, part)).mean(axis=1)
        self.grain_energy[~self.has_texture] = 0
        self.plain_share[~self.has_texture] = 0

    def gray(self, rows: np.ndarray) -> np.ndarray:
        return gray_of(self.raw, rows).astype(np.float32)

    def texture(self, rows: np.ndarray) -> np.ndarray:
        """The textures of some files, in levels about 0."""
        return (texture_of(self.raw, rows).astype(np.float32) - 128) / TEXTURE_GAIN

    def grain(self, rows: np.ndarray) -> np.ndarray:
        """What a 3x3 mean leaves of the texture, in levels: a paper's pattern,
        where a gradient or a soft bowl of light has none."""
        return fine_detail(texture_of(self.raw, rows), GRAY_SIDE) / TEXTURE_GAIN

    def color(self, rows: np.ndarray) -> np.ndarray:
        return color_of(self.raw, rows).astype(np.float32)

    def chroma(self, rows: np.ndarray) -> np.ndarray:
        color = self.color(rows)
        return color - color.mean(axis=2, keepdims=True)

    def unit(self, rows: np.ndarray) -> np.ndarray:
        centred = self.gray(rows) - self.mean[rows, None]
        return centred / np.maximum(self.norm[rows], 1e-6)[:, None]


_FILES_PER_STEP = 1 << 12  # files at once: 4 MB per float temporary
_FINE_FILES_PER_STEP = 1 << 9  # ~2 MB per float temporary (fine_detail makes five)


# What confirmed (or not) a pair, as :func:`decide` numbers it.
RULES = ("rejected", "structure", "tone", "local", "flat", "unchecked", "aligned", "texture")
REJECTED, STRUCTURE, TONE, LOCAL, FLAT, UNCHECKED, ALIGNED, TEXTURE = range(len(RULES))


def features_of(signatures: Sequence[bytes], rows: np.ndarray) -> Features:
    """The :class:`Features` of ``signatures[k]`` for k in ``rows``: a scan's
    table hands them over as one matrix (see :meth:`Signatures.matrix
    <imgdupes.columns.Signatures.matrix>`), not a bytes object per file."""
    matrix = getattr(signatures, "matrix", None)
    if matrix is not None:
        return Features.from_matrix(*matrix(rows))
    return Features([signatures[k] for k in rows.tolist()])


def _rows(f: Features, name: str, rows: np.ndarray) -> np.ndarray:
    """``f.<name>`` of some files, whether Features keeps arrays or computes them per call."""
    value = getattr(f, name)
    return value(rows) if callable(value) else value[rows]


def _ranks(gray: np.ndarray) -> np.ndarray:
    """Mid-ranks of each row's 256 levels (ties share their mean rank, so a
    clipped highlight or a flat area is one level, not an arbitrary order),
    centred, as (k, 256) float32."""
    levels = np.clip(gray, 0, 255).astype(np.int64)
    k = len(levels)
    flat = (levels + 256 * np.arange(k)[:, None]).ravel()
    counts = np.bincount(flat, minlength=256 * k).reshape(k, 256).astype(np.float32)
    mid = np.cumsum(counts, axis=1) - (counts + 1) / 2
    r = np.take_along_axis(mid, levels, axis=1)
    return r - r.mean(axis=1, keepdims=True)


def _corr(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    num = (xc * yc).sum(axis=axis)
    den = np.sqrt((xc * xc).sum(axis=axis) * (yc * yc).sum(axis=axis))
    return num / np.maximum(den, 1e-6)


_BLOCK = 4  # block side in thumbnail pixels: 16 blocks of a 16x16 thumbnail


def _blocks(v: np.ndarray, side: int = GRAY_SIDE) -> np.ndarray:
    """(k, side*side) row-major thumbnails as (k, 16 blocks, pixels of a block):
    the same 4x4 grid of blocks whatever the thumbnail's side."""
    n, s = GRAY_SIDE // _BLOCK, side * _BLOCK // GRAY_SIDE
    return v.reshape(-1, n, s, n, s).transpose(0, 1, 3, 2, 4).reshape(-1, n * n, s * s)


def _kept(blocks: np.ndarray, best: np.ndarray) -> np.ndarray:
    return np.take_along_axis(blocks, best[:, :, None], axis=1).reshape(len(blocks), -1)


def _masks() -> np.ndarray:
    """The regions a local change may cover, each a set of 4 of the 16 blocks:
    a band (one row or column of blocks: a caption, a watermark across the
    picture) or a corner patch of 2x2 blocks (a logo, a date stamp)."""
    grid = np.arange(16).reshape(4, 4)
    regions = [grid[k] for k in range(4)] + [grid[:, k] for k in range(4)]
    regions += [grid[y : y + 2, x : x + 2].ravel() for y in (0, 2) for x in (0, 2)]
    kept = np.ones((len(regions), 16), dtype=bool)
    for k, r in enumerate(regions):
        kept[k, r] = False
    return np.stack([np.nonzero(row)[0] for row in kept])


_KEPT_BLOCKS = _masks()  # (regions, 12): the blocks that must still agree


def _local_ok(
    ra: np.ndarray,
    rb: np.ndarray,
    fa: np.ndarray,
    fb: np.ndarray,
    w: np.ndarray,
    use_fine: np.ndarray,
    fine_min: np.ndarray,
    t: Thresholds,
) -> np.ndarray:
    """Whether, outside one of the regions of :func:`_masks`, the ranks (and
    the fine detail where ``use_fine``) agree: a change confined to a band or
    a corner is tolerated; text that differs all over a page is not."""
    k = len(ra)
    ba, bb = _blocks(ra), _blocks(rb)
    fba, fbb, bw = _blocks(fa, FINE_SIDE), _blocks(fb, FINE_SIDE), _blocks(w, FINE_SIDE)
    ok = np.zeros(k, dtype=bool)
    for kept in _KEPT_BLOCKS:
        # Ranks again within what is kept: the band's levels no longer count.
        xa = _ranks_float(ba[:, kept].reshape(k, -1))
        xb = _ranks_float(bb[:, kept].reshape(k, -1))
        good = _corr(xa, xb) >= t.min_local_correlation
        fine = _masked_corr(
            fba[:, kept].reshape(k, -1), fbb[:, kept].reshape(k, -1), bw[:, kept].reshape(k, -1)
        )
        ok |= good & (~use_fine | (fine >= fine_min))
    return ok


def _supported(ga: np.ndarray, gb: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether the 16x16 thumbnails ``ga``, ``gb`` (k, 256) correlate at
    least ``t.support_min_correlation`` outside each region of
    :func:`_masks` where both vary there: the agreement of a whole-picture
    rule is not the work of one band or corner."""
    ba, bb = _blocks(ga), _blocks(gb)  # (k, 16 blocks, 16 pixels)
    sums = [x.sum(axis=2, dtype=np.float64) for x in (ba, bb, ba * ba, bb * bb, ba * bb)]
    ok = np.ones(len(ga), dtype=bool)
    for kept in _KEPT_BLOCKS:
        n = float(len(kept) * ba.shape[2])
        sa, sb, saa, sbb, sab = (x[:, kept].sum(axis=1) for x in sums)
        va = np.maximum(saa / n - (sa / n) ** 2, 0.0)
        vb = np.maximum(sbb / n - (sb / n) ** 2, 0.0)
        cov = sab / n - (sa / n) * (sb / n)
        corr = cov / np.maximum(np.sqrt(va * vb), 1e-9)
        varied = (va >= t.support_min_std**2) & (vb >= t.support_min_std**2)
        ok &= ~varied | (corr >= t.support_min_correlation)
    ia, ib = ga[:, _GRAY_INNER], gb[:, _GRAY_INNER]
    varied = (ia.std(axis=1) >= t.support_min_std) & (ib.std(axis=1) >= t.support_min_std)
    ok &= ~varied | (_corr(ia, ib) >= t.support_inner_min_correlation)
    return ok


def _fine_supported(fa: np.ndarray, fb: np.ndarray, w: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether the fine detail ``fa``, ``fb`` (k, 1024; compared where ``w``)
    also agrees outside each region of :func:`_masks` where both have some
    (rms ``t.fine_low_energy``) there."""
    k = len(fa)
    ba, bb, bw = _blocks(fa, FINE_SIDE), _blocks(fb, FINE_SIDE), _blocks(w, FINE_SIDE)
    ok = np.ones(k, dtype=bool)
    for kept in _KEPT_BLOCKS:
        xa, xb = ba[:, kept].reshape(k, -1), bb[:, kept].reshape(k, -1)
        wk = bw[:, kept].reshape(k, -1)
        n = np.maximum(wk.sum(axis=1), 1)
        ea = np.sqrt((xa**2 * wk).sum(axis=1) / n)
        eb = np.sqrt((xb**2 * wk).sum(axis=1) / n)
        some = (ea >= t.fine_low_energy) & (eb >= t.fine_low_energy)
        if some.any():
            corr = _masked_corr(xa[some], xb[some], wk[some])
            ok[np.nonzero(some)[0][corr < t.fine_support_min_correlation]] = False
    return ok


def _ranks_float(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, axis=1, kind="stable")
    r = np.empty_like(x)
    np.put_along_axis(r, order, np.arange(x.shape[1], dtype=x.dtype)[None, :].repeat(len(x), 0), 1)
    return r


def decide(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds = DEFAULT) -> np.ndarray:
    """Vectorised rule: which of :data:`RULES` confirms files a[k] and b[k]
    (REJECTED, 0, when none does)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    out = np.zeros(len(a), dtype=np.int8)
    if len(a) == 0:
        return out
    detailed = (f.std[a] >= t.min_detail) & (f.std[b] >= t.min_detail)
    correlation = np.einsum("ij,ij->i", _rows(f, "unit", a), _rows(f, "unit", b))
    brightness = np.abs(f.mean[a] - f.mean[b])
    colour_a = f.saturation[a] >= t.colourful
    colour_b = f.saturation[b] >= t.colourful
    chroma_a, chroma_b = _rows(f, "chroma", a), _rows(f, "chroma", b)
    chroma_diff = np.abs(chroma_a - chroma_b).mean(axis=(1, 2))
    # A grayscale copy of a colour picture keeps its luminance exactly, so when
    # only one side has colour the structure must agree much more closely.
    mixed = colour_a != colour_b
    both_colour = colour_a & colour_b
    structure_ok = (
        (correlation >= np.where(mixed, t.mixed_min_correlation, t.min_correlation))
        & (brightness <= np.where(mixed, t.mixed_max_brightness_shift, t.max_brightness_shift))
        & (~both_colour | (chroma_diff <= t.max_chroma_diff))
    )
    # Brightness and contrast scale the chroma too: the tone rules compare
    # the pattern of colours, each side scaled to the same strength.
    pattern_diff = np.abs(
        chroma_a / np.maximum(f.saturation[a], 1e-6)[:, None, None]
        - chroma_b / np.maximum(f.saturation[b], 1e-6)[:, None, None]
    ).mean(axis=(1, 2))
    strength = f.saturation[a] / np.maximum(f.saturation[b], 1e-6)
    # Only a gray side (a grayscale copy) spares the colour check here: two
    # pale pictures of different hues are not one picture re-toned.
    some_colour = (f.saturation[a] > t.gray_max) & (f.saturation[b] > t.gray_max)
    colour_ok = ~some_colour | (
        (pattern_diff <= t.tone_max_chroma_diff) & (strength >= 0.5) & (strength <= 2.0)
    )
    gray_a, gray_b = _rows(f, "gray", a), _rows(f, "gray", b)  # (made once: three rules read them)
    ra, rb = _ranks(gray_a), _ranks(gray_b)
    rank_corr = _corr(ra, rb)
    retone_ok = colour_ok & (brightness <= t.tone_max_brightness_shift)
    tone_ok = retone_ok & (
        rank_corr >= np.where(mixed, t.mixed_min_rank_correlation, t.min_rank_correlation)
    )
    # Fine detail (the 32x32 thumbnail less its local mean) must agree too
    # where both pictures have it: text, edges and texture that the 16x16
    # thumbnails average away.  Benign copies keep it (>= 0.98 on the real
    # split, re-toned ones aside); pages and slides of one layout with other
    # words reach 0.97.  A quality-30 JPEG decoded in draft mode can fall to
    # 0.95 and is then not confirmed: a missed copy costs less than a unique
    # page put in a set that -dN acts on.
    fine = (
        f.has_fine[a]
        & f.has_fine[b]
        & (np.maximum(f.fine_energy[a], f.fine_energy[b]) >= t.fine_min_energy)
        & (np.minimum(f.fine_energy[a], f.fine_energy[b]) >= t.fine_low_energy)
    )
    # Contrast counts as a tone change too: the ratio of the 16x16 details.
    contrast = f.std[a] / np.maximum(f.std[b], 1e-6)
    retoned = (brightness >= t.retoned_min_shift) | (
        np.abs(np.log(np.maximum(contrast, 1e-6))) >= 0.1
    )
    fine_min = np.where(retoned & colour_ok, t.retoned_fine_min_correlation, t.fine_min_correlation)
    # The pairs whose fine detail is compared: those the 16x16 rules confirm,
    # and those they may miss only for being out of register.
    alignable = (brightness <= t.tone_max_brightness_shift) & (
        ~some_colour | ((strength >= 0.5) & (strength <= 2.0))
    )
    check = fine & detailed & (structure_ok | tone_ok | alignable)
    aligned_ok = np.zeros(len(a), dtype=bool)
    if check.any():
        idx = np.nonzero(check)[0]
        fa, fb, w = _fine_pair(f.fine_raw[a[idx]], f.fine_raw[b[idx]])
        unaligned = _masked_corr(fa, fb, w)
        fine_ok = unaligned >= fine_min[idx]
        # A crop, a border or a slight turn moves the fine detail by a pixel
        # or two (and the 16x16 thumbnails with it): compare both again after
        # aligning.  Only a warp that explains the detail much better than
        # none counts.
        # (a warp can beat the unaligned detail by the margin only where
        # that is below 1 - margin: pages of one layout are above)
        redo = ~fine_ok & alignable[idx] & (unaligned < 1.0 - t.aligned_min_gain)
        if redo.any():
            miss = idx[redo]
            best, low = aligned_fine(
                f.fine_raw[a[miss]],
                f.fine_raw[b[miss]],
                f.gray(a[miss]),
                f.gray(b[miss]),
                t.aligned_min_correlation,
            )
            aligned_ok[miss] = (
                (best >= t.aligned_fine_min_correlation)
                & (best >= unaligned[redo] + t.aligned_min_gain)
                & (low >= t.aligned_min_correlation)
            )
        held = fine_ok & (structure_ok[idx] | tone_ok[idx])
        if held.any():
            at = np.nonzero(held)[0]
            fine_ok[at] = _fine_supported(fa[at], fb[at], w[at], t)
        structure_ok[idx] &= fine_ok
        tone_ok[idx] &= fine_ok
    whole = np.nonzero(structure_ok | tone_ok)[0]
    if len(whole):
        held = _supported(gray_a[whole], gray_b[whole], t)
        structure_ok[whole] &= held
        tone_ok[whole] &= held
    todo = detailed & ~structure_ok & ~tone_ok & ~aligned_ok & retone_ok
    local_ok = np.zeros(len(a), dtype=bool)
    if todo.any():
        fa, fb, w = _fine_pair(f.fine_raw[a[todo]], f.fine_raw[b[todo]])
        ok = _local_ok(ra[todo], rb[todo], fa, fb, w, fine[todo], fine_min[todo], t)
        local_ok[todo] = ok
    flat_ok = (np.abs(gray_a - gray_b).mean(axis=1) <= t.flat_max_diff) & (
        np.abs(_rows(f, "color", a) - _rows(f, "color", b)).mean(axis=(1, 2)) <= t.flat_max_diff
    )
    grainy = (f.grain_energy[a] >= t.grain_min_energy) & (f.grain_energy[b] >= t.grain_min_energy)
    texture_ok = np.zeros(len(a), dtype=bool)
    # (pictures plain but for an edit, a caption on a paper, count as low-detail here)
    plain = (f.plain_share[a] >= _PLAIN_SHARE) & (f.plain_share[b] >= _PLAIN_SHARE)
    low = grainy & (~detailed | plain)
    grain_corr = np.full(len(a), -1.0, dtype=np.float32)
    if low.any():
        texture_ok[low], grain_corr[low] = _texture_ok(f, a[low], b[low], t)
    # A caption, a logo or a frame on a low-detail picture is detailed where the
    # paper is not: the parts of the texture it leaves (not clipped) must agree too.
    edited = detailed & (structure_ok | tone_ok | local_ok | aligned_ok)
    if edited.any():
        at = np.nonzero(edited)[0]
        ok = _plain_parts_ok(f, a[at], b[at], t)
        for rule_ok in (structure_ok, tone_ok, local_ok, aligned_ok):
            rule_ok[at] &= ok
    out[detailed & local_ok] = LOCAL
    out[detailed & aligned_ok] = ALIGNED
    out[detailed & tone_ok] = TONE
    out[detailed & structure_ok] = STRUCTURE
    # Pictures that look the same thumbnail for thumbnail and whose grain
    # does not contradict it (JPEG's blocks add a grain of their own to a
    # soft wallpaper; two papers of one tint correlate 0.2 at most), nor
    # their tints where they have a grain: one paper in two faint tints is
    # within flat's levels.
    flat_ok &= ~grainy | (grain_corr >= t.flat_grain_min_correlation)
    out[low & texture_ok & (out == REJECTED)] = TEXTURE
    flat_ok &= ~detailed & (out == REJECTED)
    tinted = np.flatnonzero(flat_ok & grainy)
    if len(tinted):
        flat_ok[tinted] = tints_agree(f, a[tinted], b[tinted], t)
    out[flat_ok] = FLAT
    if t.require_fine:
        # (and detail outside one band on both: the same caption or logo on
        # two plain pictures is not one picture)
        # A paper's grain is detail of its own: its rule stands (it refuses
        # the same caption on two papers, whose grains differ).
        spread = (f.std_outside[a] >= t.min_detail) & (f.std_outside[b] >= t.min_detail)
        soft = ~fine & (out == STRUCTURE) & (correlation >= t.soft_min_correlation)
        out[~((fine | soft) & spread) & (out != TEXTURE)] = REJECTED
    # A file without a signature (hashes imported from a file) cannot be checked.
    out[~(f.present[a] & f.present[b])] = UNCHECKED
    return out


_UNCLIPPED = 254  # a 16x16 cell at this level or above has lost its grain to white


def tints_agree(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether a tone change or a grayscale copy explains the tints of a[k]
    and b[k] (see :class:`Thresholds`)."""
    shift = np.abs(f.mean[a] - f.mean[b])
    qa, qb = f.tint[a], f.tint[b]
    na, nb = np.linalg.norm(qa, axis=1), np.linalg.norm(qb, axis=1)
    gray_a, gray_b = na < t.tint_gray, nb < t.tint_gray
    cosine = np.einsum("ij,ij->i", qa, qb) / np.maximum(na * nb, 1e-6)
    strength = na / np.maximum(nb, 1e-6)
    tinted = (
        ((cosine >= t.tint_min_cosine) | (np.linalg.norm(qa - qb, axis=1) <= t.tint_close))
        & (strength <= t.tint_max_ratio)
        & (strength >= 1 / t.tint_max_ratio)
    )
    # Where the brighter side is clipped in a quarter of its colour cells, its
    # tint may be any part of the other's, turned a little (each channel
    # clips at its own level); a grayscale copy is not clipped that way.
    a_brighter = f.mean[a] >= f.mean[b]
    clipped = np.where(a_brighter, f.clipped[a], f.clipped[b]) >= _CLIPPED_SHARE
    weaker = np.where(a_brighter, strength <= t.tint_max_ratio, strength >= 1 / t.tint_max_ratio)
    tinted |= clipped & weaker & (cosine >= t.clipped_tint_min_cosine)
    tint_ok = np.where(
        (gray_a | gray_b) & ~clipped,
        (gray_a & gray_b) | (shift <= t.gray_copy_max_shift),
        tinted | (gray_a & gray_b),
    )
    return tint_ok


def _texture_ok(
    f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds
) -> tuple[np.ndarray, np.ndarray]:
    """The ``texture`` rule for low-detail pictures with a grain: the grains
    correlate (where neither side is clipped), within a tone change, in a
    tint that a tone change or a grayscale copy explains.  Two papers of one
    tint differ in their grain; two tints of one paper in their tint."""
    keep = (_rows(f, "gray", a) < _UNCLIPPED) & (_rows(f, "gray", b) < _UNCLIPPED)
    keep &= _plain_cells(texture_of(f.raw, a)) & _plain_cells(texture_of(f.raw, b))
    ga, gb = f.grain(a), f.grain(b)
    corr = _masked_corr(ga, gb, keep)
    corr[keep.mean(axis=1) < _MIN_ALIGNED_PIXELS] = -1.0
    # (strengths compared inside the outer ring: a frame's inner edge on a dark
    # picture is not clipped, and is grain of its own there)
    inside = keep & _INSIDE_CELLS
    ratio = np.sqrt((ga**2 * inside).sum(axis=1) / np.maximum((gb**2 * inside).sum(axis=1), 1e-6))
    shift = np.abs(f.mean[a] - f.mean[b])
    tint_ok = tints_agree(f, a, b, t)
    alike = (ratio <= t.grain_max_ratio) & (ratio >= 1 / t.grain_max_ratio)
    alike &= (shift <= t.tone_max_brightness_shift) & tint_ok
    ok = alike & (corr >= t.grain_min_correlation)
    # A crop or a frame scales the grain about the centre: compare it again
    # under the scales and shifts of :data:`_GRAIN_WARPS`.
    redo = np.nonzero(alike & ~ok)[0]
    if len(redo):
        best = _aligned_grain(f, a[redo], b[redo])
        ok[redo] = (best >= t.aligned_grain_min_correlation) & (
            best >= corr[redo] + t.aligned_min_gain
        )
    return ok, corr


# the 16x16 cells inside the outer ring of 2 a 5-10% frame's edge falls in
_INSIDE_CELLS = _GRAY_INNER


# The grain's warps: the scales of a crop or a frame of up to ~10% a side,
# or both between two copies, then a cell's shift either way around the best.
_GRAIN_SCALES = np.array(
    [
        (s, 0.0, 0.0, 0.0)
        for s in (0.8, 0.84, 0.87, 0.9, 0.93, 0.96, 1.04, 1.075, 1.11, 1.15, 1.19, 1.25)
    ],
    dtype=np.float32,
)
_GRAIN_SHIFTS = np.array(
    [(0.0, 0.0, dx, dy) for dx in (-1.0, 0.0, 1.0) for dy in (-1.0, 0.0, 1.0) if dx or dy],
    dtype=np.float32,
)


def _aligned_grain(f: Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The best correlation of a's grain with b's texture warped (its grain
    taken after the warp), over the cells plain on both sides: first over
    :data:`_GRAIN_SCALES`, then the best scale shifted by :data:`_GRAIN_SHIFTS`."""
    out = np.full(len(a), -1.0, dtype=np.float32)
    for lo in range(0, len(a), _ALIGN_PAIRS_PER_STEP):
        ra, rb = a[lo : lo + _ALIGN_PAIRS_PER_STEP], b[lo : lo + _ALIGN_PAIRS_PER_STEP]
        ga = f.grain(ra)
        plain_a = _plain_cells(texture_of(f.raw, ra))
        tb = texture_of(f.raw, rb).astype(np.float32)
        plain_b = _plain_cells(texture_of(f.raw, rb)).astype(np.float32)
        k, scales = len(ra), len(_GRAIN_SCALES)
        params = np.broadcast_to(_GRAIN_SCALES, (k, scales, 4))
        corr = _grain_under(ga, plain_a, tb, plain_b, params)
        best = params[np.arange(k), np.argmax(corr, axis=1)]
        near = best[:, None, :] + _GRAIN_SHIFTS[None, :, :]
        shifted = _grain_under(ga, plain_a, tb, plain_b, near)
        out[lo : lo + k] = np.maximum(corr.max(axis=1), shifted.max(axis=1))
    return out


def _grain_under(
    ga: np.ndarray, plain_a: np.ndarray, tb: np.ndarray, plain_b: np.ndarray, params: np.ndarray
) -> np.ndarray:
    """(k, P) correlations of grains ``ga`` with textures ``tb`` under warps
    ``params`` (k, P, 4), over cells plain on both sides and inside."""
    k, p = params.shape[:2]
    index, weight, inside = _coords(GRAY_SIDE, np.ascontiguousarray(params))
    warped = _warp(tb, index, weight).reshape(k * p, -1)
    keep = (_warp(plain_b, index, weight).reshape(k * p, -1) > 0.99) & inside.reshape(k * p, -1)
    keep &= np.repeat(plain_a, p, axis=0)
    corr = _masked_corr(
        np.repeat(ga, p, axis=0), fine_detail(warped, GRAY_SIDE) / TEXTURE_GAIN, keep
    )
    corr[keep.mean(axis=1) < _MIN_ALIGNED_PIXELS] = -1.0
    return corr.reshape(k, p)


_CLIPPED_SHARE = 0.25
_PLAIN_SHARE = 0.5  # of the texture's cells: a picture this plain outside its edit
_PLAIN_MIN_CORRELATION = 0.5


def _plain_parts_ok(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether the plain parts of two pictures agree: the texture's cells
    that are not clipped (within about 8 levels of the plane) and whose
    neighbours are not, where both have at least half of their cells so
    plain (a paper with a caption, a logo or a frame; a photo has few).
    Their grains must correlate, or, where there is no grain, their levels
    match as the ``flat`` rule wants."""
    ok = np.ones(len(a), dtype=bool)
    both = (f.plain_share[a] >= _PLAIN_SHARE) & (f.plain_share[b] >= _PLAIN_SHARE)
    if not both.any():
        return ok  # (most pairs: the cells are worked out only for those that need them)
    k = np.nonzero(both)[0]
    keep = _plain_cells(texture_of(f.raw, a[k])) & _plain_cells(texture_of(f.raw, b[k]))
    ga, gb = f.grain(a[k]), f.grain(b[k])
    corr = _masked_corr(ga, gb, keep)
    energy = np.sqrt(
        np.minimum((ga**2 * keep).sum(axis=1), (gb**2 * keep).sum(axis=1))
        / np.maximum(keep.sum(axis=1), 1)
    )
    grainy = energy >= t.grain_min_energy
    # no grain: the plain parts' levels must be alike (two sheets of one colour)
    level = np.abs(f.gray(a[k]) - f.gray(b[k]))
    level = (level * keep).sum(axis=1) / np.maximum(keep.sum(axis=1), 1)
    # (in a tint the other's explains: two tints of one paper are not one picture)
    tinted = tints_agree(f, a[k], b[k], t)
    level_ok = level <= t.flat_max_diff
    redo = np.flatnonzero(~grainy & ~level_ok & tinted)
    if len(redo):
        moved = _moved_with_sheet(f.gray(a[k[redo]]), f.gray(b[k[redo]]), keep[redo])
        level_ok[redo] = moved >= level[redo]
    ok[k] = np.where(grainy, (corr >= _PLAIN_MIN_CORRELATION) & tinted, level_ok)
    ok[k] &= keep.mean(axis=1) >= _MIN_ALIGNED_PIXELS / 2
    return ok


_SHEET_APART = 40.0  # levels from the plain parts' median: a cell of the picture itself
_MIN_MOVED_CELLS = 8  # of 256: fewer say too little about how the picture moved


def _moved_with_sheet(ga: np.ndarray, gb: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """How far the cells of the picture itself moved between (k, 256) gray
    thumbnails whose ``plain`` parts' levels differ: the mean |difference|
    over the cells away from both sheets' levels and neither black nor
    clipped (what a tone change can move), -1 where too few are.  A tone
    change of the whole moves them too (a gamma or a contrast change moves the
    mid levels most); the same caption or logo on two sheets of other levels
    does not move, and a cell part edit, part sheet moves by only its sheet's
    share of the sheet's change: below the plain parts' difference."""
    out = np.full(len(ga), -1.0, dtype=np.float32)
    for k in range(len(ga)):
        x, y, p = ga[k], gb[k], plain[k]
        cells = ~p & (x > _BLACK) & (y > _BLACK) & (x < _CLIPPED) & (y < _CLIPPED)
        cells &= np.abs(x - np.median(x[p])) >= _SHEET_APART
        cells &= np.abs(y - np.median(y[p])) >= _SHEET_APART
        if cells.sum() >= _MIN_MOVED_CELLS:
            out[k] = np.abs(x[cells] - y[cells]).mean()
    return out


_BLACK = 5  # levels up to which a cell is black: a tone change leaves it there


def accept(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds = DEFAULT) -> np.ndarray:
    """Vectorised rule: may files a[k] and b[k] be called duplicates?"""
    return decide(f, a, b, t) != REJECTED


def refine_components(
    signatures: Sequence[bytes],
    unique_index: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    order_key: Sequence[bytes],
    thresholds: Thresholds = DEFAULT,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """Component label per file (-1 for files in no set), using only verified links.

    ``prior``: a label per file (-1: none) of links already verified (an
    earlier search's components): files that share one start joined, so
    the pairs between them are not checked again.

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
    if prior is not None and len(pairs_i):
        # pairs of lone files ``prior`` already joins need no features at all
        # (a file's own region rows: most of a folder of photos' region pairs)
        lone = np.full(u, -1, dtype=np.int32 if n < 2**31 else np.int64)
        single = row_size[unique_index] == 1
        lone[unique_index[single]] = prior[np.flatnonzero(single)]
        # a step at a time: a dense folder's millions of pairs would make
        # two int64 copies of them at once
        keep = np.empty(len(pairs_i), dtype=bool)
        for lo in range(0, len(pairs_i), _LONE_STEP):
            li = lone[pairs_i[lo : lo + _LONE_STEP]]
            lj = lone[pairs_j[lo : lo + _LONE_STEP]]
            keep[lo : lo + _LONE_STEP] = (li < 0) | (li != lj)
        if not keep.all():
            pairs_i, pairs_j = np.asarray(pairs_i)[keep], np.asarray(pairs_j)[keep]
        del keep
    involved_rows = np.zeros(u, dtype=bool)
    involved_rows[pairs_i] = True
    involved_rows[pairs_j] = True
    involved_rows |= row_size >= 2
    files = np.nonzero(involved_rows[unique_index])[0]
    if len(files) == 0:
        return labels
    feats = features_of(signatures, files)
    local = {int(fid): k for k, fid in enumerate(files)}

    # Files of each row in a stable order.
    by_row: dict[int, list[int]] = {}
    for fid in sorted(files.tolist(), key=lambda x: order_key[x]):
        by_row.setdefault(int(unique_index[fid]), []).append(fid)

    node_of = np.full(n, -1, dtype=np.int64)
    leaders: list[int] = []  # file id of each node's leader
    row_nodes: dict[int, list[int]] = {}
    first_round = _first_leaders(by_row, local, feats, thresholds, prior)
    for row, members in by_row.items():
        if len(members) == 1:  # most rows of a folder of distinct pictures: nothing to split
            node_of[members[0]] = len(leaders)
            row_nodes[row] = [len(leaders)]
            leaders.append(members[0])
            continue
        pending = np.array([local[m] for m in members], dtype=np.int64)
        ids = np.array(members, dtype=np.int64)
        nodes = []
        settled = first_round[row]
        while len(pending):
            leader = pending[0]
            if settled is not None:  # the first leader's checks, made for every row at once
                same, settled = settled, None
            else:
                same = _same_as_leader(ids, prior)
                if not same.all():
                    todo = np.nonzero(~same)[0]
                    same[todo] = accept(
                        feats, np.full(len(todo), leader), pending[todo], thresholds
                    )
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
    if prior is not None:
        lab, nodes_of_files = prior[files], node_of[files]
        known = lab >= 0
        order = np.argsort(lab[known], kind="stable")
        lab, nd = lab[known][order], nodes_of_files[known][order]
        same = lab[1:] == lab[:-1]
        join_into(root, nd[:-1][same], nd[1:][same])
        flatten(root)
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


def _same_as_leader(ids: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    """Which files of ``ids`` ``prior`` already joins with the first (the
    leader): they need no check."""
    same = np.zeros(len(ids), dtype=bool)
    if prior is not None and prior[ids[0]] >= 0:
        same = prior[ids] == prior[ids[0]]
    same[0] = True
    return same


def _first_leaders(
    by_row: dict[int, list[int]],
    local: dict[int, int],
    feats: Features,
    thresholds: Thresholds,
    prior: np.ndarray | None,
) -> dict[int, np.ndarray | None]:
    """Row -> which of its files join its first file (the first round of
    :func:`refine_components`' leader clustering), for every row of two or
    more files, in one check: a folder's exact copies (equal hashes) are a
    row each, and one check a row cost a few ms each."""
    out: dict[int, np.ndarray | None] = dict.fromkeys(by_row)
    lead, other, where = [], [], []
    for row, members in by_row.items():
        if len(members) < 2:
            continue
        ids = np.array(members, dtype=np.int64)
        same = _same_as_leader(ids, prior)
        out[row] = same
        todo = np.flatnonzero(~same)
        lead += [local[members[0]]] * len(todo)
        other += [local[members[k]] for k in todo.tolist()]
        where += [(row, k) for k in todo.tolist()]
    if lead:
        a, b = np.array(lead, dtype=np.int64), np.array(other, dtype=np.int64)
        step = _PAIRS_PER_STEP  # a block at a time: decide's arrays are per pair
        ok = np.concatenate(
            [
                accept(feats, a[lo : lo + step], b[lo : lo + step], thresholds)
                for lo in range(0, len(a), step)
            ]
        )
        for (row, k), yes in zip(where, ok.tolist(), strict=True):
            out[row][k] = yes  # type: ignore[index]
    return out


_PAIRS_PER_BLOCK = 1 << 16  # row pairs expanded to node pairs at once
_LONE_STEP = 1 << 20  # candidate pairs looked up against prior at once
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
