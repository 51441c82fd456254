"""Act-time confirmation: is one picture surely a copy of another?

The listing links files whose 64-bit hashes are close and whose 16x16
thumbnails agree (:mod:`imgdupes.verify`).  That is enough to show a set to a
person, not to delete a file nobody looked at: a letterhead with different
text, a slide template, a form filled in differently all pass it.  Before
``-N`` removes a file unattended, both pictures are decoded again and compared
at 256x256 gray:

- the sizes are normalised (both resized to the same grid with one Lanczos
  resize from at least twice its size; the shapes must
  agree within 3%), so resized copies compare pixel for pixel;
- the tone is normalised: the second picture is predicted from the first by
  the best tone curve (the mean of the second's gray levels for each gray
  level of the first), in both directions, so a brightened, contrast-stretched
  or grayscale copy, even with clipped highlights, leaves almost no residual;
- what is left is measured in 8x8-pixel blocks (32 across): a copy leaves a
  small, even residual; different content leaves blocks that disagree.  With
  16-pixel blocks, two different objects a few blocks wide on an empty sky
  (stellarium's nebula photos) had their difference averaged into the black
  around them and passed.

Figures (``python3 benchmarks/confirm_margin.py``, 8 photos, statement pages):
resizes, re-encodes, grayscale and contrast edits of photos and pages leave
at most 0.06 in the worst block, a 1.2x brightened photo up to 0.10, a 1.4x
one up to 0.16 (some of those are kept); pages that share a letterhead but
not their text leave 0.169 or more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .decode import DecodeError, decode

SIDE = 256
BLOCK = 8
TONE_LEVELS = 64
# A pair is confirmed when the 99th percentile of the block residuals and the
# worst block stay below these (gray levels / 255).
MAX_P99 = 0.09
MAX_BLOCK = 0.12
MAX_SHAPE_DIFF = 0.03


@dataclass(frozen=True)
class Outcome:
    ok: bool
    why: str  # for a refusal: one clause saying what differs


class Confirmer:
    """Decodes each file of a set once and compares pairs of them."""

    def __init__(self, rotations: bool = False) -> None:
        self.rotations = rotations
        self._cache: dict[str, tuple[np.ndarray, float] | str] = {}

    def _load(self, path: str) -> tuple[np.ndarray, float] | str:
        if path not in self._cache:
            try:
                # Decoded at twice the grid at least, then one Lanczos resize:
                # reducing straight to about the grid's size (JPEG draft, box
                # reduction) aliases fine detail such as text differently per
                # format, and two copies of one page would then disagree.
                d = decode(path, reduce_to=2 * SIDE)
            except DecodeError as exc:
                self._cache[path] = f"cannot read it again to confirm ({exc})"
            else:
                g = d.gray.resize((SIDE, SIDE), Image.Resampling.LANCZOS)
                arr = np.asarray(g, dtype=np.float64)
                self._cache[path] = (arr, d.width / max(1, d.height))
        return self._cache[path]

    def unreadable(self, path: str) -> str:
        """Why ``path`` cannot be confirmed against anything ("" when it can)."""
        loaded = self._load(path)
        return loaded if isinstance(loaded, str) else ""

    def forget(self) -> None:
        """Drop the decoded pictures (called after each set: pairs never span sets)."""
        self._cache.clear()

    def same_picture(self, a_path: str, b_path: str) -> Outcome:
        a = self._load(a_path)
        b = self._load(b_path)
        if isinstance(a, str) or isinstance(b, str):
            return Outcome(False, a if isinstance(a, str) else b)  # type: ignore[arg-type]
        (ga, ra), (gb, rb) = a, b
        candidates = [gb]
        shapes = [rb]
        if self.rotations:
            for k in (1, 2, 3):
                candidates.append(np.rot90(gb, k))
                shapes.append(rb if k == 2 else 1 / rb)
            flipped = np.fliplr(gb)
            for k in (0, 1, 2, 3):
                candidates.append(np.rot90(flipped, k))
                shapes.append(rb if k % 2 == 0 else 1 / rb)
        best: tuple[float, float] | None = None
        for cand, shape in zip(candidates, shapes, strict=True):
            if abs(shape - ra) / max(ra, 1e-9) > MAX_SHAPE_DIFF:
                continue
            score = residual_score(ga, cand)
            if best is None or score[0] < best[0]:
                best = score
        if best is None:
            return Outcome(False, f"different shapes ({ra:.2f} vs {rb:.2f} width/height)")
        p99, worst = best
        if worst > MAX_BLOCK:
            measure = f"worst block {_beside(worst, MAX_BLOCK)}, limit {MAX_BLOCK}"
        elif p99 > MAX_P99:
            measure = f"99th percentile block {_beside(p99, MAX_P99)}, limit {MAX_P99}"
        else:
            return Outcome(True, "")
        return Outcome(False, f"differs in places at {SIDE}x{SIDE} ({measure})")


def _beside(value: float, limit: float) -> str:
    """``value`` with the decimals it takes to read as over ``limit`` (0.121, not 0.12)."""
    for digits in (2, 3, 4):
        if round(value, digits) > limit:
            return f"{value:.{digits}f}"
    return f"{value:.5f}"


def _predicted(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """|dst - f(src)| with f the tone curve that best maps src's gray levels onto dst."""
    idx = (src * (TONE_LEVELS / 256.0)).astype(np.int64).ravel()
    sums = np.bincount(idx, weights=dst.ravel(), minlength=TONE_LEVELS)
    counts = np.bincount(idx, minlength=TONE_LEVELS)
    curve = sums / np.maximum(counts, 1)
    return np.abs(dst.ravel() - curve[idx]).reshape(dst.shape) / 255.0


def _blocks(residual: np.ndarray) -> np.ndarray:
    n = SIDE // BLOCK
    return residual.reshape(n, BLOCK, n, BLOCK).mean(axis=(1, 3))


def residual_score(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(99th percentile, worst) block residual of the better of both directions:
    a clipped copy is predicted well from its original, not the other way."""
    best: tuple[float, float] | None = None
    for src, dst in ((a, b), (b, a)):
        blocks = _blocks(_predicted(src, dst))
        score = (float(np.quantile(blocks, 0.99)), float(blocks.max()))
        if best is None or score < best:
            best = score
    assert best is not None
    return best
