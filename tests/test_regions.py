"""Extra candidates from region hashes: cropped, bordered and captioned copies."""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from imgdupes import hashes


def _family(root, img):
    w, h = img.size
    img.save(root / "orig.png")
    img.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(root / "crop.jpg", quality=90)
    ImageOps.expand(img, border=h // 20, fill=(0, 0, 0)).save(root / "border.jpg", quality=90)
    caption = img.copy()
    draw = ImageDraw.Draw(caption)
    draw.rectangle((0, h - round(0.15 * h), w, h), fill=(255, 255, 255))
    draw.text((w // 20, h - round(0.12 * h)), "when the build passes", fill=(0, 0, 0))
    caption.save(root / "caption.jpg", quality=90)
    return sorted(str(root / n) for n in ("orig.png", "crop.jpg", "border.jpg", "caption.jpg"))


def test_a_uniform_border_is_trimmed_and_a_picture_without_one_is_not():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, size=(100, 140), dtype=np.uint8)
    framed = np.pad(content, ((10, 10), (6, 6)), constant_values=3)
    assert hashes.trimmed_box(framed) == (6, 10, 146, 110)
    assert hashes.trimmed_box(content) == (0, 0, 140, 100)
    flat = np.full((50, 50), 200, dtype=np.uint8)  # all "border": kept whole
    assert hashes.trimmed_box(flat) == (0, 0, 50, 50)


def test_cropped_bordered_and_captioned_copies_are_found_at_phash_4(imgdupes, tmp_path, photo):
    family = _family(tmp_path, photo(21, (480, 360)))
    photo(22, (480, 360)).save(tmp_path / "other.png")
    alone = imgdupes("--no-verify", str(tmp_path), "phash", "4")
    assert all(len(s) < 4 for s in alone.sets), "the plain hash alone misses them"
    res = imgdupes("--json", str(tmp_path), "phash", "4")
    doc = json.loads(res.out)
    assert [sorted(f["path"] for f in s["files"]) for s in doc["sets"]] == [family]
    files = doc["sets"][0]["files"]
    assert "verified" not in files[0]  # the set's first file
    rules = {f["path"].rsplit("/", 1)[1]: f["verified"] for f in files[1:]}
    assert rules["crop.jpg"] == rules["border.jpg"] == "aligned", rules
    assert all(f["distance"] <= 4 for f in files), files  # in the form that linked them


def test_region_links_are_verified(imgdupes, tmp_path):
    """Pictures whose regions hash alike but are not one picture stay apart:
    two frames of one flat colour around different flat colours."""
    for n, colour in enumerate(((200, 30, 30), (30, 30, 200), (30, 200, 30))):
        img = Image.new("RGB", (300, 200), colour)
        ImageOps.expand(img, border=20, fill=(0, 0, 0)).save(tmp_path / f"framed{n}.png")
    assert imgdupes(str(tmp_path), "phash", "10").sets == []


def test_minus_n_leaves_copies_found_only_through_a_region(imgdupes, tmp_path, photo):
    """-dN acts unattended only where the plain or tone-normalised hash is
    within the threshold (and act-time confirmation agrees): a crop, a border
    or a caption is listed for a person to look at, not removed."""
    family = _family(tmp_path, photo(21, (480, 360)))
    listed = imgdupes(str(tmp_path), "phash", "4")
    assert [sorted(s) for s in listed.sets] == [family]
    imgdupes("-d", "-N", str(tmp_path), "phash", "4")
    assert all(os.path.exists(p) for p in family)
