"""The accuracy benchmark's data set and metrics: labels a user can trust.

The figures in the README come from ``benchmarks/accuracy.py``; these tests
check that the data set it builds is what it claims (every transform present,
the EXIF-rotated copy really shows the picture upright, one family label per
original and its copies) and that precision and recall are counted right.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import accuracy  # noqa: E402
import accuracy_data as data  # noqa: E402


@pytest.fixture(scope="module")
def quick_tune(tmp_path_factory):
    root = tmp_path_factory.mktemp("acc")
    items = data.build(str(root), "tune", quick=True)
    return root / "tune", items


def test_every_photo_family_has_every_transform(quick_tune):
    folder, items = quick_tune
    by_family: dict[str, set[str]] = {}
    for it in items:
        by_family.setdefault(it.family, set()).add(it.transform)
        assert (folder / it.name).is_file(), it.name
    photo_families = {it.family for it in items if it.kind in data.PHOTO_KINDS}
    assert photo_families
    for fam in photo_families:
        assert by_family[fam] == {"original", *data.TRANSFORMS}, fam


def test_labels_are_consistent(quick_tune):
    folder, items = quick_tune
    # one file per name, every file on disk is labelled, one original per family
    assert len({it.name for it in items}) == len(items)
    assert {p.name for p in folder.iterdir()} == {it.name for it in items}
    originals = Counter(it.family for it in items if it.transform == "original")
    assert set(originals) == {it.family for it in items}
    assert set(originals.values()) == {1}
    # one kind per family, and the file name says the family and transform
    kinds: dict[str, set[str]] = {}
    for it in items:
        kinds.setdefault(it.family, set()).add(it.kind)
        assert it.name.startswith(f"{it.family}__{it.transform}.")
    assert all(len(k) == 1 for k in kinds.values())
    # hard negatives of every low-detail kind, each its own family
    negative_kinds = {it.kind for it in items if it.kind not in data.PHOTO_KINDS}
    assert negative_kinds >= {"flat", "linear_gradient", "stripes", "shapes", "wallpaper"}
    assert {"theme_light", "theme_dark"} <= negative_kinds


def test_exif_rotated_copy_decodes_upright(quick_tune):
    folder, items = quick_tune
    rotated = [it for it in items if it.transform == "exif_rotated"]
    assert rotated
    orientations = set()
    for it in rotated:
        original = folder / f"{it.family}__original.jpg"
        with Image.open(original) as im:
            upright = np.asarray(im.convert("L"), dtype=np.float64)
        with Image.open(folder / it.name) as im:
            orientations.add(im.getexif().get(0x0112))
            assert im.size == (upright.shape[0], upright.shape[1])  # stored on its side
            shown = np.asarray(ImageOps.exif_transpose(im).convert("L"), dtype=np.float64)
        assert shown.shape == upright.shape
        # JPEG noise only: the same picture, not a rotated one
        assert np.abs(shown - upright).mean() < 4
    assert orientations == {6, 8}


def test_light_and_dark_variants_share_a_layout(quick_tune):
    folder, items = quick_tune
    light = next(it for it in items if it.kind == "theme_light" and it.transform == "original")
    dark = folder / light.name.replace("_light__", "_dark__")
    with Image.open(folder / light.name) as a, Image.open(dark) as b:
        assert a.size == b.size
        la = np.asarray(a.convert("L"), dtype=np.float64)
        lb = np.asarray(b.convert("L"), dtype=np.float64)
    assert la.mean() > lb.mean() + 60  # a light and a dark theme
    # same geometry: the luminance maps are strongly (anti-)correlated
    assert abs(np.corrcoef(la.ravel(), lb.ravel())[0, 1]) > 0.8


def _items(spec: dict[str, list[str]]) -> list[data.Item]:
    """{family: [transforms]} -> items named ``family__transform.jpg``."""
    return [
        data.Item(f"{fam}__{t}.jpg", fam, "photo" if fam.startswith("p") else "flat", t, "tune")
        for fam, ts in spec.items()
        for t in ts
    ]


def test_pair_precision_and_recall_on_a_hand_made_example():
    items = _items(
        {
            "p1": ["original", "jpeg_q40", "mirror"],
            "p2": ["original", "blur"],
            "f1": ["original"],
            "f2": ["original"],
        }
    )
    sets = [
        # p1's original and q40 copy, plus p2's blur copy (a false merge)
        ["p1__original.jpg", "p1__jpeg_q40.jpg", "p2__blur.jpg"],
        # two unrelated flat pictures
        ["f1__original.jpg", "f2__original.jpg"],
    ]
    sc = accuracy.score(sets, items, {("f1__original.jpg", "f2__original.jpg"): 0})
    # predicted pairs: 3 + 1 = 4; correct: (p1 orig, p1 q40) = 1
    assert sc.predicted_pairs == 4
    assert sc.correct_pairs == 1
    assert sc.precision == pytest.approx(1 / 4)
    # same-family pairs: p1 has 3 files -> 3 pairs, p2 has 2 -> 1 pair
    assert sc.true_pairs == 4
    assert sc.recall == pytest.approx(1 / 4)
    assert sc.mixed_sets == 2
    assert len(sc.false_pairs) == 3
    flat_pair = next(fp for fp in sc.false_pairs if fp.a.kind == "flat")
    assert flat_pair.distance == 0
    # per transform: the q40 copy is with its original, the mirror is not,
    # the blur copy is in a set but not its original's
    assert sc.transform_recall("photo", "jpeg_q40") == 1.0
    assert sc.transform_recall("photo", "mirror") == 0.0
    assert sc.transform_recall("photo", "blur") == 0.0
    assert sc.transform_recall("photo", "png") is None


def test_perfect_and_empty_results():
    items = _items({"p1": ["original", "png"], "p2": ["original", "webp"]})
    perfect = accuracy.score(
        [["p1__original.jpg", "p1__png.jpg"], ["p2__webp.jpg", "p2__original.jpg"]], items
    )
    assert (perfect.precision, perfect.recall, perfect.mixed_sets) == (1.0, 1.0, 0)
    nothing = accuracy.score([], items)
    assert nothing.precision is None  # no pairs claimed: precision undefined, not 0 or 1
    assert nothing.recall == 0.0


def test_unlabelled_file_is_an_error():
    items = _items({"p1": ["original"]})
    with pytest.raises(ValueError, match="without a label"):
        accuracy.score([["p1__original.jpg", "stray.jpg"]], items)


def test_quick_benchmark_runs_end_to_end(quick_tune):
    """The benchmark's own path through find_duplicates on the quick set:
    planted JPEG copies are found, and the figures are well-formed."""
    folder, items = quick_tune
    sc, _ = accuracy.run_one(str(folder), items, "phash", 4, True, False, 1)
    assert sc.transform_recall("photo", "jpeg_q40") == 1.0
    assert 0 < sc.precision <= 1
    assert 0 < sc.recall <= 1
