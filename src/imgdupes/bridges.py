"""Set-level verification: the colour files of a set are linked through
colour files, not only through a colour-blind copy.

Verification is pairwise and sets are connected components, so links are
transitive.  A grayscale copy (or a JPEG whose chroma rounding dropped a
faint tint) is a true copy of a picture in any tint: it joins the families of
one paper in two tints, which verification, compared directly, rejects.

A component is looked at here only when it holds such a *colour-blind* file
(no tint and next to no chroma) and at least two colour files, and at most
:data:`MAX_FILES` files: a cluster of near-identical colour pictures is not
compared again.  Its colour files are grouped into *cores* by the links
verification accepts between colour files (in either order), checked against
the first colour file (in path order) and, for the few that it rejects,
against every other: copies of one picture with different edits (a caption,
a border) are rejected by each other but accepted by their original, so they
are one core, and a component of one core is left as it is.  One of two
cores or more holds pictures that only colour-blind files link: it is rebuilt
from its cores and the colour-blind files' accepted links, from the most
alike pair to the least (mean difference of the 16x16 thumbnails; ties by
path), a link joining two parts unless both hold a core.  So the gray copy of
one tint stays in a set, with the tint whose luminance it has, and the two
tints stay apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .group import components, label_members
from .signature import COLOR_BYTES, FINE_OFFSET, gray_of
from .verify import DEFAULT, REJECTED, Features, Thresholds, decide, tints_agree

# Larger sets are left as they are: a file the first rejects is compared with
# every other colour file, and a cluster of thousands would cost millions.
MAX_FILES = 256


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
    """(blind, colour) per colour thumbnail: no tint (mean colour less its
    gray) and next to no chroma anywhere; or some colour.  A file without a
    usable signature is neither."""
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
    """Set label per row (-1: none) with every component of two cores or
    more rebuilt as the module says; other components keep their label."""
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
    picked = [g for g, (b, c) in enumerate(zip(blinds, colours, strict=True)) if b and c >= 2]
    if not picked:
        return labels
    sizes = [len(groups[g]) for g in picked]
    rows = np.concatenate([groups[g] for g in picked])
    feats = Features([signatures[int(k)] for k in rows])
    blind, colour = _blind(feats.raw[:, :COLOR_BYTES], feats.present, thresholds)
    starts = np.cumsum([0, *sizes])
    comps = []  # per component: its rows of feats, in path order
    for lo, hi in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        local = np.arange(lo, hi)
        comps.append(local[np.argsort([keys[int(rows[k])] for k in local], kind="stable")])
    # Only colour files in tints no tone change explains can be told apart by
    # colour (a family's copies keep their tint): the others are not compared.
    comps = [files for files in comps if _tints_differ(feats, files[colour[files]], thresholds)]
    if not comps:
        return labels
    core = _cores(feats, comps, colour, thresholds)
    split = [k for k, files in enumerate(comps) if len(np.unique(core[files[colour[files]]])) >= 2]
    if not split:
        return labels
    out = labels.copy()
    fresh = int(labels.max()) + 1
    attached = _attach(feats, [comps[k] for k in split], blind, core, thresholds)
    for k, parts in zip(split, attached, strict=True):
        files = comps[k]
        counts = np.bincount(parts)
        out[rows[files]] = np.where(counts[parts] >= 2, fresh + parts, -1)
        fresh += len(counts)
    return out


def _tints_differ(f: Features, files: np.ndarray, t: Thresholds) -> bool:
    """Whether two of ``files`` have tints that verification's tint check refuses."""
    i, j = np.triu_indices(len(files), 1)
    return bool(len(i)) and not tints_agree(f, files[i], files[j], t).all()


