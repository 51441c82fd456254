"""Margin of the act-time confirmation (imgdupes.confirm): worst-block residual
of benign copies against pages that share a letterhead but not their text.

    python3 benchmarks/confirm_margin.py

Prints one row per kind of pair: (99th percentile, worst block); the limits
are confirm.MAX_P99 and confirm.MAX_BLOCK.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from imgdupes import confirm  # noqa: E402
from imgdupes.samples import brightened, resized, synthetic_photo  # noqa: E402


def page(i: int) -> Image.Image:
    rng = random.Random(i)
    im = Image.new("RGB", (850, 1100), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([40, 40, 810, 150], fill=(20, 60, 140))
    d.text((60, 75), "ACME BANK", fill="white", font=ImageFont.load_default(size=30))
    body = ImageFont.load_default(size=22)
    for y in range(200, 1040, 30):
        words = " ".join(
            "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(7))
            for _ in range(6)
        )
        d.text((60, y), words, fill="black", font=body)
    return im


EDITS = {
    "resized 0.5": lambda im: resized(im, 0.5),
    "resized 0.25": lambda im: resized(im, 0.25),
    "jpeg q40": lambda im: im,
    "brightened 1.2": lambda im: brightened(im, 1.2),
    "brightened 1.4": lambda im: brightened(im, 1.4),
    "contrast 1.3": lambda im: ImageEnhance.Contrast(im).enhance(1.3),
    "autocontrast": lambda im: ImageOps.autocontrast(im, cutoff=2),
    "grayscale": lambda im: im.convert("L"),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        c = confirm.Confirmer()
        rows: dict[str, list[tuple[float, float]]] = {}
        for seed in range(8):
            img = synthetic_photo(100 + seed)
            orig = os.path.join(tmp, f"o{seed}.jpg")
            img.save(orig, quality=95)
            for name, edit in EDITS.items():
                p = os.path.join(tmp, f"{seed}-{name}.jpg")
                edit(img).save(p, quality=40 if name == "jpeg q40" else 90)
                a, b = c._load(orig), c._load(p)
                rows.setdefault(name, []).append(confirm.residual_score(a[0], b[0]))
        first = os.path.join(tmp, "page0.jpg")
        page(0).save(first, quality=90)
        doc_edits = {
            "page: jpeg q40": lambda im: im,
            "page: resized 0.5": lambda im: resized(im, 0.5),
            "page: resized 0.3 png": lambda im: resized(im, 0.3),
            "page: grayscale png": lambda im: im.convert("L"),
            "page: darker 0.8": lambda im: ImageEnhance.Brightness(im).enhance(0.8),
        }
        for name, edit in doc_edits.items():
            p = os.path.join(
                tmp, name.replace(" ", "_").replace(":", "") + (".png" if "png" in name else ".jpg")
            )
            edit(page(0)).save(p, quality=40 if "q40" in name else 85)
            a, b = c._load(first), c._load(p)
            rows.setdefault(name, []).append(confirm.residual_score(a[0], b[0]))
        for i in range(1, 8):
            p = os.path.join(tmp, f"page{i}.jpg")
            page(i).save(p, quality=90)
            a, b = c._load(first), c._load(p)
            rows.setdefault("other page, same letterhead", []).append(
                confirm.residual_score(a[0], b[0])
            )
    print(f"limits: p99 <= {confirm.MAX_P99}, worst block <= {confirm.MAX_BLOCK}")
    print(f"{'pair':<30} {'p99 max':>8} {'worst max':>10} {'worst min':>10}")
    for name, scores in rows.items():
        print(
            f"{name:<30} {max(s[0] for s in scores):>8.3f} {max(s[1] for s in scores):>10.3f}"
            f" {min(s[1] for s in scores):>10.3f}"
        )


if __name__ == "__main__":
    main()
