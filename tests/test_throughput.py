"""Chunked hashing, the store's bulk reads and writes, and dense clusters give what
file-by-file work gave."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from imgdupes import hashes, verify
from imgdupes.cache import HashStore
from imgdupes.discover import discover
from imgdupes.hasher import HashSpec, hash_chunk, hash_files, hash_path
from imgdupes.model import HASH_METHODS


def _folder(tmp_path, photo):
    """Pictures of several sizes (two of each), a broken file among them."""
    root = tmp_path / "pics"
    root.mkdir()
    names = []
    for k, size in enumerate([(96, 72), (96, 72), (640, 480), (97, 61), (97, 61), (1200, 900)]):
        name = root / f"p{k}.jpg"
        photo(30 + k, size).save(name, quality=90)
        names.append(str(name))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    names.insert(3, str(root / "broken.jpg"))
    return root, names


@pytest.mark.parametrize("full_decode", [False, True])
def test_a_chunk_gives_each_file_what_hashing_it_alone_gives(tmp_path, photo, full_decode):
    _, names = _folder(tmp_path, photo)
    spec = HashSpec(("phash",), 64, full_decode=full_decode)
    chunk = hash_chunk(names, spec)
    assert chunk.ok.tolist() == [not n.endswith("broken.jpg") for n in names]
    assert "broken" not in chunk.reasons[3] and chunk.reasons[3]
    for k, name in enumerate(names):
        ok, payload, w, h = hash_path(name, spec)
        assert chunk.outcome(k) == (ok, payload, w, h)
        if ok:
            assert set(payload.hashes) >= {*spec.computed, "phash@tone"} and payload.signature


def test_fast_batch_keeps_the_bits_of_one_picture_at_a_time(photo):
    """Stacking pictures of one size must not change any picture's bits."""
    grays = [np.asarray(photo(s, (160, 120)).convert("L")) for s in range(6)]
    together = hashes.compute_batch(HASH_METHODS, grays, 8, [(1600, 1200)] * 6)
    for k, gray in enumerate(grays):
        alone = hashes.compute_batch(HASH_METHODS, [gray], 8, [(1600, 1200)])
        for key in together:
            assert np.array_equal(together[key][k], alone[key][0]), key


def test_hash_files_in_workers_matches_in_process(tmp_path, photo):
    root, _ = _folder(tmp_path, photo)
    for k in range(12):  # enough files for the pool
        photo(60 + k, (96, 72)).save(root / f"s{k}.jpg", quality=85)
    files = discover([str(root)]).files
    spec = HashSpec(("dhash",), 64, full_decode=False)
    one, err1 = hash_files(files, spec, num_proc=1)
    two, err2 = hash_files(files, spec, num_proc=2)
    assert one == two and [e.path for e in err1] == [e.path for e in err2]
    assert [f.path for f, *_ in one] == [f.path for f in files if "broken" not in f.path]


