"""Brightened and contrast-stretched copies are found through the tone-normalised hash."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from imgdupes import hashes
from imgdupes.samples import brightened

# Pictures whose x1.3 brightened copy is 6 bits from them in phash, 2 in the ranks' hash.
SEEDS = (3, 44)


def _tree(tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    for s in SEEDS:
        img = photo(s)
        img.save(root / f"p{s}.png")
        brightened(img, 1.3).save(root / f"p{s}_bright.png")
    photo(7).save(root / "other.png")
    return root


def test_ranks_ignore_order_keeping_tone_changes():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 200, size=(32, 32)).astype(np.uint8)
    gamma = 255 * (pixels / 255.0) ** 0.6  # strictly increasing: no two levels merge
    assert np.array_equal(hashes._ranks(pixels), hashes._ranks(gamma))
    flat = hashes._ranks(np.full((32, 32), 9, dtype=np.uint8))
    assert np.all(flat == flat[0, 0])  # a flat picture stays flat


def test_brightened_copies_found_at_phash_4(imgdupes, photo, tmp_path):
    root = _tree(tmp_path, photo)
    for s in SEEDS:  # the plain hashes alone are beyond 4
        a = hashes.compute_all(("phash",), photo(s).convert("L"), 8)
        b = hashes.compute_all(("phash",), brightened(photo(s), 1.3).convert("L"), 8)
        assert hashes.hamming(hashes.pack(a["phash"]), hashes.pack(b["phash"])) > 4
    res = imgdupes("--no-cache", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert res.sets == [[str(root / f"p{s}.png"), str(root / f"p{s}_bright.png")] for s in SEEDS]
    listing = json.loads(imgdupes("--no-cache", "--json", str(root), "phash", "4").out)
    for s in listing["sets"]:
        assert [f["distance"] for f in s["files"]] == [0, 2]  # in the nearer form
    turned = imgdupes("--no-cache", "--rotations", str(root), "phash", "4")
    assert turned.sets == res.sets  # --rotations searches the tone form too
    # without verification the tone search is off: plain phash only
    assert imgdupes("--no-cache", "--no-verify", str(root), "phash", "4").sets == []


def test_query_finds_the_brightened_copy(imgdupes, photo, tmp_path):
    root = _tree(tmp_path, photo)
    res = imgdupes("--no-cache", "--query", str(root / "p3.png"), str(root), "phash", "4")
    assert res.code == 0, res.err
    assert str(root / "p3_bright.png") in res.out
    assert str(root / "p44.png") not in res.out


def test_delete_keeps_one_of_each_picture(imgdupes, photo, tmp_path):
    root = _tree(tmp_path, photo)
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(p.name for p in root.iterdir()) == ["other.png", "p3.png", "p44.png"]


def test_low_detail_pictures_of_other_colours_stay_apart(imgdupes, tmp_path):
    """The ranks of every left-to-right gradient are alike, and of every flat
    picture identical: verification has to keep them apart."""
    root = tmp_path / "plain"
    root.mkdir()
    ramp = np.linspace(0.0, 1.0, 320)[None, :, None]
    colours = [(255, 0, 0), (0, 160, 255), (30, 200, 40), (250, 220, 0), (120, 0, 160)]
    for k, (r, g, b) in enumerate(colours):
        arr = np.broadcast_to(ramp * np.array([r, g, b]), (240, 320, 3))
        Image.fromarray(arr.astype(np.uint8), "RGB").save(root / f"grad{k}.png")
        Image.new("RGB", (320, 240), (r, g, b)).save(root / f"flat{k}.png")
    for threshold in ("4", "10"):
        res = imgdupes("--no-cache", str(root), "phash", threshold)
        assert res.code == 0, res.err
        assert res.sets == [], threshold
