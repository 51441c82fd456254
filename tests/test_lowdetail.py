"""The low-detail pictures' candidate source (imgdupes.lowdetail): a paper's
copies that the plain phash puts far away are found, each still verified."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

import imgdupes
from imgdupes import hashes, lowdetail
from imgdupes.hasher import HashSpec, hash_path
from imgdupes.samples import synthetic_photo


def paper(seed: int, size=(480, 360), level: float = 205.0, amp: float = 2.5) -> Image.Image:
    """A pale paper: a soft pattern a few levels strong, in a faint tint."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (size[1] // 6, size[0] // 6))
    soft = Image.fromarray(np.clip(128 + 40 * noise, 0, 255).astype(np.uint8))
    g = np.asarray(soft.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    g = (g - g.mean()) / g.std()
    rgb = np.stack([level + amp * g + d for d in (6, 0, -8)], axis=2)
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def papers(tmp_path_factory):
    d = tmp_path_factory.mktemp("papers")
    a = paper(1)
    w, h = a.size
    a.save(d / "a.jpg", quality=92)
    paper(2).save(d / "b.jpg", quality=92)  # another paper of the same tint and level
    a.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(d / "a_crop.jpg", quality=92)
    ImageOps.expand(a, border=w // 20, fill=(0, 0, 0)).save(d / "a_border.jpg", quality=92)
    a.save(d / "a_q40.jpg", quality=40)
    return d


def _hashes(path) -> dict[str, bytes]:
    ok, record, _, _ = hash_path(str(path), HashSpec(("phash",), 64, full_decode=False))
    assert ok
    return record.hashes


def _names(sets) -> list[list[str]]:
    return [sorted(p.rsplit("/", 1)[-1] for p in s.paths) for s in sets]


def test_copies_of_a_paper_the_plain_hash_puts_far_apart_are_one_set(papers):
    # the premise: the plain phash alone cannot link the crop and the frame at t=4
    plain = _hashes(papers / "a.jpg")["phash"]
    for name in ("a_crop.jpg", "a_border.jpg"):
        assert hashes.hamming(plain, _hashes(papers / name)["phash"]) > 4
    for t in (4, 10):
        sets = _names(imgdupes.find_duplicates(str(papers), "phash", t, use_cache=False))
        assert sets == [["a.jpg", "a_border.jpg", "a_crop.jpg", "a_q40.jpg"]], t


def test_an_exact_search_and_the_hash_alone_get_no_extra_candidates(papers):
    assert _names(imgdupes.find_duplicates(str(papers), "phash", 0, use_cache=False)) == []
    unverified = imgdupes.find_duplicates(str(papers), "phash", 4, use_cache=False, verify=False)
    assert ["a.jpg", "a_border.jpg", "a_crop.jpg", "a_q40.jpg"] not in _names(unverified)


def test_photos_get_no_texture_hash_so_a_folder_of_photos_adds_no_search(tmp_path):
    for k in range(3):
        synthetic_photo(50 + k, (320, 240)).save(tmp_path / f"p{k}.jpg", quality=90)
    for k in range(3):
        got = _hashes(tmp_path / f"p{k}.jpg")
        assert got["phash@texture"] == got["phash@texture_inner"] == bytes(lowdetail.NBYTES)


def test_the_texture_hash_ignores_a_tone_change_and_tells_papers_apart(papers, tmp_path):
    a = Image.open(papers / "a.jpg").convert("RGB")
    ImageOps.grayscale(a).save(tmp_path / "gray.png")
    a.point(lambda v: min(255, int(v * 1.1))).save(tmp_path / "bright.png")
    own = _hashes(papers / "a.jpg")["phash@texture"]
    for name in ("gray.png", "bright.png"):
        assert hashes.hamming(own, _hashes(tmp_path / name)["phash@texture"]) <= lowdetail.RADIUS
    other = _hashes(papers / "b.jpg")["phash@texture"]
    assert hashes.hamming(own, other) > 2 * lowdetail.RADIUS


def test_edge_padding_is_numpys():
    from imgdupes.lowdetail import _edge_padded

    rng = np.random.default_rng(0)
    for shape in [(1, 16, 16), (4, 16, 16), (2, 3, 7)]:
        for dtype in (np.float32, np.uint8, bool):
            a = (rng.random(shape) * 255).astype(dtype)
            assert np.array_equal(_edge_padded(a), np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="edge"))
