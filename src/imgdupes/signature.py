"""A second, independent signal computed from the same decode as the hashes.

The verification stage uses it to confirm hash matches: a perceptual hash
of a low-detail picture carries little information, so two unrelated flat
or gradient images can share a hash.  The signature is small and fixed in
size so that the hash store keeps it next to the hashes.

Layout (SIGNATURE_BYTES bytes): an 8x8 RGB thumbnail (192 bytes), a 16x16
grayscale thumbnail (256 bytes) and a 32x32 grayscale thumbnail (1024 bytes),
all Lanczos-reduced, row-major.  The 32x32 one (version 2) carries the fine
detail that tells apart pages of one layout with different text; a version-1
signature (the first 448 bytes) is still read, without that check.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIGNATURE_VERSION = 2
COLOR_SIDE = 8
GRAY_SIDE = 16
FINE_SIDE = 32
FINE_OFFSET = COLOR_SIDE * COLOR_SIDE * 3 + GRAY_SIDE * GRAY_SIDE  # = version 1's size
SIGNATURE_BYTES = FINE_OFFSET + FINE_SIDE * FINE_SIDE


def compute(color: Image.Image, gray: Image.Image) -> bytes:
    lanczos = Image.Resampling.LANCZOS
    c = color.resize((COLOR_SIDE, COLOR_SIDE), lanczos).tobytes()
    g = gray.resize((GRAY_SIDE, GRAY_SIDE), lanczos).tobytes()
    fine = gray.resize((FINE_SIDE, FINE_SIDE), lanczos).tobytes()
    return c + g + fine


def split(sig: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(8, 8, 3) colour and (16, 16) gray uint8 arrays of one signature."""
    arr = np.frombuffer(sig, dtype=np.uint8)
    n = COLOR_SIDE * COLOR_SIDE * 3
    gray = arr[n:FINE_OFFSET].reshape(GRAY_SIDE, GRAY_SIDE)
    return arr[:n].reshape(COLOR_SIDE, COLOR_SIDE, 3), gray