def test_store_bulk_read_sees_changes_and_both_look_up_plans_agree(tmp_path, photo):
    root, _ = _folder(tmp_path, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    files = discover([str(root)]).files
    with HashStore.open(str(tmp_path / "cache")) as store:
        first, _ = hash_files(files, spec, store=store)
        # the whole store asked for (one scan) and a small part of it (look-ups by path)
        hashed = [f for f, *_ in first]
        hits = store.lookup_arrays(hashed, spec.decode_mode, 64, spec.wanted, 1)
        part = store.lookup_arrays(hashed[2:4], spec.decode_mode, 64, spec.wanted, 1)
        assert sorted(hits.index.tolist()) == list(range(len(hashed)))
        assert sorted(part.index.tolist()) == [0, 1]
        for m in spec.wanted:
            whole = dict(zip(hits.index.tolist(), hits.hashes[m].tolist(), strict=True))
            for k, i in enumerate(part.index.tolist()):
                assert part.hashes[m][k].tolist() == whole[i + 2]
        # a file rewritten in place under its name is a miss, the others are not
        changed = root / "p0.jpg"
        photo(99, (96, 72)).save(changed, quality=90)
        files = discover([str(root)]).files
        again = store.lookup_arrays(files, spec.decode_mode, 64, spec.wanted, 1)
        missed = {files[i].path for i in range(len(files))} - {
            files[i].path for i in again.index.tolist()
        }
        assert missed == {str(changed), str(root / "broken.jpg")}
        second, _ = hash_files(files, spec, store=store)

    def wanted(rows):
        return [({k: p[k] for k in spec.wanted}, p.signature) for _, p, *_ in rows]

    assert wanted(second)[1:] == wanted(first)[1:]
    assert second[0][1]["phash"] != first[0][1]["phash"]
    assert second[0][1] == hash_path(str(changed), spec)[1]


def test_store_key_follows_a_symlinked_file_and_folder(tmp_path, photo):
    real = tmp_path / "real"
    real.mkdir()
    photo(5, (96, 72)).save(real / "a.jpg")
    os.symlink(real, tmp_path / "linked")
    os.symlink(real / "a.jpg", real / "b.jpg")
    with HashStore.open(str(tmp_path / "cache")) as store:
        key = store.real_path(str(real / "a.jpg"))
        assert store.real_path(str(tmp_path / "linked" / "a.jpg")) == key
        assert store.real_path(str(real / "b.jpg")) == key
        assert store.real_path(os.path.relpath(real / "a.jpg")) == key


def test_a_dense_cluster_verified_a_block_at_a_time_is_one_set(monkeypatch, photo):
    """Every pair of 40 near-identical pictures, checked 3 at a time."""
    from imgdupes.signature import compute

    base = photo(8, (64, 48))
    rng = np.random.default_rng(0)
    sigs = []
    for _ in range(40):
        arr = np.asarray(base, dtype=np.int16) + rng.integers(-2, 3, (48, 64, 3))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        sigs.append(compute(img, img.convert("L")))
    other = photo(9, (64, 48))
    sigs.append(compute(other, other.convert("L")))
    n = len(sigs)
    pi, pj = np.triu_indices(n, 1)
    keys = [bytes([k]) for k in range(n)]
    monkeypatch.setattr(verify, "_PAIRS_PER_BLOCK", 7)
    monkeypatch.setattr(verify, "_PAIRS_PER_STEP", 3)
    labels = verify.refine_components(sigs, np.arange(n), pi, pj, keys)
    assert len(set(labels[:40].tolist())) == 1 and labels[0] >= 0
    assert labels[40] == -1  # the unrelated picture is linked to none


def test_joining_blocks_of_links_gives_the_graphs_components():
    from imgdupes.group import components, flatten, join_into

    rng = np.random.default_rng(4)
    n = 300
    a, b = rng.integers(0, n, 260), rng.integers(0, n, 260)
    root = np.arange(n)
    for lo in range(0, len(a), 37):
        join_into(root, a[lo : lo + 37], b[lo : lo + 37])
    flatten(root)
    want = components(n, a, b)
    ours = np.unique(root, return_inverse=True)[1].reshape(-1)
    # the same partition of the nodes (labels may be numbered differently)
    assert (
        len({(x, y) for x, y in zip(ours.tolist(), want.tolist(), strict=True)})
        == len(set(want.tolist()))
        == len(set(ours.tolist()))
    )


def test_a_chunk_bigger_than_the_pixel_budget_is_hashed_in_parts(tmp_path, photo, monkeypatch):
    import imgdupes.hasher as hasher

    _, names = _folder(tmp_path, photo)
    spec = HashSpec(("phash",), 64, full_decode=False)
    whole = hash_chunk(names, spec)
    monkeypatch.setattr(hasher, "CHUNK_PIXELS", 10_000)  # about one small picture
    parts = hash_chunk(names, spec)
    assert [whole.outcome(k) for k in range(len(names))] == [
        parts.outcome(k) for k in range(len(names))
    ]