def _accepted(f: Features, a: np.ndarray, b: np.ndarray, t: Thresholds) -> np.ndarray:
    """Whether verification accepts a[k] and b[k] in either order (the aligned
    rule warps one side only)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not len(a):
        return np.zeros(0, dtype=bool)
    ok = decide(f, a, b, t) != REJECTED
    redo = np.flatnonzero(~ok)
    if len(redo):
        ok[redo] = decide(f, b[redo], a[redo], t) != REJECTED
    return ok


def _cores(f: Features, comps: list[np.ndarray], colour: np.ndarray, t: Thresholds) -> np.ndarray:
    """Core label per row of ``f`` (colour files; -1 elsewhere): the
    components of the accepted links between the colour files of each of
    ``comps``.  Every colour file is compared with the component's first; the
    ones it rejects with every other colour file, so the links found connect
    exactly what all links between them would."""
    first = [files[colour[files]] for files in comps]
    lead = np.concatenate([np.full(len(c) - 1, c[0]) for c in first])
    rest = np.concatenate([c[1:] for c in first])
    ok = _accepted(f, lead, rest, t)
    a, b = [lead[ok]], [rest[ok]]
    refused = set(rest[~ok].tolist())
    pa, pb = [], []
    for c in first:
        out = [x for x in c[1:].tolist() if x in refused]
        for x in out:
            for y in c[1:].tolist():
                if y != x and not (y in refused and y < x):  # each pair once
                    pa.append(x)
                    pb.append(y)
    if pa:
        pa_, pb_ = np.array(pa, dtype=np.int64), np.array(pb, dtype=np.int64)
        ok = _accepted(f, pa_, pb_, t)
        a.append(pa_[ok])
        b.append(pb_[ok])
    label = components(len(f.present), np.concatenate(a), np.concatenate(b))
    return np.where(colour, label, -1)


def _attach(
    f: Features, comps: list[np.ndarray], blind: np.ndarray, core: np.ndarray, t: Thresholds
) -> list[np.ndarray]:
    """Part number per file (in the order of each of ``comps``) once the
    colour-blind files' accepted links join their cores, most alike first;
    no link joins two parts that both hold a core."""
    pa, pb, owner = [], [], []
    for k, files in enumerate(comps):
        for x in files[blind[files]].tolist():
            for y in files.tolist():
                if y != x and not (blind[y] and y < x):
                    pa.append(x)
                    pb.append(y)
                    owner.append(k)
    a, b = np.array(pa, dtype=np.int64), np.array(pb, dtype=np.int64)
    ok = _accepted(f, a, b, t)
    a, b, link_owner = a[ok], b[ok], np.array(owner, dtype=np.int64)[ok]
    gray = gray_of(f.raw, np.arange(len(f.present))).astype(np.float32)
    diff = np.abs(gray[a] - gray[b]).mean(axis=1)
    out = []
    for k, files in enumerate(comps):
        at = {x: n for n, x in enumerate(files.tolist())}  # path rank in the component
        mine = np.flatnonzero(link_owner == k)
        la = np.array([at[x] for x in a[mine].tolist()], dtype=np.int64)
        lb = np.array([at[x] for x in b[mine].tolist()], dtype=np.int64)
        lo, hi = np.minimum(la, lb), np.maximum(la, lb)
        order = np.lexsort((hi, lo, diff[mine]))
        # the colour files of a core are one part from the start
        mine_core = core[files]
        part = np.arange(len(files))
        for c in np.unique(mine_core[mine_core >= 0]):
            members = np.flatnonzero(mine_core == c)
            part[members] = members[0]
        held = np.full(len(files), -1)  # the core each part holds, -1: none
        held[part[mine_core >= 0]] = mine_core[mine_core >= 0]
        for x, y in zip(lo[order].tolist(), hi[order].tolist(), strict=True):
            px, py = part[x], part[y]
            if px == py or (held[px] >= 0 and held[py] >= 0):
                continue
            keep, gone = min(px, py), max(px, py)
            part[part == gone] = keep
            held[keep] = max(held[keep], held[gone])
        out.append(np.unique(part, return_inverse=True)[1].reshape(-1))
    return out
