"""The hash store: what a user notices across runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgdupes.cache import DB_NAME, HashStore
from imgdupes.discover import discover
from imgdupes.hasher import HashSpec, hash_files
from imgdupes.samples import synthetic_photo
from imgdupes.signature import SIGNATURE_VERSION

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _cache_file(tmp_path: Path) -> Path:
    return tmp_path / ".xdg-cache" / "imgdupes" / DB_NAME


def _overwrite_keeping_mtime(path: Path, content: bytes) -> None:
    """Overwrite a file in place, then put its mtime back, as cp -p and rsync -t do."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.write(content)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _cached_images(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM images").fetchone()[0]


def test_cache_lives_in_xdg_cache_home_and_no_cache_writes_nothing(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    assert imgdupes("--no-cache", str(root), "phash", "4").code == 0
    assert not _cache_file(tmp_path).exists()
    assert imgdupes(str(root), "phash", "4").code == 0
    assert _cached_images(_cache_file(tmp_path)) == 15


def test_cache_dir_option_chooses_the_folder(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    where = tmp_path / "mycache"
    res = imgdupes("--cache-dir", str(where), str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(sorted(s) for s in res.sets) == sorted(families)
    assert (where / DB_NAME).exists()
    assert not _cache_file(tmp_path).exists()


def test_switching_method_and_threshold_reads_no_image(imgdupes, dupe_tree, forbid_decoding):
    root, families = dupe_tree
    first = imgdupes(str(root), "phash", "4")
    assert first.code == 0
    expected_dhash = imgdupes("--no-cache", str(root), "dhash", "6")
    forbid_decoding()
    # No image can be decoded now; only cached hashes can give these answers.
    for method, r, expected in (("phash", "4", first), ("dhash", "6", expected_dhash)):
        res = imgdupes(str(root), method, r)
        assert res.code == 0
        assert res.err == ""
        assert res.sets == expected.sets
    for method in ("ahash", "whash", "phash_org"):
        res = imgdupes(str(root), method, "10")
        assert res.err == "", method
    # whereas decoding them fails, one warning per file
    res = imgdupes("--no-cache", str(root), "phash", "4")
    assert res.err.count("\n") == 15 and res.sets == []


def test_query_image_is_read_from_the_cache_too(
    imgdupes, dupe_tree, tmp_path, photo, forbid_decoding
):
    root, families = dupe_tree
    query = tmp_path / "query.jpg"
    photo(100).save(query, quality=90)  # a copy of family 0's original
    first = imgdupes("--query", str(query), str(root), "phash", "10")
    assert first.code == 0 and families[0][0] in first.out
    forbid_decoding()
    again = imgdupes("--query", str(query), str(root), "phash", "10")
    assert again.code == 0, again.err
    assert again.out == first.out
    # without the cache the query cannot be decoded now: one line, exit 2
    res = imgdupes("--no-cache", "--query", str(query), str(root), "phash", "10")
    assert res.code == 2 and res.err.count("\n") == 1


def test_a_file_edited_in_place_with_its_mtime_put_back_is_hashed_again(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    synthetic_photo(1).save(root / "x.bmp")
    synthetic_photo(1).save(root / "y.bmp")
    assert len(imgdupes(str(root), "phash", "0").sets) == 1
    # another picture of the same byte size (a BMP of the same dimensions)
    synthetic_photo(2).save(tmp_path / "other.bmp")
    st = (root / "y.bmp").stat()
    _overwrite_keeping_mtime(root / "y.bmp", (tmp_path / "other.bmp").read_bytes())
    assert (root / "y.bmp").stat()[6:9] == st[6:9]  # size, and the seconds of atime, mtime
    assert imgdupes(str(root), "phash", "0").sets == []


def test_a_changed_file_is_hashed_again(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    a, b = synthetic_photo(1), synthetic_photo(2)
    a.save(root / "x.bmp")
    a.save(root / "y.bmp")
    assert len(imgdupes(str(root), "phash", "0").sets) == 1

    # same size (BMP of the same dimensions) and same mtime, new content: a new inode
    st = (root / "y.bmp").stat()
    b.save(root / "new.bmp")
    os.replace(root / "new.bmp", root / "y.bmp")
    os.utime(root / "y.bmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (root / "y.bmp").stat().st_size == st.st_size
    assert imgdupes(str(root), "phash", "0").sets == []

    # edited in place (same inode), mtime moves
    a.save(root / "y.bmp")
    assert len(imgdupes(str(root), "phash", "0").sets) == 1


def test_fast_and_full_decode_entries_are_kept_apart(imgdupes, tmp_path):
    import imagehash

    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(3, (1600, 1200))
    img.save(root / "a.jpg", quality=90)
    img.save(root / "b.jpg", quality=60)
    fast = imgdupes("--json", str(root), "phash", "20")
    full = imgdupes("--json", "--full-decode", str(root), "phash", "20")
    hashes = {f["path"]: f["hash"] for f in json.loads(full.out)["sets"][0]["files"]}
    for name in ("a.jpg", "b.jpg"):
        with Image.open(root / name) as im:
            assert hashes[str(root / name)] == str(imagehash.phash(im))
    assert fast.code == 0 and full.code == 0


@pytest.mark.parametrize("garbage", [b"this is not a database" * 50, "foreign"])
def test_corrupt_or_foreign_cache_gives_one_warning_and_is_rebuilt(
    imgdupes, dupe_tree, tmp_path, garbage
):
    root, families = dupe_tree
    db = tmp_path / "c" / DB_NAME
    db.parent.mkdir()
    if garbage == "foreign":
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.execute("INSERT INTO notes VALUES ('mine')")
    else:
        db.write_bytes(garbage)
    res = imgdupes("--cache-dir", str(db.parent), str(root), "phash", "4")
    assert res.code == 0
    assert sorted(sorted(s) for s in res.sets) == sorted(families)
    assert res.err.count("\n") == 1 and "hash cache" in res.err and str(db) in res.err
    again = imgdupes("--cache-dir", str(db.parent), str(root), "phash", "4")
    assert again.err == ""
    assert _cached_images(db) == 15


def test_unusable_cache_folder_warns_once_and_the_run_goes_on(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    res = imgdupes("--cache-dir", str(blocker / "sub"), str(root), "phash", "4")
    assert res.code == 0
    assert sorted(sorted(s) for s in res.sets) == sorted(families)
    assert res.err.count("\n") == 1 and "without it" in res.err


def test_two_runs_at_once_over_overlapping_folders(tmp_path):
    top = tmp_path / "top"
    sub = top / "sub"
    sub.mkdir(parents=True)
    for n in range(16):
        img = synthetic_photo(200 + n, (240, 180))
        img.save((sub if n % 2 else top) / f"p{n}.jpg", quality=90)
        img.save((sub if n % 2 else top) / f"p{n}_copy.png")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "shared-cache"), "PYTHONPATH": SRC}
    run = [sys.executable, "-m", "imgdupes", "--num-proc", "1"]
    commands = [[*run, "-r", str(top), "phash", "4"], [*run, str(sub), "phash", "4"]]
    procs = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for c in commands
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert err == b""
    assert outs[0][0].count(b"\n\n") == 16 and outs[1][0].count(b"\n\n") == 8
    db = tmp_path / "shared-cache" / "imgdupes" / DB_NAME
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == 32


def test_interrupted_run_keeps_its_work(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, size=(600, 800, 3), dtype=np.uint8)
    Image.fromarray(noise, "RGB").save(root / "n000.png", compress_level=1)
    for n in range(1, 150):  # separate files: each one is decoded and hashed
        shutil.copyfile(root / "n000.png", root / f"n{n:03d}.png")
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(tmp_path / "xc")}
    db = tmp_path / "xc" / "imgdupes" / DB_NAME
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgdupes", "--num-proc", "1", "--full-decode", str(root)]
        + ["phash", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    kept = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not kept:
        time.sleep(0.05)
        try:
            kept = _cached_images(db) if db.exists() else 0
        except sqlite3.Error:
            kept = 0
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    saved = _cached_images(db)
    assert 0 < saved < 150
    # what was saved is valid for the next run, which hashes only the rest
    spec = HashSpec(("phash",), 64, full_decode=True)
    files = discover([str(root)]).files
    with HashStore(str(db)) as store:
        assert (
            len(store.lookup(files, spec.decode_mode, 64, ("phash",), SIGNATURE_VERSION)) == saved
        )


def test_store_survives_non_utf8_names_and_symlinks(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    name = os.fsdecode(b"caf\xe9.jpg")
    synthetic_photo(4).save(os.path.join(root, name), quality=90)
    os.symlink(os.path.join(root, name), root / "link.jpg")
    spec = HashSpec(("phash",), 64, full_decode=False)
    with HashStore.open(str(tmp_path / "c")) as store:
        rows, errors = hash_files(discover([str(root)]).files, spec, store=store)
        assert len(rows) == 1 and not errors
    # the symlink's real path is the same entry
    with HashStore.open(str(tmp_path / "c")) as store:
        files = discover(files=[str(root / "link.jpg")]).files
        found = store.lookup(files, spec.decode_mode, 64, ("phash", "whash"), SIGNATURE_VERSION)
        assert list(found) == [0]
        assert found[0].hashes["phash"] == rows[0][1]["phash"]


def test_a_store_of_the_earlier_schema_is_replaced_keeping_marked_pairs(imgdupes, tmp_path):
    """One line says so; the pairs a person marked as not duplicates survive."""
    from imgdupes.samples import make_samples

    root = tmp_path / "samples"
    make_samples(str(root), originals=2)  # two sets of four
    cache = tmp_path / "cache"
    first = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    assert len(first.sets) == 2
    marked = imgdupes("--cache-dir", str(cache), "-rd", str(root), "phash", "4", stdin="x\nall\n")
    assert "Marked as not duplicates" in marked.out
    # what an earlier version left: its file name and schema version
    old = cache / "hashes-v2.sqlite3"
    with sqlite3.connect(cache / DB_NAME) as conn:
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    (cache / DB_NAME).rename(old)
    res = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    assert res.code == 0
    assert res.err.count("\n") == 1 and str(old) in res.err and "6 pairs" in res.err
    assert res.sets == first.sets[1:]  # the marked set is still never offered
    assert not old.exists() and (cache / DB_NAME).exists()
    again = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    assert again.err == "" and again.sets == first.sets[1:]


def test_an_earlier_store_whose_marks_cannot_be_read_is_kept_until_they_can(
    imgdupes, tmp_path, monkeypatch
):
    """Another process holds the old store locked: its marked pairs are not lost
    with it; the next run, once the lock is gone, carries them over."""
    from imgdupes import cache as cache_mod
    from imgdupes.samples import make_samples

    root = tmp_path / "samples"
    make_samples(str(root), originals=2)
    cache = tmp_path / "cache"
    first = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    imgdupes("--cache-dir", str(cache), "-rd", str(root), "phash", "4", stdin="x\nall\n")
    old = cache / "hashes-v2.sqlite3"
    with sqlite3.connect(cache / DB_NAME) as conn:
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    (cache / DB_NAME).rename(old)
    monkeypatch.setattr(cache_mod, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(old, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        res = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert res.code == 0
    assert str(old) in res.err and "kept" in res.err
    assert old.exists()
    res = imgdupes("--cache-dir", str(cache), "-r", str(root), "phash", "4")
    assert "6 pairs" in res.err and not old.exists()
    assert res.sets == first.sets[1:]  # the marked set is still never offered


def test_full_decode_methods_and_hash_sizes_are_kept_side_by_side(
    imgdupes, dupe_tree, forbid_decoding
):
    """A --full-decode run stores the asked method only; later ones add theirs,
    and hashes of another --hash-bits do not replace the first ones."""
    root, _ = dupe_tree
    runs = [
        ("--full-decode", str(root), "phash", "4"),
        ("--full-decode", str(root), "dhash", "6"),
        ("--hash-bits", "256", str(root), "phash", "20"),
        (str(root), "phash", "4"),
    ]
    expected = [imgdupes(*run) for run in runs]
    assert all(res.code == 0 for res in expected)
    forbid_decoding()
    for run, before in zip(runs, expected, strict=True):
        res = imgdupes(*run)
        assert res.err == "", run
        assert res.sets == before.sets, run


def test_a_stored_file_without_its_signature_is_hashed_again_and_still_verified(imgdupes, tmp_path):
    # the same phash, pictures verification tells apart: a flat white and a flat red
    root = tmp_path / "pics"
    root.mkdir()
    Image.new("RGB", (64, 64), (255, 255, 255)).save(root / "white.png")
    Image.new("RGB", (64, 64), (180, 40, 40)).save(root / "red.png")
    assert imgdupes(str(root), "phash", "0").sets == []
    db = _cache_file(tmp_path)
    with sqlite3.connect(db) as conn:  # a store edited by hand, or half written
        (red,) = conn.execute(
            "SELECT id FROM images WHERE path = ?", (os.fsencode(root / "red.png"),)
        ).fetchone()
        conn.execute("DELETE FROM signatures WHERE image_id = ?", (red,))
    # (another distance: no result snapshot answers, the store is read)
    res = imgdupes(str(root), "phash", "1")
    assert res.code == 0, res.err
    assert res.sets == [], "the pair passed unverified"
    with sqlite3.connect(db) as conn:  # hashed again: its signature is back
        got = conn.execute(
            "SELECT count(*) FROM signatures s JOIN images i ON i.id = s.image_id WHERE i.path = ?",
            (os.fsencode(root / "red.png"),),
        ).fetchone()[0]
    assert got == 1
