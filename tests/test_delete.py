"""-d: the prompt, -N, --dry-run, --trash, --move-to, --reference, --log.

Most tests try to make the tool lose a picture (links, hard links, files
changed or removed between the scan and the action, unwritable folders) and
then check that every distinct picture is still reachable by opening what is
left on disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import brightening_chain, needs
from PIL import Image

from imgdupes.act import move_destination, run_delete
from imgdupes.config import Config
from imgdupes.pipeline import find
from imgdupes.plan import Planner, plan_sets
from imgdupes.samples import resized, synthetic_photo

SIZE = (320, 240)
SRC = str(Path(__file__).resolve().parent.parent / "src")


# --- helpers -----------------------------------------------------------------------------------


def digest(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_family(folder: Path, name: str, seed: int) -> list[Path]:
    """An original and two near-duplicates (recompressed, half size), largest first."""
    img = synthetic_photo(seed, SIZE)
    orig = folder / f"{name}_orig.jpg"
    img.save(orig, quality=95)
    q50 = folder / f"{name}_q50.jpg"
    img.save(q50, quality=50)
    small = folder / f"{name}_small.jpg"
    resized(img, 0.5).save(small, quality=85)
    assert orig.stat().st_size > q50.stat().st_size > small.stat().st_size
    return [orig, q50, small]


def snapshot(root: Path) -> dict[str, str | None]:
    """Every name under root -> content digest (following links; None if dangling)."""
    found: dict[str, str | None] = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            found[str(p)] = digest(p) if p.exists() else None
    return found


def assert_pictures_survive(root: Path, pictures: list[set[str]]) -> None:
    """Each group of digests (one distinct picture and its copies) still has a
    member on disk, and no name left under root dangles."""
    now = snapshot(root)
    dangling = [p for p, d in now.items() if d is None]
    assert not dangling, f"dangling links left: {dangling}"
    left = set(now.values())
    for group in pictures:
        assert group & left, "a distinct picture was lost"
        # and it still opens as a picture
        path = next(p for p, d in now.items() if d in group)
        with Image.open(path) as im:
            im.load()


def kept_and_removed(out: str) -> tuple[list[str], list[str]]:
    kept = re.findall(r"^   \[\+\] (.*)$", out, re.M)
    removed = [r.split(" -> ")[0] for r in re.findall(r"^   \[-\] (.*)$", out, re.M)]
    return kept, removed


@pytest.fixture
def two_sets(tmp_path):
    """pics/ with families a and b (3 files each) and one unrelated picture."""
    root = tmp_path / "pics"
    root.mkdir()
    fam_a = make_family(root, "a", 11)
    fam_b = make_family(root, "b", 12)
    synthetic_photo(13, SIZE).save(root / "single.jpg", quality=90)
    return root, fam_a, fam_b


def groups_of(*families: list[Path]) -> list[set[str]]:
    return [{digest(p) for p in fam} for fam in families]


# --- the prompt ----------------------------------------------------------------------------------

# With --sort filepath, set 1 lists a_orig.jpg, a_q50.jpg, a_small.jpg as [1] [2] [3].
A_NAMES = ["a_orig.jpg", "a_q50.jpg", "a_small.jpg"]


@pytest.mark.parametrize(
    "answer, kept",
    [
        ("1", {1}),
        ("1,3", {1, 3}),
        ("1 3", {1, 3}),
        (" 3 , 1 ", {1, 3}),
        ("2-3", {2, 3}),
        ("1-2,3", {1, 2, 3}),
        ("all", {1, 2, 3}),
        ("a", {1, 2, 3}),
        ("ALL", {1, 2, 3}),
        ("1,9", {1}),  # out of range numbers are ignored
        ("9\n2", {2}),  # nothing valid left: asked again
        ("zz\n3", {3}),  # not understood: asked again (x means "not duplicates")
        ("\n2", {2}),  # empty line: asked again
        ("none\ny", set()),
        ("n\nyes", set()),
        ("none\nn\n1", {1}),  # not confirmed: asked again
        ("none\n\n2", {2}),
    ],
)
def test_prompt_answers(imgdupes, two_sets, answer, kept):
    root, fam_a, fam_b = two_sets
    groups = groups_of(fam_a, fam_b)
    res = imgdupes("-d", "--sort", "filepath", str(root), "phash", "4", stdin=answer + "\nall\n")
    assert res.code == 0, res.err
    assert "Set 1 of 2, preserve files [1 - 3, all, none, quit]: " in res.out
    left = {p.name for p in root.iterdir()}
    for number, name in enumerate(A_NAMES, start=1):
        assert (name in left) == (number in kept), (answer, name, res.out)
    # the second set was answered "all": untouched
    assert all(p.exists() for p in fam_b)
    assert (root / "single.jpg").exists()
    k, r = kept_and_removed(res.out)
    assert sorted(Path(p).name for p in r) == [A_NAMES[i - 1] for i in range(1, 4) if i not in kept]
    if not kept:
        assert "Remove all 3 removable files of this set? [y/N]" in res.out
    else:
        assert_pictures_survive(root, groups)


def test_prompt_rejects_garbage_with_a_hint(imgdupes, two_sets):
    root, _, _ = two_sets
    res = imgdupes("-d", str(root), "phash", "4", stdin="keep the big one\nall\nall\n")
    assert "Please answer with file numbers" in res.out
    assert res.out.count("Set 1 of 2, preserve files") == 2


def test_listing_shows_size_pixels_distance_and_path(imgdupes, two_sets):
    root, fam_a, _ = two_sets
    res = imgdupes("-d", "--sort", "filepath", str(root), "phash", "4", stdin="all\nall\n")
    size_kb = fam_a[0].stat().st_size / 1000  # the same kB as the summaries and the report
    line = next(x for x in res.out.splitlines() if x.endswith("a_orig.jpg"))
    assert line.startswith("[1] ")
    assert f"{size_kb:.1f} kB" in line
    assert "320x240" in line and "d=0" in line
    small = next(x for x in res.out.splitlines() if x.endswith("a_small.jpg"))
    assert small.startswith("[3] ") and "160x120" in small
    assert re.search(r"d=\d+", small)
    assert "Deleted 0 files, freed 0 bytes." in res.out


def test_quit_stops_and_deletes_nothing_more(imgdupes, two_sets):
    root, fam_a, fam_b = two_sets
    before = snapshot(root)
    res = imgdupes("-d", str(root), "phash", "4", stdin="q\n1\n1\n")
    assert res.code == 0
    assert snapshot(root) == before
    assert "Set 2 of 2" not in res.out


def test_quit_after_a_set_keeps_the_first_sets_result(imgdupes, two_sets):
    root, fam_a, fam_b = two_sets
    res = imgdupes("-d", "--sort", "filepath", str(root), "phash", "4", stdin="1\nquit\n")
    assert [p.exists() for p in fam_a] == [True, False, False]
    assert all(p.exists() for p in fam_b)
    assert "Deleted 2 files" in res.out


def test_end_of_input_stops_without_deleting(imgdupes_proc, two_sets, tmp_path):
    root, _, _ = two_sets
    before = snapshot(root)
    res = imgdupes_proc("-d", str(root), "phash", "4", stdin=b"", cwd=str(tmp_path))
    assert res.code == 0, res.err
    assert "end of input" in res.err
    assert "Traceback" not in res.err
    assert snapshot(root) == before


def test_end_of_input_at_the_none_confirmation_deletes_nothing(imgdupes_proc, two_sets, tmp_path):
    root, _, _ = two_sets
    before = snapshot(root)
    res = imgdupes_proc("-d", str(root), "phash", "4", stdin=b"none\n", cwd=str(tmp_path))
    assert res.code == 0, res.err
    assert snapshot(root) == before


def test_subdirectory_warning_and_its_switch(imgdupes, tmp_path):
    root = tmp_path / "pics"
    (root / "sub").mkdir(parents=True)
    img = synthetic_photo(21, SIZE)
    img.save(root / "x.jpg", quality=95)
    img.save(root / "sub" / "x_copy.jpg", quality=60)
    res = imgdupes("-dr", str(root), "phash", "4", stdin="all\n")
    assert "WARNING! Found similar images in different subdirectories: 1 of 1 sets" in res.err
    assert "WARNING" not in res.out
    res = imgdupes("-dr", "--no-subdir-warning", str(root), "phash", "4", stdin="all\n")
    assert "WARNING" not in res.err


def test_summarize_with_delete_is_refused(imgdupes, two_sets):
    root, _, _ = two_sets
    before = snapshot(root)
    res = imgdupes("-dm", str(root), "phash", "4", stdin="1\n1\n")
    assert res.code == 2
    assert "not compatible" in res.err
    assert snapshot(root) == before


# --- -N -------------------------------------------------------------------------------------------


def test_noprompt_keeps_one_of_each_set_and_reports_what_it_freed(imgdupes, two_sets):
    root, fam_a, fam_b = two_sets
    groups = groups_of(fam_a, fam_b)
    sizes = {str(p): p.stat().st_size for p in fam_a + fam_b}
    res = imgdupes("-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    kept, removed = kept_and_removed(res.out)
    # default --sort filesize: the largest of each family is kept
    assert set(kept) == {str(fam_a[0]), str(fam_b[0])}
    assert all(not Path(p).exists() for p in removed)
    freed = sum(sizes[p] for p in removed)
    assert f"Deleted 4 files, freed {freed / 1000:.1f} kilobytes." in res.out
    assert (root / "single.jpg").exists()
    assert_pictures_survive(root, groups)


def _chain(folder: Path) -> list[Path]:
    return brightening_chain(folder, SIZE)


def test_noprompt_never_removes_the_far_end_of_a_chain(imgdupes, tmp_path):
    root = tmp_path / "chain"
    root.mkdir()
    a, b, c = _chain(root)
    listing = imgdupes("--json", "--no-verify", "--sort", "filepath", str(root), "phash", "4")
    doc = json.loads(listing.out)
    assert len(doc["sets"]) == 1 and len(doc["sets"][0]["files"]) == 3
    assert doc["sets"][0]["files"][2]["distance"] > 4  # precondition: a and c far apart
    groups = [{digest(a)}, {digest(b)}, {digest(c)}]
    res = imgdupes("-dN", "--no-verify", "--keep", "path", str(root), "phash", "4")
    assert res.code == 0, res.err
    # a kept; b within 4 of a goes; c is 6 from a, nothing kept near it: kept
    assert a.exists() and c.exists() and not b.exists()
    assert_pictures_survive(root, [groups[0], groups[2]])


def test_noprompt_chain_walked_from_the_middle_removes_both_ends(imgdupes, tmp_path):
    root = tmp_path / "chain"
    root.mkdir()
    a, b, c = _chain(root)
    os.rename(b, root / "0_b.png")  # now first by path
    res = imgdupes("-dN", "--no-verify", "--keep", "path", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert (root / "0_b.png").exists() and not a.exists() and not c.exists()


def test_noprompt_with_no_verify_still_removes_only_sure_copies(imgdupes, tmp_path):
    """--no-verify lets the hash alone decide what is listed; -N still confirms
    each removal, so blends of two pictures (different pictures whose hashes
    chain at 16) are listed as a set and all kept, each with a line saying why."""
    root = tmp_path / "blends"
    root.mkdir()
    one, two = synthetic_photo(1, SIZE), synthetic_photo(2, SIZE)
    for i, name in enumerate("abc"):
        Image.blend(one, two, i / 2).save(root / f"{name}.png")
    listing = imgdupes("--no-verify", str(root), "phash", "16")
    assert len(listing.sets) == 1 and len(listing.sets[0]) == 3
    before = snapshot(root)
    res = imgdupes("-dN", "--no-verify", "--keep", "path", str(root), "phash", "16")
    assert res.code == 0, res.err
    assert snapshot(root) == before
    assert res.out.count("[!]") == 2


def test_noprompt_keeps_a_file_the_verification_tells_apart_from_the_kept_one():
    """In a verified set A-C-B, A and B may be within r by hash yet a pair the
    verification rejected: B must not go on A's account."""
    from imgdupes.model import FileRecord, SetEntry
    from imgdupes.plan import parse_keep

    def entry(name: str, ino: int) -> SetEntry:
        rec = FileRecord(name, 10, 0, 1, ino)
        return SetEntry(name, 10, 8, 8, 0, "00", 0, file=rec, hash=b"\x00" * 8)

    a, b, c = entry("a", 1), entry("b", 2), entry("c", 3)
    unlike = {frozenset(("a", "b"))}
    planner = Planner(
        4,
        rules=parse_keep("path"),
        similar=lambda x, y: frozenset((x.path, y.path)) not in unlike,
    )
    plan = planner.plan([a, b, c], [False, False, False])
    assert [ch.remove for ch in plan.actions] == [False, False, True]
    assert [k.path for k in plan.actions[2].kept_for] == ["a", "b"]


