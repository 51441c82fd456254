"""No set holds two colour pictures that verification tells apart and that
only a colour-blind copy links (a grayscale copy is a copy of a paper in any
tint); copies of one picture with different edits stay in one set."""

from __future__ import annotations

import random

import numpy as np
from PIL import ImageOps
from test_texture import _caption, _paper, _signature

import imgdupes
from imgdupes import pipeline, verify

WARM, COOL = (230, 222, 205), (210, 224, 236)  # one luminance (222), two tints


def _save(folder, pictures: dict) -> list[str]:
    folder.mkdir()
    paths = []
    for name, img in pictures.items():
        path = folder / name
        img.save(path, **({"quality": 85} if name.endswith(".jpg") else {}))
        paths.append(str(path))
    return paths


def _rules(paths: list[str]) -> dict[tuple[str, str], str]:
    """Verification's verdict on every pair, compared directly."""
    f = verify.Features([_signature(p) for p in paths])
    names = [p.rsplit("/", 1)[-1] for p in paths]
    out = {}
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            out[names[i], names[j]] = verify.RULES[verify.decide(f, [i], [j])[0]]
    return out


def _no_split(monkeypatch):
    monkeypatch.setattr(pipeline, "split_bridged", lambda labels, signatures, keys: labels)


def _names(res) -> list[list[str]]:
    return [[p.rsplit("/", 1)[-1] for p in s] for s in res.sets]


def test_a_gray_copy_does_not_join_one_paper_in_two_tints(imgdupes, tmp_path, monkeypatch):
    warm, cool = _paper(1, WARM), _paper(1, COOL)
    root = tmp_path / "papers"
    paths = _save(
        root,
        {
            "warm.png": warm,
            "warm_q85.jpg": warm,
            "cool.png": cool,
            "cool_q85.jpg": cool,
            "cool_gray.jpg": cool.convert("L"),
        },
    )
    rules = _rules(paths)
    assert rules["warm.png", "cool.png"] == "rejected"  # the tints tell them apart
    # ... while the gray copy of the cool sheet is a copy of either
    assert rules["warm.png", "cool_gray.jpg"] != "rejected"
    assert rules["cool.png", "cool_gray.jpg"] != "rejected"
    res = imgdupes("--no-cache", str(root), "phash", "10")
    assert res.code == 0, res.err
    assert sorted(map(sorted, _names(res))) == [
        ["cool.png", "cool_gray.jpg", "cool_q85.jpg"],
        ["warm.png", "warm_q85.jpg"],
    ]
    _no_split(monkeypatch)  # pairwise links alone make one set of all five
    assert [sorted(s) for s in _names(imgdupes("--no-cache", str(root), "phash", "10"))] == [
        sorted(p.rsplit("/", 1)[-1] for p in paths)
    ]


def test_the_sets_do_not_depend_on_the_input_order(tmp_path):
    warm, cool = _paper(2, WARM), _paper(2, COOL)
    paths = _save(
        tmp_path / "papers",
        {
            "a_warm.png": warm,
            "b_warm_gray.jpg": warm.convert("L"),
            "c_cool.png": cool,
            "d_cool_q85.jpg": cool,
            "e_cool_gray.jpg": cool.convert("L"),
            "f_warm_q85.jpg": warm,
        },
    )
    seen = set()
    for seed in range(4):
        order = list(paths)
        random.Random(seed).shuffle(order)
        sets = imgdupes.find_duplicates(files=order, threshold=10, use_cache=False)
        seen.add(tuple(tuple(s.paths) for s in sets))
    assert len(seen) == 1
    (sets,) = seen
    names = sorted(sorted(p.rsplit("/", 1)[-1] for p in s) for s in sets)
    assert names == [
        ["a_warm.png", "b_warm_gray.jpg", "f_warm_q85.jpg"],
        ["c_cool.png", "d_cool_q85.jpg", "e_cool_gray.jpg"],
    ]


def _framed(img):
    w, h = img.size
    inner = img.resize((int(w * 0.9), int(h * 0.9)))
    return ImageOps.expand(inner, border=(int(w * 0.05), int(h * 0.05)), fill=0)


def test_copies_with_different_edits_stay_with_their_original(
    imgdupes, photo, tmp_path, monkeypatch
):
    pictures = {}
    for seed in (5, 11):
        img = photo(seed, (400, 300))
        pictures[f"p{seed}.png"] = img
        pictures[f"p{seed}_gray.jpg"] = img.convert("L")
        pictures[f"p{seed}_caption.jpg"] = _caption(img)
        pictures[f"p{seed}_border.jpg"] = _framed(img)
    root = tmp_path / "photos"
    paths = _save(root, pictures)
    rules = _rules(paths)
    for seed in (5, 11):
        # a caption and a frame are two edits: the copies are rejected, the
        # original (in colour) and the gray copy accept both
        assert rules[f"p{seed}_caption.jpg", f"p{seed}_border.jpg"] == "rejected"
    res = imgdupes("--no-cache", str(root), "phash", "10")
    assert res.code == 0, res.err
    assert [sorted(s) for s in _names(res)] == [
        sorted(n for n in pictures if n.startswith(f"p{seed}")) for seed in (11, 5)
    ]
    _no_split(monkeypatch)  # exactly the sets the pairwise links give
    assert imgdupes("--no-cache", str(root), "phash", "10").sets == res.sets


def test_files_without_signatures_are_left_as_they_are():
    from imgdupes.bridges import split_bridged

    labels = np.array([0, 0, 0, -1, 1, 1])
    # no signature to compare (hashes imported from a file): nothing is examined
    out = split_bridged(labels, [b""] * 6, [bytes([k]) for k in range(6)])
    assert out.tolist() == labels.tolist()
