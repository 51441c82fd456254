"""The columnar scan gives what the per-file one gave: files, names, store keys, hashes."""

from __future__ import annotations

import os

import pytest

from imgdupes.cache import HashStore
from imgdupes.columns import FileTable
from imgdupes.discover import discover
from imgdupes.hasher import HashSpec, hash_files, hash_table
from imgdupes.model import HashedImage


def _messy(root, photo):
    """Images plainly named, hard-linked, symlinked, unnamed, broken, in a symlinked folder."""
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    for k, name in enumerate(["a/x.jpg", "a/y.JPG", "b/z.png", "b/w.jpeg"]):
        photo(40 + k, (64, 48)).save(root / name)
    photo(50, (64, 48)).save(root / "a" / "noext", format="JPEG")
    os.link(root / "a" / "x.jpg", root / "b" / "hard.jpg")
    os.symlink("../a/y.JPG", root / "b" / "sym.jpg")
    os.symlink("nowhere.jpg", root / "b" / "broken.jpg")
    os.symlink("a", root / "linked")
    (root / "a" / "fake.jpg").write_bytes(b"not an image")
    (root / "a" / "notes.txt").write_text("hello")
    try:
        name = os.fsdecode(b"caf\xe9.jpg")  # not UTF-8: kept through surrogates
        photo(51, (64, 48)).save(os.path.join(root, "a", name), format="JPEG")
    except (OSError, UnicodeError):
        pass


def _records(found):
    return [(f.path, f.stamp, f.aliases) for f in found.files], found.errors, found.aliases


@pytest.mark.parametrize("recursive", [True, False])
def test_folder_walk_finds_what_the_general_loop_finds(tmp_path, photo, recursive):
    root = tmp_path / "t"
    _messy(root, photo)
    top = root if recursive else root / "a"
    walked = discover([str(top)], recursive=recursive)
    assert isinstance(walked.files, FileTable) and len(walked.files) >= 3
    # naming a walked file again sends every candidate through the general loop
    general = discover([str(top), str(root / "a" / "x.jpg")], recursive=recursive)
    assert not isinstance(general.files, FileTable)
    assert _records(walked) == _records(general)
    if recursive:
        x = next(f for f in walked.files if f.path.endswith("x.jpg"))
        assert x.aliases == (str(root / "b" / "hard.jpg"),)


def test_store_keys_of_walked_files_are_their_real_paths(tmp_path, photo):
    root = tmp_path / "t"
    _messy(root, photo)
    os.chdir(tmp_path)
    with HashStore.open(str(tmp_path / "cache")) as store:
        for targets in (["t"], ["t/linked", "./t/b/"], [str(root)]):
            files = discover(targets, recursive=True).files
            assert isinstance(files, FileTable)
            expected = {store.real_path(f.path): i for i, f in enumerate(files)}
            assert store.keys(files) == expected


