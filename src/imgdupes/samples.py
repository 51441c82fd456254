"""Generated sample pictures with planted near-duplicates.

``python -m imgdupes.samples DIR`` writes a small folder to try the tool on;
tests and benchmarks use the same functions, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def synthetic_photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A detailed, photo-like picture: smooth colour fields, shapes and grain."""
    rng = np.random.default_rng(seed)
    w, h = size
    # Low-frequency colour field: a small random grid upsampled smoothly.
    grid = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    img = Image.fromarray(grid, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(12, 24))):
        x0, x1 = sorted(rng.integers(0, w, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, h, size=2).tolist())
        colour = tuple(rng.integers(0, 256, size=3).tolist())
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse([x0, y0, x1 + 2, y1 + 2], fill=colour)
        elif kind == 1:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            pts = [tuple(p) for p in rng.integers(0, [w, h], size=(3, 2)).tolist()]
            draw.polygon(pts, fill=colour)
    arr = np.asarray(img, dtype=np.int16)
    arr = arr + rng.normal(0, 6, size=arr.shape).astype(np.int16)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img.filter(ImageFilter.GaussianBlur(0.8))


def resized(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, int(w * factor)), max(1, int(h * factor))), Image.Resampling.LANCZOS)


def brightened(img: Image.Image, factor: float = 1.2) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def make_samples(directory: str, originals: int = 6, seed: int = 0) -> dict[str, list[str]]:
    """Write originals, each with planted copies (resized, recompressed,
    brightened), plus unrelated pictures.  Returns {original: [copies]}."""
    os.makedirs(directory, exist_ok=True)
    families: dict[str, list[str]] = {}
    for n in range(originals):
        img = synthetic_photo(seed * 1000 + n)
        base = os.path.join(directory, f"photo_{n:02d}.jpg")
        img.save(base, quality=92)
        copies = []
        if n % 3 != 2:  # every third original stays unique
            sub = os.path.join(directory, "copies")
            os.makedirs(sub, exist_ok=True)
            small = os.path.join(sub, f"photo_{n:02d}_small.png")
            resized(img, 0.5).save(small)
            low = os.path.join(sub, f"photo_{n:02d}_q40.jpg")
            img.save(low, quality=40)
            bright = os.path.join(sub, f"photo_{n:02d}_bright.jpg")
            brightened(img).save(bright, quality=90)
            copies = [small, low, bright]
        families[base] = copies
    return families


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m imgdupes.samples",
        description="write sample pictures with planted duplicates",
    )
    p.add_argument("directory")
    p.add_argument("--originals", type=int, default=6)
    args = p.parse_args(argv)
    fams = make_samples(args.directory, args.originals)
    n = sum(1 + len(c) for c in fams.values())
    print(
        f"wrote {n} images to {args.directory} "
        f"({sum(1 for c in fams.values() if c)} planted duplicate sets)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
