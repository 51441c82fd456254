"""Result snapshots: a run over an unchanged tree answers from the last one's sets.

Every test compares what a user sees (the listing, --json, --csv, the -N
plan) with a run that did the whole search; ``searches`` proves which runs
skipped it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from imgdupes import pipeline, snapshot
from imgdupes.cache import DB_NAME
from imgdupes.samples import make_samples, synthetic_photo


@pytest.fixture
def searches(monkeypatch):
    """The number of hash searches run so far (a hit runs none)."""
    count = [0]
    real = pipeline.find_matches

    def counted(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "find_matches", counted)
    return count


@pytest.fixture
def tree(tmp_path):
    """The samples (planted families) and two identical BMPs, a set whose
    second file can be overwritten by another picture of the same size."""
    root = tmp_path / "pics"
    make_samples(str(root), originals=3)
    synthetic_photo(7, (96, 64)).save(root / "x.bmp")
    synthetic_photo(7, (96, 64)).save(root / "y.bmp")
    # a copy 3% cropped: 6 bits of phash, 4 of dhash away, which the hash
    # alone links at a larger distance only
    img = synthetic_photo(11)
    img.save(root / "orig.jpg", quality=92)
    img.crop((img.width * 3 // 100, 0, img.width, img.height)).save(root / "crop.jpg")
    return root


def _db(tmp_path: Path) -> Path:
    return tmp_path / ".xdg-cache" / "imgdupes" / DB_NAME


def _outputs(imgdupes, tmp_path, root, *args: str) -> dict[str, str]:
    """What the user gets from the listing, --json, --csv and the -N plan."""
    csv = tmp_path / "sets.csv"
    got = {}
    for name, extra in (
        ("text", ()),
        ("json", ("--json",)),
        ("csv", ("--csv", str(csv))),
        ("plan", ("-d", "-N", "--dry-run")),
    ):
        res = imgdupes(*extra, *args, "-r", str(root), "phash", "4")
        assert res.code == 0, res.err
        got[name] = res.out + res.err
        if name == "csv":
            got[name] += csv.read_text()
    return got


def test_a_hit_answers_as_the_whole_search_does_and_runs_no_search(
    imgdupes, tmp_path, tree, searches
):
    fresh = _outputs(imgdupes, tmp_path, tree, "--no-cache")
    assert "x.bmp" in fresh["text"] and "photo_00" in fresh["text"]
    first = imgdupes("-r", str(tree), "phash", "4")  # hashes, searches, keeps the sets
    assert searches[0] > 0 and first.out == fresh["text"]
    before = searches[0]
    assert _outputs(imgdupes, tmp_path, tree) == fresh
    assert searches[0] == before, "the unchanged tree was searched again"


def _edit_in_place(root: Path, tmp_path: Path) -> None:
    # another picture of the same byte size (a BMP of the same dimensions), new mtime
    synthetic_photo(8, (96, 64)).save(tmp_path / "other.bmp")
    size = (root / "y.bmp").stat().st_size
    with open(root / "y.bmp", "r+b") as fh:
        fh.write((tmp_path / "other.bmp").read_bytes())
    st = (root / "y.bmp").stat()
    assert st.st_size == size
    os.utime(root / "y.bmp", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _add_copy(root: Path, tmp_path: Path) -> None:
    synthetic_photo(9).save(root / "new.jpg", quality=90)
    synthetic_photo(9).save(root / "new_again.jpg", quality=80)


def _remove(root: Path, tmp_path: Path) -> None:
    os.unlink(root / "y.bmp")


@pytest.mark.parametrize("change", [_edit_in_place, _add_copy, _remove])
def test_a_changed_tree_gets_the_fresh_answer(imgdupes, tmp_path, tree, searches, change):
    old = imgdupes("-r", str(tree), "phash", "4")
    assert old.code == 0 and imgdupes("-r", str(tree), "phash", "4").out == old.out
    change(tree, tmp_path)
    before = searches[0]
    res = imgdupes("-r", str(tree), "phash", "4")
    assert searches[0] > before
    assert res.out != old.out
    assert res.out == imgdupes("--no-cache", "-r", str(tree), "phash", "4").out


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("--no-verify", "phash", "4"), ("--no-verify", "phash", "8")),  # the distance
        (("--no-verify", "phash", "2"), ("--no-verify", "dhash", "2")),  # the method
        (("--no-verify", "phash", "8"), ("phash", "8")),  # the verification
        (("phash", "4"), ("--sort", "filepath", "phash", "4")),  # the order
        (("phash", "4"), ("--reverse", "phash", "4")),
    ],
)
def test_other_options_get_their_own_answer(imgdupes, tmp_path, tree, searches, before, after):
    old = imgdupes("-r", str(tree), *before)
    assert old.code == 0 and imgdupes("-r", str(tree), *before).out == old.out
    count = searches[0]
    res = imgdupes("-r", str(tree), *after)
    assert res.code == 0 and searches[0] > count
    assert res.out != old.out
    assert res.out == imgdupes("--no-cache", "-r", str(tree), *after).out


def test_a_pair_marked_not_duplicates_is_taken_out_on_a_hit(imgdupes, tmp_path, tree, searches):
    first = imgdupes("-r", str(tree), "phash", "4")
    assert [str(tree / "x.bmp"), str(tree / "y.bmp")] in [sorted(s) for s in first.sets]
    from imgdupes.ignored import IgnoredPairs

    marks = IgnoredPairs.open(None, lambda m: None)
    assert marks is not None
    res, _ = pipeline.find(pipeline.Config(targets=[str(tree)], recursive=True))
    pair = next(s for s in res.sets if s.entries[0].path.endswith(".bmp"))
    marks.add(pair.entries)
    marks.close()
    before = searches[0]
    again = imgdupes("-r", str(tree), "phash", "4")
    assert searches[0] == before  # the snapshot answered; the mark still applies
    assert [str(tree / "x.bmp"), str(tree / "y.bmp")] not in [sorted(s) for s in again.sets]
    assert len(again.sets) == len(first.sets) - 1


def test_a_set_file_gone_from_the_store_sends_the_run_the_full_way(
    imgdupes, tmp_path, tree, searches
):
    first = imgdupes("-r", str(tree), "phash", "4")
    with sqlite3.connect(_db(tmp_path)) as conn:
        conn.execute("DELETE FROM images WHERE path = ?", (os.fsencode(tree / "x.bmp"),))
    before = searches[0]
    res = imgdupes("-r", str(tree), "phash", "4")
    assert searches[0] > before and res.out == first.out
    with sqlite3.connect(_db(tmp_path)) as conn:  # hashed again and kept
        assert conn.execute(
            "SELECT count(*) FROM images WHERE path = ?", (os.fsencode(tree / "x.bmp"),)
        ).fetchone() == (1,)


def test_a_set_file_whose_signature_is_gone_sends_the_run_the_full_way(
    imgdupes, tmp_path, tree, searches
):
    # a hit reads its sets' signatures only when it makes the sets: the
    # look-up must already have counted the entry as missing
    first = imgdupes("-r", str(tree), "--json", "phash", "4")
    with sqlite3.connect(_db(tmp_path)) as conn:
        conn.execute(
            "DELETE FROM signatures WHERE image_id IN (SELECT id FROM images WHERE path = ?)",
            (os.fsencode(tree / "x.bmp"),),
        )
    before = searches[0]
    res = imgdupes("-r", str(tree), "--json", "phash", "4")
    assert searches[0] > before and res.out == first.out
    with sqlite3.connect(_db(tmp_path)) as conn:  # hashed again, its signature kept
        assert conn.execute(
            "SELECT count(*) FROM signatures s JOIN images i ON i.id = s.image_id WHERE i.path = ?",
            (os.fsencode(tree / "x.bmp"),),
        ).fetchone() == (1,)


def test_a_file_that_fails_to_decode_keeps_the_run_from_snapshotting(
    imgdupes, tmp_path, tree, searches
):
    (tree / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    first = imgdupes("-r", str(tree), "phash", "4")
    assert "broken.jpg" in first.err
    before = searches[0]
    again = imgdupes("-r", str(tree), "phash", "4")
    assert searches[0] > before  # it is tried again, and said again
    assert again.out == first.out and "broken.jpg" in again.err


def _snap(n: int) -> snapshot.Snapshot:
    return snapshot.Snapshot(np.arange(n, dtype=np.int64), np.zeros(n, np.int64), True, False)


def test_a_store_keeps_a_few_snapshots_and_two_writers_at_once_both_succeed(
    imgdupes, tmp_path, tree
):
    assert imgdupes("-r", str(tree), "phash", "4").code == 0  # a store of ours
    db = _db(tmp_path)
    results: list[bool] = []

    def writer(tag: int) -> None:
        conn = sqlite3.connect(db, timeout=30, isolation_level=None)
        for k in range(10):
            results.append(snapshot.write(conn, bytes([tag, k]) * 16, 100, _snap(k + 2)))
        conn.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 20
    conn = sqlite3.connect(db)
    keys = [r[0] for r in conn.execute("SELECT key FROM snapshots")]
    assert len(keys) == snapshot.KEEP
    got = snapshot.read(conn, keys[0], 100)
    assert got is not None and got.tones and not got.regions
    assert snapshot.read(conn, keys[0], 101) is None  # another table size: not this one
    conn.close()
