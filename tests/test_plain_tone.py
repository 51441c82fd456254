"""A picture that is mostly one plain colour (a dark wallpaper with a beam of
light) re-toned as a whole is one picture; the same caption or logo on two
sheets of other levels is not."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from test_texture import _caption, _gamma, _signature

from imgdupes import verify
from imgdupes.lowdetail import plain_cells
from imgdupes.signature import texture_of


def _wallpaper(size=(480, 360)) -> Image.Image:
    """A near-black sheet (dithered by half a level) with a soft beam of light in a corner."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    across = np.abs((x - 0.7 * w) * 0.6 - y * 0.8) / (0.06 * w)
    beam = np.exp(-(across**2)) * np.clip((x - 0.6 * w) / (0.4 * w), 0, 1) * 230
    rgb = np.stack([4 + 0.5 * beam, 6 + 0.8 * beam, 14 + beam], axis=-1)
    rgb = rgb + np.random.default_rng(0).normal(0, 0.5, (h, w, 1))
    return Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))


def _logo(img: Image.Image) -> Image.Image:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    draw.rectangle((10, 10, 90, 60), fill=(250, 250, 250))
    draw.text((20, 25), "LOGO inc", fill=(0, 0, 0))
    return out


def _pairs(tmp_path, pairs):
    sigs = []
    for name, (x, y) in pairs.items():
        x.save(tmp_path / f"{name}0.png")
        y.save(tmp_path / f"{name}1.jpg", quality=85)
        sigs += [_signature(tmp_path / f"{name}0.png"), _signature(tmp_path / f"{name}1.jpg")]
    f = verify.Features(sigs)
    a, b = np.arange(0, len(sigs), 2), np.arange(1, len(sigs), 2)
    keep = plain_cells(texture_of(f.raw, a)) & plain_cells(texture_of(f.raw, b))
    level = (np.abs(f.gray(a) - f.gray(b)) * keep).sum(axis=1) / keep.sum(axis=1)
    rules = [verify.RULES[c] for c in verify.decide(f, a, b)]
    return dict(zip(pairs, zip(rules, f.plain_share[a], level, strict=True), strict=True))


def test_a_gamma_corrected_dark_wallpaper_is_one_picture(tmp_path):
    wall = _wallpaper()
    ((rule, plain, level),) = _pairs(tmp_path, {"gamma": (wall, _gamma(wall, 0.6))}).values()
    # mostly plain, and its plain parts moved by more than flat's levels
    assert plain >= 0.5 and level > verify.DEFAULT.flat_max_diff
    assert rule != "rejected"


def test_one_caption_or_logo_on_two_sheets_of_other_levels_is_not_one_picture(tmp_path):
    def sheet(rgb):
        return Image.new("RGB", (400, 300), rgb)

    got = _pairs(
        tmp_path,
        {
            "caption": (_caption(sheet((40, 50, 140))), _caption(sheet((80, 100, 220)))),
            "logo": (_logo(sheet((200, 200, 200))), _logo(sheet((150, 150, 150)))),
        },
    )
    for name, (rule, plain, level) in got.items():
        assert plain >= 0.5 and level > verify.DEFAULT.flat_max_diff, name
        assert rule == "rejected", name
