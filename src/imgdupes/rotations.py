"""``--rotations``: match copies rotated by 90/180/270 degrees or mirrored.

A perceptual hash changes completely when a picture is turned or mirrored.
With ``--rotations`` every picture is also hashed in the seven other
orientations of the square's symmetry group, and each orientation's
signature is turned the same way so verification compares like with like.
The default path computes none of this.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import hashes, signature
from .hashvalue import TURNS, key_name

T = Image.Transpose
# The seven non-identity orientations, named as hashvalue.TURNS names them, as PIL transposes.
_OPS = {
    "rot90": T.ROTATE_90,
    "rot180": T.ROTATE_180,
    "rot270": T.ROTATE_270,
    "mirror": T.FLIP_LEFT_RIGHT,
    "flip": T.FLIP_TOP_BOTTOM,
    "transpose": T.TRANSPOSE,
    "transverse": T.TRANSVERSE,
}
VARIANTS: tuple[tuple[str, Image.Transpose], ...] = tuple((name, _OPS[name]) for name in TURNS)
_SWAPS_AXES = {T.ROTATE_90, T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE}

# Variant hashes are computed on a reduced copy: they only need to be close
# enough to find a turned copy, and turning a 12-megapixel image seven times
# would cost more than decoding it.
_WORK_SIDE = 512


def variant_key(method: str, name: str) -> str:
    return key_name(method, name)


def variant_hashes(
    gray: Image.Image,
    methods: tuple[str, ...],
    hash_size: int,
    original_size: tuple[int, int],
) -> dict[str, bytes]:
    """{"phash@rot90": packed, ...} for every method and orientation."""
    work = gray
    if max(gray.size) > _WORK_SIDE:
        work = gray.copy()
        work.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.LANCZOS)
    out: dict[str, bytes] = {}
    w, h = original_size
    for name, op in VARIANTS:
        turned = work.transpose(op)
        size = (h, w) if op in _SWAPS_AXES else (w, h)
        for method in methods:
            bits = hashes.compute(method, turned, hash_size, size)
            out[variant_key(method, name)] = hashes.pack(bits)
    return out


def _turn(arr: np.ndarray, op: Image.Transpose) -> np.ndarray:
    """The numpy counterpart of a PIL transpose on an (H, W, ...) array."""
    if op == T.ROTATE_90:
        return np.rot90(arr, 1)
    if op == T.ROTATE_180:
        return np.rot90(arr, 2)
    if op == T.ROTATE_270:
        return np.rot90(arr, 3)
    if op == T.FLIP_LEFT_RIGHT:
        return arr[:, ::-1]
    if op == T.FLIP_TOP_BOTTOM:
        return arr[::-1]
    if op == T.TRANSPOSE:
        return arr.swapaxes(0, 1)
    return np.rot90(arr, 2).swapaxes(0, 1)  # TRANSVERSE


def turned_signature(sig: bytes, op: Image.Transpose) -> bytes:
    """The signature a turned copy of the picture would have."""
    return signature.turned(sig, lambda arr: _turn(arr, op))
