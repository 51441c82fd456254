"""Real-size JPEG photos for the hashing benchmarks, written to a folder the caller made.

With scikit-image installed, its sample photographs (astronaut, coffee, cat,
rocket, retina, ...) are cropped, flipped and upscaled to camera size with a
little sensor-like grain, so that the pictures have real photographic
content; the rest are imgdupes' generated photos.  Nothing is downloaded.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps

from imgdupes.samples import synthetic_photo

REAL_NAMES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "camera",
    "coins",
)


def _real_sources() -> list[Image.Image]:
    try:
        import skimage.data
    except ImportError:
        return []
    out = []
    for name in REAL_NAMES:
        try:
            arr = getattr(skimage.data, name)()
        except Exception:  # a sample missing from this skimage build is skipped
            continue
        img = Image.fromarray(arr)
        out.append(img.convert("RGB"))
    return out


def _camera_size(n: int) -> tuple[int, int]:
    sizes = ((4000, 3000), (3000, 4000), (4032, 3024), (6000, 4000), (3840, 2160))
    return sizes[n % len(sizes)]


def _grain(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Sensor-like grain, tiled from one small random field (cheap at 12 MP)."""
    tile = rng.normal(0, 4, size=(509, 503, 3)).astype(np.int16)
    reps = (-(-shape[0] // tile.shape[0]), -(-shape[1] // tile.shape[1]), 1)
    return np.tile(tile, reps)[: shape[0], : shape[1]]


def make_photos(directory: str, count: int, quality: int = 90) -> list[str]:
    """Write ``count`` JPEGs of camera size to ``directory``; returns their paths."""
    rng = np.random.default_rng(1234)
    sources = _real_sources()
    paths = []
    for n in range(count):
        size = _camera_size(n)
        if sources and n % 3 != 2:
            src = sources[n % len(sources)]
            w, h = src.size
            # a random crop of 70-100% of the picture, sometimes mirrored
            f = rng.uniform(0.7, 1.0)
            cw, ch = int(w * f), int(h * f)
            x0 = int(rng.integers(0, w - cw + 1))
            y0 = int(rng.integers(0, h - ch + 1))
            img = src.crop((x0, y0, x0 + cw, y0 + ch))
            if n % 2:
                img = ImageOps.mirror(img)
            kind = "real"
        else:
            # generated at a quarter of the size: the full-size generator is slow
            img = synthetic_photo(7000 + n, (size[0] // 4, size[1] // 4))
            kind = "gen"
        img = img.resize(size, Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.int16)
        arr = arr + _grain(rng, arr.shape)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        path = os.path.join(directory, f"photo_{n:03d}_{kind}.jpg")
        img.save(path, quality=quality)
        paths.append(path)
    return paths
