"""The plan: which copy -N keeps, when it may remove one unattended, and that
every report says what -N does."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import brightening_chain
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from imgdupes.plan import jpeg_quality, parse_keep
from imgdupes.samples import brightened, make_samples, resized, synthetic_photo


def kept_and_removed(out: str) -> tuple[list[str], list[str]]:
    kept = re.findall(r"^   \[\+\] (.*)$", out, re.M)
    removed = [r.split(" -> ")[0] for r in re.findall(r"^   \[-\] (.*)$", out, re.M)]
    return kept, removed


def camera_exif(modified: str = "2020:05:01 10:00:00") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS 5D"  # Model
    exif[0x0132] = modified  # DateTime: when the file was last written
    exif.get_ifd(0x8769)[0x9003] = "2020:05:01 10:00:00"  # DateTimeOriginal
    return exif


def photo_family(root: Path, seed: int) -> tuple[Path, list[Path]]:
    """A camera original and the copies a photo library collects."""
    img = synthetic_photo(seed)
    orig = root / f"IMG_{seed:04d}.jpg"
    img.save(orig, quality=92, exif=camera_exif())
    small = root / f"web_{seed}.png"  # half size, yet larger on disk
    resized(img, 0.5).save(small)
    q40 = root / f"mail_{seed}.jpg"  # the camera's metadata kept, heavily recompressed
    img.save(q40, quality=40, exif=camera_exif())
    bright = root / f"edit_{seed}.jpg"  # same quality, metadata stripped by the editor
    brightened(img, 1.15).save(bright, quality=92)
    gray = root / f"bw_{seed}.jpg"  # grayscale, saved at a higher quality than the original
    img.convert("L").save(gray, quality=97)
    # an editor that keeps the camera's metadata, same quality, a larger file
    tuned = root / f"tuned_{seed}.jpg"
    ImageEnhance.Sharpness(img).enhance(1.5).save(
        tuned, quality=92, exif=camera_exif("2021:01:02 12:00:00")
    )
    copies = [small, q40, bright, gray, tuned]
    # the copies are newer than the original: a copy must not win on age alone
    for k, p in enumerate([orig, *copies]):
        os.utime(p, ns=(1_600_000_000_000_000_000 + k * 10**12,) * 2)
    assert small.stat().st_size > orig.stat().st_size
    return orig, copies


def test_n_keeps_the_full_size_original_over_every_kind_of_copy(imgdupes, tmp_path):
    root = tmp_path / "library"
    root.mkdir()
    families = [photo_family(root, seed) for seed in (3, 4)]
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "10")
    assert res.code == 0, res.err
    kept, removed = kept_and_removed(res.out)
    assert sorted(kept) == sorted(str(o) for o, _ in families)
    assert sorted(removed) == sorted(str(c) for _, cs in families for c in cs)
    for orig, copies in families:
        assert orig.exists() and not any(c.exists() for c in copies)


def test_dry_run_prints_the_plan_with_reasons_first(imgdupes, tmp_path):
    root = tmp_path / "library"
    root.mkdir()
    orig, (small, q40, bright, gray, tuned) = photo_family(root, 5)
    res = imgdupes("--no-cache", "-dN", "--dry-run", str(root), "phash", "10")
    assert res.code == 0, res.err
    head = res.out.split("\n\n")[1]  # after the line saying it is a dry run
    assert head.startswith("Plan: 1 set; keep 1 file, delete 5")
    reasons = dict(re.findall(r"^    (?:keep|delete) +(\S+) -- (.*)$", head, re.M))
    assert reasons[str(orig)].startswith("best copy")
    assert "more pixels (640x480 vs 320x240)" in reasons[str(small)]
    assert "JPEG quality ~92 vs ~40" in reasons[str(q40)]
    assert "colour, the other is grayscale" in reasons[str(gray)]
    assert "camera's metadata" in reasons[str(bright)]
    assert "not edited after it was taken" in reasons[str(tuned)]
    assert tuned.stat().st_size > orig.stat().st_size  # size alone would keep the edit
    assert all(p.exists() for p in (orig, small, q40, bright, gray, tuned))


def test_quick_start_samples_keep_the_full_size_photo(imgdupes, tmp_path):
    root = tmp_path / "samples"
    make_samples(str(root))
    res = imgdupes("--no-cache", "-rdN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert (root / "photo_00.jpg").exists()
    assert not (root / "copies" / "photo_00_small.png").exists()
    for n in range(6):
        assert (root / f"photo_{n:02d}.jpg").exists()
    assert not list((root / "copies").iterdir())


def test_prompt_suggests_the_plans_choice(imgdupes, tmp_path):
    root = tmp_path / "samples"
    make_samples(str(root), originals=1)
    res = imgdupes("--no-cache", "-rd", "--sort", "filesize", str(root), "phash", "4", stdin="q\n")
    # filesize order lists the half-size PNG first; the suggestion is the original
    lines = res.out.splitlines()
    number = next(ln.split("]")[0][1:] for ln in lines if ln.endswith("photo_00.jpg"))
    assert f"Suggested (what -N would keep): {number}" in res.out


def test_keep_rules_change_the_choice(imgdupes, tmp_path):
    archive = tmp_path / "archive"
    inbox = tmp_path / "inbox"
    archive.mkdir()
    inbox.mkdir()
    img = synthetic_photo(7, (320, 240))
    img.save(archive / "old.jpg", quality=60)
    img.save(inbox / "new.jpg", quality=95)
    os.utime(archive / "old.jpg", ns=(10**18, 10**18))
    args = [str(archive), str(inbox), "phash", "4"]
    res = imgdupes("--no-cache", "-dN", "--dry-run", "--keep", f"under:{archive}", *args)
    assert kept_and_removed(res.out)[0] == [str(archive / "old.jpg")]
    assert f"under {archive}" in res.out
    res = imgdupes("--no-cache", "-dN", "--dry-run", "--keep", "newest", *args)
    assert kept_and_removed(res.out)[0] == [str(inbox / "new.jpg")]
    res = imgdupes("--no-cache", "-dN", "--dry-run", "--keep", "smallest", *args)
    assert kept_and_removed(res.out)[0] == [str(archive / "old.jpg")]
    res = imgdupes("--no-cache", "-dN", "--dry-run", *args)  # default: better quality wins
    assert kept_and_removed(res.out)[0] == [str(inbox / "new.jpg")]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("biggest", "unknown rule 'biggest'"),
        ("pixels,,size", "empty rule"),
        ("under:", "under needs a folder"),
        ("size:3", "unknown rule 'size:3'"),
    ],
)
def test_bad_keep_rules_are_one_line_usage_errors(imgdupes, tmp_path, spec, message):
    res = imgdupes("--keep", spec, str(tmp_path), "phash", "4")
    assert res.code == 2
    assert message in res.err and res.err.count("\n") == 1


def test_keep_chain_appends_the_default_rules():
    names = [str(r) for r in parse_keep("newest")]
    assert names == ["newest", "pixels", "quality", "size", "path"]


def test_jpeg_quality_estimate_reads_pillows_tables(tmp_path):
    img = synthetic_photo(1, (64, 64))
    for q in (40, 75, 92, 100):
        img.save(tmp_path / "q.jpg", quality=q)
        with Image.open(tmp_path / "q.jpg") as im:
            assert jpeg_quality(im.quantization[0]) == q


def test_a_real_file_is_never_removed_in_favour_of_a_symlink(imgdupes, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(35)
    img.save(outside / "big.jpg", quality=95)  # more pixels and bytes than the real file
    os.symlink(outside / "big.jpg", root / "link.jpg")
    resized(img, 0.5).save(root / "only.jpg", quality=80)
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "6")
    assert res.code == 0, res.err
    assert (root / "only.jpg").exists() and (outside / "big.jpg").exists()
    assert not os.path.lexists(root / "link.jpg")  # the link goes, as a link


# --- surely a copy ----------------------------------------------------------------------------


def statement_pages(root: Path, count: int = 8) -> list[Path]:
    """Pages with one letterhead and different text: about 10% of pixels differ."""
    pages = []
    head = ImageFont.load_default(size=30)
    body = ImageFont.load_default(size=22)
    for i in range(count):
        rng = random.Random(i)
        im = Image.new("RGB", (850, 1100), "white")
        d = ImageDraw.Draw(im)
        d.rectangle([40, 40, 810, 150], fill=(20, 60, 140))
        d.text((60, 75), "ACME BANK  Statement of account", fill="white", font=head)
        for y in range(200, 1040, 30):
            words = " ".join(
                "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(7))
                for _ in range(6)
            )
            d.text((60, y), words, fill="black", font=body)
        p = root / f"statement_{i}.jpg"
        im.save(p, quality=90)
        pages.append(p)
    return pages


def test_pages_sharing_a_letterhead_are_listed_but_never_removed_unattended(imgdupes, tmp_path):
    root = tmp_path / "scans"
    root.mkdir()
    pages = statement_pages(root)
    a, b = (np.asarray(Image.open(p).convert("L")) > 128 for p in pages[:2])
    differ = int((a != b).sum())
    assert 0.05 < differ / (850 * 1100) < 0.2  # precondition: different text
    # The hash alone puts the pages in one set; verification tells them apart
    # (their fine detail differs), so -N has nothing to remove.
    listing = imgdupes("--no-cache", "--no-verify", str(root), "phash", "10")
    assert len(listing.sets) == 1 and len(listing.sets[0]) == 8
    assert imgdupes("--no-cache", str(root), "phash", "10").sets == []
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "10")
    assert res.code == 0, res.err
    assert all(p.exists() for p in pages)
    assert "[-]" not in res.out


def test_copies_of_a_page_are_still_removed(imgdupes, tmp_path):
    root = tmp_path / "scans"
    root.mkdir()
    pages = statement_pages(root, count=3)
    with Image.open(pages[0]) as im:
        im.save(root / "copy_q40.jpg", quality=40)
        resized(im, 0.5).save(root / "copy_half.jpg", quality=85)
        resized(im, 0.3).save(root / "copy_small.png")
        im.convert("L").save(root / "copy_gray.png")
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "10")
    assert res.code == 0, res.err
    assert sorted(p.name for p in root.iterdir()) == sorted(p.name for p in pages)


def _sky_object(shape: str, seed: int, size: int = 512) -> Image.Image:
    """A small bright object on a black sky with a few stars: what stellarium's
    nebula photos look like (most of the picture is empty)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - size / 2
    if shape == "round":  # a globular cluster
        sky = 230 * np.exp(-((np.hypot(x, y) / 16) ** 2))
    else:  # an edge-on galaxy
        sky = 220 * np.exp(-((x / 30) ** 2 + (y / 8) ** 2))
    for _ in range(40):
        sx, sy = rng.integers(0, size, 2)
        sky[sy, sx] = rng.integers(80, 255)
    rgb = np.stack([sky * 0.6, sky, sky * 0.9], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_small_objects_on_a_dark_sky_are_not_surely_one_picture(tmp_path, seed):
    # Two different objects a few blocks wide on black: 16-px blocks of the 256 grid
    # averaged their difference into the empty sky around them, and -N deleted
    # one distinct astrophotograph as a copy of another.
    from imgdupes.confirm import Confirmer

    cluster, galaxy = tmp_path / "cluster.png", tmp_path / "galaxy.png"
    _sky_object("round", seed).save(cluster)
    _sky_object("flat", seed + 10).save(galaxy)
    verdict = Confirmer().same_picture(str(cluster), str(galaxy))
    assert not verdict.ok and "differs in places" in verdict.why
    # the figure it gives reads as over its limit (not "0.12, limit 0.12")
    value, limit = re.search(r"block ([\d.]+), limit ([\d.]+)", verdict.why).groups()
    assert float(value) > float(limit)
    # while the galaxy's own copies are still surely copies
    with Image.open(galaxy) as im:
        im.save(tmp_path / "q40.jpg", quality=40)
        brightened(im, 1.25).save(tmp_path / "bright.jpg", quality=90)
        resized(im, 0.5).save(tmp_path / "half.png")
    c = Confirmer()
    for name in ("q40.jpg", "bright.jpg", "half.png"):
        assert c.same_picture(str(galaxy), str(tmp_path / name)).ok, name


def test_a_colour_photo_mostly_black_is_kept_over_its_grayscale_copy(imgdupes, tmp_path):
    # A small coloured object on a dark sky: its mean colour over the whole
    # picture is that of a gray one, and -N kept the grayscale PNG (lossless)
    # and deleted the colour JPEG.
    from imgdupes import signature
    from imgdupes.decode import decode
    from imgdupes.verify import Features

    root = tmp_path / "sky"
    root.mkdir()
    y, x = np.mgrid[0:512, 0:512].astype(np.float64) - 256
    glow = 230 * np.exp(-((np.hypot(x, y) / 24) ** 2))  # a green planetary nebula
    rgb = np.stack([glow * 0.2, glow, glow * 0.7], axis=-1)
    photo = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    photo.save(root / "galaxy.jpg", quality=92)
    photo.convert("L").save(root / "galaxy_gray.png")
    d = decode(str(root / "galaxy.jpg"), reduce_to=256)
    assert Features([signature.compute(d.color, d.gray)]).saturation[0] < 1.5  # precondition
    plan = imgdupes("--no-cache", "-dN", "--dry-run", str(root), "phash", "4")
    assert "keep    " + str(root / "galaxy.jpg") + " -- best copy (colour" in plan.out
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(p.name for p in root.iterdir()) == ["galaxy.jpg"]


def test_a_gray_photo_outranks_its_copy_with_a_coloured_logo(imgdupes, tmp_path):
    # The logo is the only colour of the copy: it must not make the stamped copy
    # "colour" and the picture it was stamped on "grayscale".
    root = tmp_path / "scans"
    root.mkdir()
    gray = synthetic_photo(7).convert("L").convert("RGB")
    gray.save(root / "scan.png")
    stamped = gray.copy()
    w, h = stamped.size
    ImageDraw.Draw(stamped).rectangle([w - w // 8, h - h // 8, w - 4, h - 4], fill=(220, 30, 30))
    stamped.save(root / "scan_logo.jpg", quality=92)
    plan = imgdupes("--no-cache", "-dN", "--dry-run", str(root), "phash", "10")
    assert plan.code == 0, plan.err
    assert "keep    " + str(root / "scan.png") + " -- best copy" in plan.out


def test_benign_copies_are_still_removed(imgdupes, dupe_tree):
    root, families = dupe_tree
    for n, fam in enumerate(families):
        orig = next(p for p in fam if p.endswith("_orig.jpg"))
        with Image.open(orig) as im:
            im.convert("L").save(root / f"fam{n}_gray.jpg", quality=90)
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    kept, removed = kept_and_removed(res.out)
    assert sorted(kept) == sorted(p for fam in families for p in fam if p.endswith("_orig.jpg"))
    assert len(removed) == 12 and "not surely a copy" not in res.out


# --- one plan, every report ------------------------------------------------------------------


def _chain(folder: Path) -> list[Path]:
    return brightening_chain(folder, (320, 240))


def _page_marks(page: str) -> dict[str, int]:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m
    return {f["p"]: f["k"] for s in json.loads(m.group(1))["sets"] for f in s}


def test_reports_on_a_chain_say_what_n_does(imgdupes, tmp_path):
    root = tmp_path / "chain"
    root.mkdir()
    a, b, c = _chain(root)
    html, csv_path = tmp_path / "r.html", tmp_path / "r.csv"
    args = ["--no-verify", "--keep", "path", str(root), "phash", "4"]
    res = imgdupes("--json", "--html", str(html), "--csv", str(csv_path), *args)
    doc = json.loads(res.out)
    keep = {f["path"]: f["keep"] for s in doc["sets"] for f in s["files"]}
    assert keep == {str(a): True, str(b): False, str(c): True}
    assert _page_marks(html.read_text()) == {str(a): 1, str(b): 0, str(c): 1}
    size_b = b.stat().st_size
    assert "-N would remove 1 file: that would free" in html.read_text()
    assert f"({size_b} bytes)" in html.read_text()
    csv_keep = {
        line.split(",")[1]: line.split(",")[7] for line in csv_path.read_text().splitlines()[1:]
    }
    assert csv_keep == {str(a): "1", str(b): "0", str(c): "1"}
    res = imgdupes("-dN", *args)
    assert a.exists() and not b.exists() and c.exists()


def test_reports_keep_a_reference_file(imgdupes, tmp_path):
    ref = tmp_path / "archive"
    ref.mkdir()
    root = tmp_path / "inbox"
    root.mkdir()
    img = synthetic_photo(41, (320, 240))
    img.save(ref / "keep.jpg", quality=40)  # the worst copy, but a reference
    img.save(root / "copy95.jpg", quality=95)
    html = tmp_path / "r.html"
    res = imgdupes("--json", "--html", str(html), "--reference", str(ref), str(root), "phash", "4")
    files = {f["path"]: f for s in json.loads(res.out)["sets"] for f in s["files"]}
    assert files[str(ref / "keep.jpg")]["keep"] is True
    assert files[str(ref / "keep.jpg")]["reference"] is True
    assert files[str(root / "copy95.jpg")]["keep"] is False
    marks = _page_marks(html.read_text())
    assert marks == {str(ref / "keep.jpg"): 2, str(root / "copy95.jpg"): 0}


def test_rotations_let_n_remove_turned_copies(imgdupes, tmp_path):
    root = tmp_path / "turned"
    root.mkdir()
    img = synthetic_photo(3)
    img.save(root / "a.jpg", quality=95)
    img.rotate(90, expand=True).save(root / "b.jpg", quality=80)
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "c.jpg", quality=80)
    res = imgdupes("--no-cache", "-dN", "--rotations", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(p.name for p in root.iterdir()) == ["a.jpg"]


def test_plans_made_in_parallel_equal_the_plans_made_in_order(dupe_tree, monkeypatch):
    import imgdupes.plan as plan
    from imgdupes.config import Config
    from imgdupes.pipeline import find

    root, _ = dupe_tree
    config = Config(targets=[str(root)], threshold=4, num_proc=2, use_cache=False)
    result, data = find(config)
    result.sets = result.sets * 6  # enough sets to be planned in worker processes

    def decisions(plans):
        return [
            [(a.kind, a.reason, [k.path for k in a.kept_for or []]) for a in p.actions]
            for p in plans
        ]

    monkeypatch.setattr(plan, "PARALLEL_MIN_SETS", 10**9)
    in_order = plan.plan_sets(config, result, data)
    monkeypatch.setattr(plan, "PARALLEL_MIN_SETS", 16)
    parallel = plan.plan_sets(config, result, data)
    assert decisions(parallel) == decisions(in_order)
    for p, s in zip(parallel, result.sets, strict=True):
        assert all(a.entry is e for a, e in zip(p.actions, s, strict=True))


def _near_entries(tmp_path: Path, count: int) -> list:
    from imgdupes.model import FileRecord, SetEntry

    entries = []
    for k in range(count):
        path = tmp_path / f"p{k:03d}.jpg"
        path.write_bytes(b"\xff")
        st = path.stat()
        record = FileRecord(str(path), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
        # one hash for all: every file is within the radius of every other
        entries.append(
            SetEntry(str(path), 1, 10, 10, st.st_mtime_ns, "00" * 8, 0, record, bytes(8))
        )
    return entries


def test_a_dense_set_nothing_confirms_is_planned_in_linear_checks(tmp_path):
    """250 near-identical files none of which confirm another (bursts, pages of one
    layout): every file is kept, and the checks grow with the set, not its square
    (checking each file against every kept one took minutes for a --json report)."""
    from imgdupes.plan import MAX_CHECKED, Planner

    entries = _near_entries(tmp_path, 250)
    checks = {"similar": 0, "confirm": 0}

    def similar(a, b):
        checks["similar"] += 1
        return True

    def confirm(a, b):
        checks["confirm"] += 1
        return False, "differs in places"

    plan = Planner(radius=4, similar=similar, confirm=confirm).plan(entries, [False] * 250)
    assert plan.removed == []
    assert len(plan.notes) == 249  # every file but the best says why it stayed
    assert checks["confirm"] <= 250 * MAX_CHECKED
    assert checks["similar"] <= 250 * MAX_CHECKED


def test_a_removed_file_is_vouched_for_by_kept_files_only(tmp_path):
    """Confirmation accepts one file in three: whatever -N removes has a kept,
    confirmed copy, nearest first, and nothing else goes."""
    from imgdupes.plan import SURE_ENOUGH, Planner

    entries = _near_entries(tmp_path, 60)
    number = {e.path: k for k, e in enumerate(entries)}

    def confirm(a, b):
        return number[b.path] % 3 == 0, "differs in places"

    plan = Planner(radius=4, similar=lambda a, b: True, confirm=confirm).plan(entries, [False] * 60)
    kept = {a.entry.path for a in plan.actions if not a.remove}
    assert plan.removed
    for a in plan.removed:
        assert a.kept_for and len(a.kept_for) <= SURE_ENOUGH
        assert all(k.path in kept and number[k.path] % 3 == 0 for k in a.kept_for)


def test_a_file_that_cannot_be_read_again_is_kept_without_checks(tmp_path):
    from imgdupes.plan import Planner

    entries = _near_entries(tmp_path, 30)
    calls = []
    planner = Planner(
        radius=4,
        similar=lambda a, b: calls.append("similar") or True,
        confirm=lambda a, b: (calls.append("confirm") or True, ""),
        unconfirmable=lambda e: "cannot read it again to confirm (truncated)",
    )
    plan = planner.plan(entries, [False] * 30)
    assert plan.removed == [] and calls == []
    assert all("cannot read it again" in note for note in plan.notes)
