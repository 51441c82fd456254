"""A region link (a crop's, a border's, a caption's extra candidate) between a
soft picture and its brightened copy, whose highlights clipped and took the
fine detail with them, is confirmed where the whole pictures agree closely;
another soft picture of the same light is not."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter
from test_texture import _signature

from imgdupes import verify
from imgdupes.pipeline import REGION_THRESHOLDS


def _soft_art(seed: int, size=(640, 480)) -> Image.Image:
    """Translucent shapes in a soft bowl of light on white (a wallpaper's kind)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    halo = np.exp(-(((x - 0.4 * w) / (0.35 * w)) ** 2 + ((y - 0.55 * h) / (0.3 * h)) ** 2))
    base = 255 - halo[..., None] * np.array([70, 40, 45], np.float32)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).convert("RGBA")
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        corners = rng.uniform((0.15, 0.3), (0.6, 0.85), (4, 2)) * (w, h)
        points = [(float(px), float(py)) for px, py in corners]
        draw.polygon(points, fill=(60, 190, 170, 160))
    return Image.alpha_composite(img, layer.filter(ImageFilter.GaussianBlur(3))).convert("RGB")


def test_a_brightened_soft_picture_is_confirmed_through_a_region_and_another_is_not(tmp_path):
    paths = []
    art = _soft_art(2)
    for name, img in (
        ("art.png", art),
        ("bright.jpg", ImageEnhance.Brightness(art).enhance(1.25)),
        ("other.png", _soft_art(0)),
    ):
        img.save(tmp_path / name)
        paths.append(tmp_path / name)
    f = verify.Features([_signature(p) for p in paths])
    # the copy has too little fine detail left to compare
    assert f.fine_energy[1] < verify.DEFAULT.fine_min_energy
    got = verify.decide(f, np.array([0, 2]), np.array([1, 1]), REGION_THRESHOLDS)
    assert [verify.RULES[c] for c in got] == ["structure", "rejected"]