def test_hash_table_rows_match_hash_files(tmp_path, photo):
    root = tmp_path / "t"
    _messy(root, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    with HashStore.open(str(tmp_path / "cache")) as store:
        files = discover([str(root)], recursive=True).files
        cold, cold_errors = hash_table(files, spec, "phash", store=store, num_proc=1)
        warm, warm_errors = hash_table(files, spec, "phash", store=store, num_proc=1)
        rows, errors = hash_files(files, spec, num_proc=1)
    assert (
        [e.path for e in cold_errors] == [e.path for e in errors] == [e.path for e in warm_errors]
    )
    for table in (cold, warm):
        assert len(table) == len(rows)
        for k, (f, payload, w, h) in enumerate(rows):
            im = table[k]
            assert im.file == f and (im.width, im.height) == (w, h)
            assert im.hash == payload["phash"] and im.signature == payload.signature
            assert im.tone == payload["phash@tone"] and not im.turned
            assert im == HashedImage.from_record(f, "phash", payload, w, h)


def test_stored_signatures_are_read_after_the_store_is_closed(tmp_path, photo):
    """The output asks for the signatures of the files in sets once the scan closed the store."""
    root = tmp_path / "t"
    _messy(root, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    files = discover([str(root)], recursive=True).files
    rows, _ = hash_files(files, spec, num_proc=1)
    with HashStore.open(str(tmp_path / "cache")) as store:
        hash_table(files, spec, "phash", store=store, num_proc=1)
    store = HashStore.open(str(tmp_path / "cache"))
    warm, _ = hash_table(files, spec, "phash", store=store, num_proc=1)
    store.close()
    assert [warm[k].signature for k in range(len(warm))] == [p.signature for _, p, *_ in rows]


def test_verification_reads_stored_signatures_as_one_matrix(tmp_path, photo):
    """A warm table hands verification its signatures as a matrix (a view
    where it can): the checks come out as from the signatures one by one."""
    import numpy as np

    from imgdupes.verify import Features, decide, features_of

    root = tmp_path / "t"
    _messy(root, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    files = discover([str(root)], recursive=True).files
    with HashStore.open(str(tmp_path / "cache")) as store:
        hash_table(files, spec, "phash", store=store, num_proc=1)
    with HashStore.open(str(tmp_path / "cache")) as store:
        warm, _ = hash_table(files, spec, "phash", store=store, num_proc=1)
        n = len(warm)
        for rows in (np.arange(n), np.arange(n)[::-1], np.arange(1, n)):
            one_by_one = Features([warm.signatures[k] for k in rows.tolist()])
            matrix = features_of(warm.signatures, rows)
            assert matrix.present.all()
            for name in ("raw", "present", "has_fine", "mean", "std", "saturation"):
                assert np.array_equal(getattr(matrix, name), getattr(one_by_one, name))
            a, b = np.triu_indices(len(rows), 1)
            assert np.array_equal(decide(matrix, a, b), decide(one_by_one, a, b))
        # let go once the sets are made, they are read again when asked
        before = [warm.signatures[k] for k in range(n)]
        warm.signatures.release()
        assert [warm.signatures[k] for k in range(n)] == before


def test_cold_signatures_come_back_from_the_spill_or_from_memory(tmp_path, photo, monkeypatch):
    """A cold table keeps the signatures of its files in an unnamed temporary
    file (nothing is left in the temporary folder); where no such file can be
    made they are held in memory: the same signatures either way."""
    import tempfile

    root = tmp_path / "t"
    _messy(root, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    files = discover([str(root)], recursive=True).files
    rows, _ = hash_files(files, spec, num_proc=1)
    expected = [p.signature for _, p, *_ in rows]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for folder in (scratch, tmp_path / "missing"):
        monkeypatch.setattr(tempfile, "tempdir", str(folder))
        cold, _ = hash_table(files, spec, "phash", num_proc=1)
        assert os.listdir(scratch) == []
        assert [cold[k].signature for k in range(len(cold))] == expected


def test_spill_rows_the_file_could_not_take_are_held(monkeypatch):
    import numpy as np

    from imgdupes import columns

    rng = np.random.default_rng(0)
    parts = [rng.integers(0, 256, (n, 24), dtype=np.uint8) for n in (3000, 5, 0, 700, 40)]
    spill = columns.SignatureSpill(24)
    real_write, calls = columns.SignatureSpill._write_at, []

    def failing(self, data, offset):  # the disk fills up after the first two chunks
        calls.append(offset)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return real_write(self, data, offset)

    monkeypatch.setattr(columns.SignatureSpill, "_write_at", failing)
    slots = [spill.append(p) for p in parts]
    assert np.array_equal(np.concatenate(slots), np.arange(len(spill)))
    every = np.concatenate(parts)
    for asked in (
        np.arange(len(every)),  # all of them: read in spans
        rng.permutation(len(every))[:50],  # a few, far apart: one read each
        np.array([3004, 1, 3004, 3740, 2999]),  # repeats, across segments
    ):
        got, found = spill.read(asked)
        assert found.all() and np.array_equal(got, every[asked])
    assert len(calls) == 3  # once the file failed, it is not tried again
    spill.close()


def test_a_spill_that_cannot_be_read_back_stops_the_run_before_any_delete(
    imgdupes, dupe_tree, monkeypatch
):
    """Verification must not pass pairs whose signatures were lost: when the
    run's temporary file fails to read back, the run stops with one line and
    -dN removes nothing."""
    from imgdupes import columns

    root, families = dupe_tree

    def failing(self, size, offset):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(columns.SignatureSpill, "_read_at", failing)
    before = sorted(os.listdir(root))
    res = imgdupes("--no-cache", "-dN", str(root), "phash", "10")
    assert res.code == 2
    assert res.err.strip().splitlines() == [
        "imgdupes: cannot read back the signatures this run put in its temporary file"
    ]
    assert sorted(os.listdir(root)) == before
