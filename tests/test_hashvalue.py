"""Hashes as values and their names: what ImageHash users and the hash store rely on."""

from __future__ import annotations

import numpy as np
import pytest

from imgdupes.hasher import HashSpec, hash_path
from imgdupes.hashvalue import FORMS, HashKey, HashValue
from imgdupes.model import FileRecord, HashedImage


@pytest.mark.parametrize("side", [8, 12, 16])
def test_value_behaves_as_imagehash_does(side):
    imagehash = pytest.importorskip("imagehash")
    rng = np.random.default_rng(side)
    a_bits, b_bits = rng.random((2, side, side)) > 0.5
    theirs_a, theirs_b = imagehash.ImageHash(a_bits), imagehash.ImageHash(b_bits)
    ours_a = HashValue.from_hex(str(theirs_a), "phash")
    ours_b = HashValue.from_hex(str(theirs_b), "phash")
    assert str(ours_a) == str(theirs_a) and str(ours_b) == str(theirs_b)
    assert ours_a - ours_b == theirs_a - theirs_b
    assert np.array_equal(ours_a.bits, a_bits.ravel())
    assert str(imagehash.hex_to_hash(str(ours_a))) == str(ours_a)
    assert len(ours_a) == side * side
    assert ours_a == HashValue.from_hex(str(ours_a).upper(), "phash") != ours_b
    assert len({ours_a, HashValue.from_hex(str(ours_a), "phash"), ours_b}) == 2


def test_values_of_other_sizes_do_not_compare():
    with pytest.raises(TypeError):
        HashValue.from_hex("ff" * 8) - HashValue.from_hex("ff" * 32)
    with pytest.raises(ValueError):
        HashValue(b"\0" * 3, 64)


def test_every_form_name_reads_back_and_the_store_names_stay():
    for form in FORMS:
        key = HashKey("phash", form)
        assert HashKey.parse(key.name) == key
    # the names in the hash store and the workers' arrays (cache compatibility)
    assert HashKey("phash").name == "phash"
    assert HashKey("phash_org", "tone").name == "phash_org@tone"
    assert HashKey("dhash", "rot90").name == "dhash@rot90"
    for bad in ("", "phash@", "phash@sideways", "@tone"):
        with pytest.raises(ValueError):
            HashKey.parse(bad)


def test_a_files_record_gives_the_method_its_forms(tmp_path, photo):
    path = tmp_path / "p.jpg"
    photo(3, (120, 90)).save(path, quality=90)
    ok, record, w, h = hash_path(
        str(path), HashSpec(("phash",), 64, full_decode=False, rotations=True)
    )
    assert ok
    im = HashedImage.from_record(FileRecord(str(path), 1, 0, 0, 0), "phash", record, w, h)
    assert im.hash == record["phash"] and im.tone == record["phash@tone"]
    assert im.signature == record.signature and len(im.signature) > 0
    assert set(im.turned) == set(FORMS[2:])
    assert im.turned["rot90"] == record.get("phash", "rot90")
    assert im.value(64, "phash") - record.value("phash", 64, "tone") == im.value(
        64, "phash"
    ) - im.value(64, "phash", "tone")
    dhash = HashedImage.from_record(im.file, "dhash", record, w, h)
    assert dhash.tone is None and not dhash.turned  # dhash has no tone form; turns only for phash


def test_set_entries_carry_their_hash_as_a_value(tmp_path):
    from imgdupes.api import find_duplicates
    from imgdupes.samples import make_samples

    make_samples(str(tmp_path / "s"), originals=2)
    # without verification the distance listed is the plain hashes' (not the tone form's)
    sets = find_duplicates(tmp_path / "s", "phash", 10, True, use_cache=False, verify=False)
    assert sets
    first, *others = sets[0].entries
    for e in others:
        assert str(e.value) == e.hash_hex and first.value - e.value == e.distance
