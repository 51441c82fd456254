"""Set-level verification: no set holds two colour pictures that verification
tells apart and that only a colour-blind copy links.

Verification is pairwise and sets are connected components, so links are
transitive.  A grayscale copy (or a JPEG whose chroma rounding dropped a
faint tint) is a true copy of a picture in any tint: it joins the families of
one paper in two tints, which verification, compared directly, rejects.

A component is examined here only when it holds such a *colour-blind* file
(no tint and next to no chroma) and at least two colour files, and at most
:data:`MAX_FILES` files: a cluster of near-identical colour pictures is not
looked at again.  Every pair of its files is then compared directly (in both
directions).  A pair of colour files is *apart* when verification rejects it
and every file that it accepts with both is colour-blind: copies of one
picture with different edits (a caption, a border) are rejected too, but
their original, in colour, accepts both.  A component without an apart pair
is left as it is.  One with apart pairs is rebuilt from its accepted links,
links between colour files first, then the others, each group of links from
the most alike pair to the least (mean difference of the 16x16 thumbnails;
ties by path): a link joins its two parts unless they would then hold an
apart pair.  So the gray copy of one tint joins the tint whose luminance it
has, the two tints stay apart, and no file that was in a set through a
colour-blind copy is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .group import label_members
from .signature import COLOR_BYTES, FINE_OFFSET, gray_of
from .verify import DEFAULT, REJECTED, Features, Thresholds, decide

MAX_FILES = 256  # a component this large costs 32,640 direct comparisons


def colour_blind(signatures: Sequence[bytes], t: Thresholds = DEFAULT) -> tuple[np.ndarray, ...]:
    """(blind, colour) per signature: no tint (mean colour less its gray) and
    next to no chroma anywhere; or some colour.  A file without a usable
    signature is neither."""
    return _blind(*_colours(signatures, range(len(signatures))), t)


def _colours(signatures: Sequence[bytes], rows) -> tuple[np.ndarray, np.ndarray]:
    """(colour thumbnails (k, COLOR_BYTES) uint8, present) of ``rows``."""
    rows = list(rows)
    col = np.zeros((len(rows), COLOR_BYTES), dtype=np.uint8)
    present = np.zeros(len(rows), dtype=bool)
    for at, k in enumerate(rows):
        sig = signatures[int(k)]
        if len(sig) >= FINE_OFFSET:
            col[at] = np.frombuffer(sig, dtype=np.uint8, count=COLOR_BYTES)
            present[at] = True
    return col, present


def _blind(col: np.ndarray, present: np.ndarray, t: Thresholds) -> tuple[np.ndarray, ...]:
    pixels = col.reshape(len(col), -1, 3)
    # The mean |chroma| is at least a third of the channels' spread: most
    # files (a dense cluster of colour pictures) are told apart on uint8 alone.
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    high, low = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    spread = (high - low).sum(axis=1, dtype=np.int64) / pixels.shape[1]
    blind = np.zeros(len(col), dtype=bool)
    maybe = np.flatnonzero(present & (spread <= 3 * t.gray_max))
    if len(maybe):
        colours = pixels[maybe].astype(np.float32)
        chroma = colours - colours.mean(axis=2, keepdims=True)
        saturation = np.abs(chroma).mean(axis=(1, 2))
        tint = np.linalg.norm(chroma.mean(axis=1), axis=1)
        blind[maybe] = (tint < t.tint_gray) & (saturation <= t.gray_max)
    return blind, present & ~blind


def split_bridged(
    labels: np.ndarray,
    signatures: Sequence[bytes],
    keys: Sequence[bytes],
    thresholds: Thresholds = DEFAULT,
) -> np.ndarray:
    """Set label per row (-1: none) with every component that holds apart
    pairs rebuilt as the module says; other components keep their label."""
    labels = np.asarray(labels, dtype=np.int64)
    groups = [rows for _, rows in label_members(labels) if 3 <= len(rows) <= MAX_FILES]
    if not groups:
        return labels
    need = getattr(signatures, "need", None)
    rows = np.concatenate(groups)
    if need is not None:  # a scan's table reads its signatures in bulk
        need(rows)
    blind, colour = _blind(*_colours(signatures, rows.tolist()), thresholds)
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    blinds = np.bincount(owner, weights=blind, minlength=len(groups))
    colours = np.bincount(owner, weights=colour, minlength=len(groups))
    flagged = [g for g, b, c in zip(groups, blinds, colours, strict=True) if b and c >= 2]
    if not flagged:
        return labels
    members = np.concatenate(flagged)
    feats = Features([signatures[int(k)] for k in members])
    out = labels.copy()
    fresh = int(labels.max()) + 1
    at = 0
    for rows in flagged:
        local = np.arange(at, at + len(rows))
        at += len(rows)
        parts = _parts(feats, local, [keys[int(k)] for k in rows], thresholds)
        if parts is None:
            continue
        sizes = np.bincount(parts)
        out[rows] = np.where(sizes[parts] >= 2, fresh + parts, -1)
        fresh += len(sizes)
    return out


def _accepted(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether verification accepts a[k] and b[k] in either order (the aligned
    rule warps one side only)."""
    ok = decide(f, a, b, t) != REJECTED
    redo = np.flatnonzero(~ok)
    if len(redo):
        ok[redo] = decide(f, b[redo], a[redo], t) != REJECTED
    return ok


def _parts(
    f: Features, files: np.ndarray, keys: Sequence[bytes], t: Thresholds
) -> np.ndarray | None:
    """Part number per file of one component (``files``: its rows of ``f``),
    or None when it holds no apart pair."""
    n = len(files)
    i, j = np.triu_indices(n, 1)
    ok = np.zeros((n, n), dtype=bool)
    ok[i, j] = _accepted(f, files[i], files[j], t)
    ok |= ok.T
    blind, colour = _blind(f.raw[files, :COLOR_BYTES], f.present[files], t)
    both = ok.astype(np.int32)
    common = both @ both  # files accepted with both of a pair
    common_colour = both[:, colour] @ both[colour, :]
    apart = ~ok & np.outer(colour, colour) & (common > 0) & (common_colour == 0)
    np.fill_diagonal(apart, False)
    if not apart.any():
        return None
    # Links between colour files first, then those of a colour-blind file;
    # each from the most alike pair, ties in path order.
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=keys.__getitem__)] = np.arange(n)
    li, lj = i[ok[i, j]], j[ok[i, j]]
    gray = gray_of(f.raw, files).astype(np.float32)
    diff = np.abs(gray[li] - gray[lj]).mean(axis=1)
    lo, hi = np.minimum(rank[li], rank[lj]), np.maximum(rank[li], rank[lj])
    order = np.lexsort((hi, lo, diff, ~(colour[li] & colour[lj])))
    part = np.arange(n)
    conflict = apart.copy()  # row p: the files part p may not hold
    for x, y in zip(li[order].tolist(), lj[order].tolist(), strict=True):
        px, py = part[x], part[y]
        if px == py or conflict[px, part == py].any():
            continue
        keep, gone = min(px, py), max(px, py)
        part[part == gone] = keep
        conflict[keep] |= conflict[gone]
    return np.unique(part, return_inverse=True)[1].reshape(-1)