# --- names of one file ----------------------------------------------------------------------------


def test_one_jpeg_and_many_symlinks_is_not_a_duplicate_set(imgdupes, tmp_path):
    """Debian's wallpaper folders: the seed kept a link and deleted the JPEG."""
    root = tmp_path / "wallpapers"
    root.mkdir()
    synthetic_photo(31, SIZE).save(root / "real.jpg", quality=90)
    for n in range(6):
        os.symlink("real.jpg", root / f"name{n}.jpg")
    before = snapshot(root)
    res = imgdupes("-rdN", str(root), "phash", "0")
    assert res.code == 0, res.err
    assert snapshot(root) == before
    assert "[-]" not in res.out


def test_hard_links_are_never_duplicates_of_each_other(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    synthetic_photo(32, SIZE).save(root / "a.jpg", quality=90)
    os.link(root / "a.jpg", root / "b.jpg")
    before = snapshot(root)
    res = imgdupes("-dN", str(root), "phash", "0")
    assert res.code == 0, res.err
    assert snapshot(root) == before


def test_removing_a_file_removes_its_links_too_never_leaving_them_dangling(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "w", 33)
    for n in range(3):
        os.symlink(q50.name, root / f"link{n}.jpg")
    os.link(q50, root / "hard.jpg")
    groups = groups_of([orig, q50, small])
    res = imgdupes("-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert orig.exists()
    assert not q50.exists() and not (root / "hard.jpg").exists()
    for n in range(3):
        assert not os.path.lexists(root / f"link{n}.jpg")
        assert f"[-] {root / f'link{n}.jpg'}" in res.out
    assert_pictures_survive(root, groups)
    # the listing showed the other names under the file
    assert f"also as  {root / 'link0.jpg'}" in res.out


def test_kept_file_with_links_keeps_them(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "w", 34)
    os.symlink(orig.name, root / "link.jpg")
    res = imgdupes("-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert orig.exists() and (root / "link.jpg").exists()
    assert digest(root / "link.jpg") == digest(orig)


def test_symlink_to_a_file_outside_the_run_is_removed_as_a_link(imgdupes, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(35, SIZE)
    img.save(outside / "big.jpg", quality=95)
    before = digest(outside / "big.jpg")
    os.symlink(outside / "big.jpg", root / "link.jpg")
    img.save(root / "copy.jpg", quality=60)
    # --reverse: the smaller copy.jpg is kept, the link goes
    res = imgdupes("-dN", "--reverse", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert not os.path.lexists(root / "link.jpg")
    assert digest(outside / "big.jpg") == before
    assert (root / "copy.jpg").exists()
    assert "Deleted 1 file, freed 0 bytes." in res.out  # a link frees nothing


# --- references -------------------------------------------------------------------------------


def test_reference_folder_is_searched_and_never_touched(imgdupes, tmp_path):
    ref = tmp_path / "archive"
    ref.mkdir()
    (ref / "deep").mkdir()
    root = tmp_path / "downloads"
    root.mkdir()
    img = synthetic_photo(41, SIZE)
    # the reference copy is the smallest: it comes last in filesize order
    img.save(ref / "deep" / "keep.jpg", quality=40)
    img.save(root / "copy95.jpg", quality=95)
    img.save(root / "copy80.jpg", quality=80)
    ref_before = snapshot(ref)
    res = imgdupes("-dN", "--reference", str(ref), str(root), "phash", "4")
    assert res.code == 0, res.err
    assert snapshot(ref) == ref_before
    assert not (root / "copy95.jpg").exists() and not (root / "copy80.jpg").exists()
    assert "(reference)" in res.out
    assert f"[+] {ref / 'deep' / 'keep.jpg'}" in res.out


def test_reference_also_named_as_target_is_harmless(imgdupes, tmp_path):
    ref = tmp_path / "archive"
    ref.mkdir()
    img = synthetic_photo(42, SIZE)
    img.save(ref / "a.jpg", quality=95)
    img.save(ref / "b.jpg", quality=60)
    before = snapshot(ref)
    res = imgdupes("-dN", "--reference", str(ref), str(ref), "phash", "4")
    assert res.code == 0, res.err
    assert snapshot(ref) == before
    assert "nothing here may be removed" in res.out


def test_file_linked_from_a_reference_folder_is_not_removed(imgdupes, tmp_path):
    ref = tmp_path / "archive"
    ref.mkdir()
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(43, SIZE)
    img.save(root / "big.jpg", quality=95)
    img.save(root / "small.jpg", quality=50)
    os.symlink(root / "small.jpg", ref / "fav.jpg")
    res = imgdupes("-dN", "--reference", str(ref), str(root), "phash", "4")
    assert res.code == 0, res.err
    # small.jpg is reached from the reference folder: removing it would break fav.jpg
    assert (root / "small.jpg").exists() and digest(ref / "fav.jpg") == digest(root / "small.jpg")
    # and it counts as kept, so big.jpg (within r of it) may go
    assert not (root / "big.jpg").exists()


def test_missing_reference_folder_is_a_usage_error(imgdupes, two_sets, tmp_path):
    root, _, _ = two_sets
    before = snapshot(root)
    res = imgdupes("-dN", "--reference", str(tmp_path / "nope"), str(root), "phash", "4")
    assert res.code == 2 and "--reference" in res.err
    assert snapshot(root) == before


# --- changes between the scan and the action -----------------------------------------------------


def scan_then(root: Path, *, change, **options):
    """Scan, let ``change`` alter the tree, then act: the race the re-check guards."""
    config = Config(
        hash_method="phash",
        threshold=4,
        targets=[str(root)],
        delete=True,
        noprompt=True,
        num_proc=1,
        sort=["filepath"],
        **options,
    )
    result, data = find(config)
    plans = plan_sets(config, result, data)  # as a run does: planned, then acted on
    change()
    out, err = io.StringIO(), io.StringIO()
    run_delete(
        config, result, data, io.StringIO(""), out, err, lambda m: err.write(m + "\n"), plans
    )
    return out.getvalue(), result


def test_file_rewritten_after_the_scan_is_skipped(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "a", 51)
    other = synthetic_photo(52, SIZE)

    def change():
        other.save(q50, quality=50)  # new picture under the same name

    out, _ = scan_then(root, change=change)
    assert f"[!] {q50} -- changed since scan" in out
    assert q50.exists() and digest(q50) != ""
    with Image.open(q50) as im:
        assert im.size == SIZE
    assert not small.exists()  # the rest of the set went on as planned


def test_file_touched_or_replaced_after_the_scan_is_skipped(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "a", 53)
    q50_bytes = q50.read_bytes()

    def change():
        st = q50.stat()
        os.utime(q50, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        # same bytes, new inode
        tmp = root / "tmp.part"
        tmp.write_bytes(small.read_bytes())
        os.replace(tmp, small)

    out, _ = scan_then(root, change=change)
    assert f"[!] {q50} -- changed since scan" in out
    assert f"[!] {small} -- changed since scan" in out
    assert q50.read_bytes() == q50_bytes and small.exists() and orig.exists()


def test_file_removed_after_the_scan_is_reported_and_the_run_goes_on(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    fam_a = make_family(root, "a", 54)
    fam_b = make_family(root, "b", 55)
    out, _ = scan_then(root, change=lambda: fam_a[1].unlink())
    assert f"[!] {fam_a[1]} -- vanished" in out
    assert fam_a[0].exists() and not fam_a[2].exists()
    assert fam_b[0].exists() and not fam_b[1].exists() and not fam_b[2].exists()


def test_kept_file_removed_after_the_scan_saves_its_duplicates(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "a", 56)
    groups = groups_of([orig, q50, small])
    out, _ = scan_then(root, change=orig.unlink)  # a_orig.jpg was to be kept
    assert "the file kept for it is gone or changed" in out
    assert q50.exists() and small.exists()
    assert_pictures_survive(root, groups)


def test_kept_file_turned_into_a_link_to_its_duplicate_saves_it(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    orig, q50, small = make_family(root, "a", 57)

    def change():
        small.unlink()  # only a_orig (kept) and a_q50 (to go) matter here
        orig.unlink()
        os.symlink(q50.name, orig)  # the "kept" name now reaches the file to delete

    out, _ = scan_then(root, change=change)
    assert q50.exists()
    assert digest(orig) == digest(q50)


def test_dry_run_changes_nothing_and_says_what_would_happen(imgdupes, two_sets):
    root, fam_a, fam_b = two_sets
    before = snapshot(root)
    mtimes = {p: os.stat(p).st_mtime_ns for p in before}
    res = imgdupes("-dN", "--dry-run", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert snapshot(root) == before
    assert {p: os.stat(p).st_mtime_ns for p in before} == mtimes
    _, removed = kept_and_removed(res.out)
    assert sorted(removed) == sorted(str(p) for p in fam_a[1:] + fam_b[1:])
    assert "Dry run, nothing changed: would have deleted 4 files" in res.out
    # and it tells the truth when a file could not be removed: compare with a real run
    real = imgdupes("-dN", str(root), "phash", "4")
    assert kept_and_removed(real.out) == kept_and_removed(res.out)


# --- errors while acting ----------------------------------------------------------------------


@pytest.fixture
def undeletable(tmp_path):
    """make(path): make removing ``path`` fail for real by locking its folder
    (read-only, or immutable with chattr +i as root, who ignores permissions);
    undone at teardown."""
    undo = []

    def make(path: Path) -> None:
        folder = str(path.parent)
        if os.geteuid() == 0:
            try:
                r = subprocess.run(["chattr", "+i", folder], capture_output=True)
            except OSError:
                r = None
            if r is None or r.returncode != 0:
                pytest.skip("running as root and chattr +i is not available here")
            undo.append(lambda: subprocess.run(["chattr", "-i", folder], check=False))
        else:
            mode = path.parent.stat().st_mode
            path.parent.chmod(0o555)
            undo.append(lambda: path.parent.chmod(mode))

    yield make
    for u in reversed(undo):
        u()


def test_permission_error_is_one_line_and_the_run_goes_on(imgdupes, tmp_path, undeletable):
    root = tmp_path / "pics"
    (root / "locked").mkdir(parents=True)
    img = synthetic_photo(61, SIZE)
    img.save(root / "locked" / "a_big.jpg", quality=95)
    img.save(root / "locked" / "a_small.jpg", quality=50)
    fam_b = make_family(root, "b", 62)
    undeletable(root / "locked" / "a_small.jpg")
    res = imgdupes("-rdN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert re.search(r"^   \[!\] .*a_small\.jpg -- .+$", res.out, re.M)
    assert (root / "locked" / "a_small.jpg").exists()
    assert not fam_b[1].exists() and not fam_b[2].exists()
    assert "Traceback" not in res.out + res.err
    assert "1 left as they were" in res.out


def test_a_link_that_cannot_go_keeps_its_target(imgdupes, tmp_path, undeletable):
    root = tmp_path / "pics"
    (root / "links").mkdir(parents=True)
    orig, q50, small = make_family(root, "a", 63)
    link = root / "links" / "fav.jpg"
    os.symlink(os.path.join("..", small.name), link)
    undeletable(link)
    res = imgdupes("-rdN", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert small.exists() and digest(link) == digest(small)


def test_unreadable_file_is_reported_and_never_touched(two_sets):
    from conftest import run_without_file_override

    root, fam_a, _ = two_sets
    fam_a[1].chmod(0)
    try:
        res = run_without_file_override("--no-cache", "-dN", str(root), "phash", "4")
        assert res.code == 0
        assert str(fam_a[1]) in res.err
        assert os.path.lexists(fam_a[1])
        assert str(fam_a[1]) not in res.out
    finally:
        fam_a[1].chmod(0o644)


def test_broken_and_empty_pictures_are_reported_and_never_touched(imgdupes, two_sets):
    root, fam_a, fam_b = two_sets
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "empty.png").write_bytes(b"")
    truncated = root / "a_truncated.jpg"
    truncated.write_bytes(fam_a[0].read_bytes()[:200])
    keep = {p: digest(p) for p in (root / "broken.jpg", root / "empty.png", truncated)}
    res = imgdupes("-dN", str(root), "phash", "4")
    assert res.code == 0, res.err
    for p, d in keep.items():
        assert digest(p) == d
        assert str(p) in res.err and str(p) not in res.out


# --- --move-to ------------------------------------------------------------------------------------


def test_move_to_keeps_the_relative_path(imgdupes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pics" / "sub").mkdir(parents=True)
    img = synthetic_photo(71, SIZE)
    img.save("pics/big.jpg", quality=95)
    img.save("pics/sub/small.jpg", quality=50)
    before = digest("pics/sub/small.jpg")
    res = imgdupes("-rdN", "--move-to", "dupes", "pics", "phash", "4")
    assert res.code == 0, res.err
    assert "[-] pics/sub/small.jpg -> dupes/pics/sub/small.jpg" in res.out
    assert not os.path.exists("pics/sub/small.jpg")
    assert digest("dupes/pics/sub/small.jpg") == before
    assert "Moved 1 file to dupes" in res.out


def test_move_to_never_overwrites(imgdupes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pics").mkdir()
    (tmp_path / "dupes" / "pics").mkdir(parents=True)
    img = synthetic_photo(72, SIZE)
    img.save("pics/big.jpg", quality=95)
    img.save("pics/small.jpg", quality=50)
    Path("dupes/pics/small.jpg").write_bytes(b"someone else's file")
    before = digest("pics/small.jpg")
    res = imgdupes("-dN", "--move-to", "dupes", "pics", "phash", "4")
    assert "[!] pics/small.jpg -- destination exists: dupes/pics/small.jpg" in res.out
    assert Path("dupes/pics/small.jpg").read_bytes() == b"someone else's file"
    assert digest("pics/small.jpg") == before
    dry = imgdupes("-dN", "--dry-run", "--move-to", "dupes", "pics", "phash", "4")
    assert "[!] pics/small.jpg -- destination exists" in dry.out


def test_move_to_takes_links_along(imgdupes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pics").mkdir()
    img = synthetic_photo(73, SIZE)
    img.save("pics/big.jpg", quality=95)
    img.save("pics/small.jpg", quality=50)
    os.symlink("small.jpg", "pics/link.jpg")
    before = digest("pics/small.jpg")
    res = imgdupes("-dN", "--move-to", "out", "pics", "phash", "4")
    assert res.code == 0, res.err
    assert not os.path.lexists("pics/link.jpg") and not os.path.exists("pics/small.jpg")
    assert digest("out/pics/small.jpg") == before
    assert digest("out/pics/link.jpg") == before  # the moved link reaches the moved file


def test_move_destination_for_paths_outside_the_current_folder():
    assert move_destination("D", "a/b.jpg") == os.path.join("D", "a", "b.jpg")
    assert move_destination("D", "./a/../b.jpg") == os.path.join("D", "b.jpg")
    outside = move_destination("D", "/x/y/z.jpg")
    assert outside == os.path.join("D", "x", "y", "z.jpg")
    up = move_destination("D", "../p.jpg")
    assert up.startswith("D" + os.sep) and up.endswith("p.jpg") and ".." not in up


def test_move_across_filesystems_copies_and_verifies(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to move across")
    dest = Path(tempfile.mkdtemp(dir=shm, prefix="imgdupes-test-"))
    try:
        root = tmp_path / "pics"
        root.mkdir()
        orig, q50, small = make_family(root, "a", 74)
        digests = {p.name: digest(p) for p in (q50, small)}
        out, _ = scan_then(root, change=lambda: None, move_to=str(dest))
        assert not q50.exists() and not small.exists() and orig.exists()
        for p in (q50, small):
            moved = Path(move_destination(str(dest), str(p)))
            assert digest(moved) == digests[p.name]
    finally:
        shutil.rmtree(dest)


# --- --trash --------------------------------------------------------------------------------------


@needs("send2trash", "pip install send2trash")
def test_trash_moves_files_to_the_trash(imgdupes_proc, two_sets, tmp_path):
    root, fam_a, fam_b = two_sets
    # HOME and XDG_DATA_HOME under tmp_path: send2trash then uses tmp_path/share/Trash
    # for files on this filesystem, and the tree is on it too.
    before = {p.name: digest(p) for p in fam_a + fam_b}
    home = tmp_path / "home"
    home.mkdir()
    share = tmp_path / "share"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(share)}
    res = imgdupes_proc("-dN", "--trash", str(root), "phash", "4", cwd=str(tmp_path), env=env)
    assert res.code == 0, res.err
    trash = share / "Trash" / "files"
    if not trash.is_dir():
        pytest.fail(f"send2trash did not use the trash under tmp_path: {res.out}")
    trashed = {p.name for p in trash.iterdir()}
    assert trashed == {p.name for p in fam_a[1:] + fam_b[1:]}
    for p in fam_a[1:] + fam_b[1:]:
        assert not p.exists()
        assert digest(trash / p.name) == before[p.name]
        assert (share / "Trash" / "info" / f"{p.name}.trashinfo").exists()
    assert fam_a[0].exists() and fam_b[0].exists()
    assert "Trashed 4 files" in res.out


def test_trash_without_send2trash_is_one_line(imgdupes_proc, two_sets, tmp_path):
    root, _, _ = two_sets
    # A package of that name that fails to import stands in for a missing extra.
    shim = tmp_path / "shim" / "send2trash"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError(\"No module named 'send2trash'\")\n")
    before = snapshot(root)
    env = {"PYTHONPATH": f"{tmp_path / 'shim'}{os.pathsep}{SRC}"}
    res = imgdupes_proc("-dN", "--trash", str(root), "phash", "4", cwd=str(tmp_path), env=env)
    assert res.code == 2
    assert "pip install send2trash" in res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    assert snapshot(root) == before


# --- --log ------------------------------------------------------------------------------------


def test_log_journal_records_each_action_before_it_happens(
    imgdupes, two_sets, tmp_path, monkeypatch
):
    root, fam_a, fam_b = two_sets
    monkeypatch.chdir(tmp_path)
    res = imgdupes("-dN", "--log", str(root), "phash", "4")
    assert res.code == 0, res.err
    journals = list(tmp_path.glob("*_del_std_*_phash_64_4.jsonl"))
    del_logs = list(tmp_path.glob("*_del_std_*_phash_64_4.log"))
    assert len(journals) == 1 and len(del_logs) == 1
    removed = [str(p) for p in fam_a[1:] + fam_b[1:]]
    assert sorted(del_logs[0].read_text().split()) == sorted(removed)
    rows = [json.loads(line) for line in journals[0].read_text().splitlines()]
    for path in removed:
        mine = [r for r in rows if r["path"] == path]
        assert [r["phase"] for r in mine] == ["intent", "done"]
        r = mine[0]
        assert r["action"] == "delete" and r["size"] > 0 and len(r["hash"]) == 16
        assert r["kept"] in (str(fam_a[0]), str(fam_b[0])) and r["time"]


def test_log_journal_has_the_intent_of_an_action_that_failed(
    imgdupes, tmp_path, monkeypatch, undeletable
):
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(81, SIZE)
    img.save(root / "big.jpg", quality=95)
    img.save(root / "small.jpg", quality=50)
    undeletable(root / "small.jpg")
    monkeypatch.chdir(tmp_path)
    imgdupes("-dN", "--log", str(root), "phash", "4")
    (journal,) = tmp_path.glob("*.jsonl")
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["phase"] for r in rows] == ["intent", "failed"]
    assert rows[1]["error"]
