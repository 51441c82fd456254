"""Hash bits must equal ImageHash 4.3's on the same decoded picture."""

from __future__ import annotations

import imagehash
import numpy as np
import pytest
import scipy.fftpack
from PIL import Image, ImageOps

from imgdupes import hashes
from imgdupes.hasher import HashSpec, hash_path

REFERENCE = {
    "ahash": imagehash.average_hash,
    "phash": imagehash.phash,
    "dhash": imagehash.dhash,
    "whash": imagehash.whash,
}


def seed_phash_org(image: Image.Image, hash_size: int) -> str:
    """The original imgdupes' phash_org, written out from its description."""
    img = image.convert("L").resize((hash_size * 4, hash_size * 4), Image.Resampling.LANCZOS)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(np.asarray(img), axis=0), axis=1)
    block = dct[1 : hash_size + 1, 1 : hash_size + 1]
    return str(imagehash.ImageHash(block > np.median(block)))


@pytest.mark.parametrize("bits", [64, 256])
@pytest.mark.parametrize("method", sorted(REFERENCE))
def test_bits_identical_to_imagehash(tmp_path, photo, method, bits):
    side = int(bits**0.5)
    for seed, size in ((1, (640, 480)), (2, (333, 517)), (3, (97, 61))):
        path = tmp_path / f"p{seed}.png"
        photo(seed, size).save(path)
        ok, payload, w, h = hash_path(str(path), HashSpec((method,), bits, full_decode=True))
        assert ok, payload
        ours = hashes.to_hex(payload[method], bits)
        with Image.open(path) as img:
            theirs = str(REFERENCE[method](img, hash_size=side))
        assert ours == theirs, (method, bits, size)
        assert (w, h) == size


def test_144_bit_hashes_match_imagehash(tmp_path, photo):
    path = tmp_path / "p.jpg"
    photo(7).save(path, quality=90)
    ok, payload, _, _ = hash_path(str(path), HashSpec(("phash", "dhash"), 144, full_decode=True))
    assert ok
    with Image.open(path) as img:
        assert hashes.to_hex(payload["phash"], 144) == str(imagehash.phash(img, hash_size=12))
        assert hashes.to_hex(payload["dhash"], 144) == str(imagehash.dhash(img, hash_size=12))


def test_phash_org_is_the_seeds_dct_without_dc(tmp_path, photo):
    path = tmp_path / "p.png"
    photo(11).save(path)
    ok, payload, _, _ = hash_path(str(path), HashSpec(("phash_org", "phash"), 64, True))
    assert ok
    with Image.open(path) as img:
        assert hashes.to_hex(payload["phash_org"], 64) == seed_phash_org(img, 8)
    # and it is a different hash from ImageHash's phash
    assert payload["phash_org"] != payload["phash"]


def test_exif_orientation_is_applied_before_hashing(tmp_path, photo):
    upright = photo(21, (400, 300))
    plain = tmp_path / "upright.jpg"
    upright.save(plain, quality=95)
    # Store the pixels rotated and tag them "rotate 90 CW to display" (orientation 6).
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = tmp_path / "tagged.jpg"
    stored.save(tagged, quality=95, exif=exif.tobytes())
    spec = HashSpec(("phash",), 64, full_decode=True)
    ok1, h1, w1, hh1 = hash_path(str(plain), spec)
    ok2, h2, w2, hh2 = hash_path(str(tagged), spec)
    assert ok1 and ok2
    assert (w2, hh2) == (400, 300)  # the size a person sees
    assert hashes.hamming(h1["phash"], h2["phash"]) <= 2
    with Image.open(tagged) as img:
        expected = str(imagehash.phash(ImageOps.exif_transpose(img)))
    assert hashes.to_hex(h2["phash"], 64) == expected


def test_hex_round_trip_for_odd_sizes():
    rng = np.random.default_rng(0)
    for nbits in (4, 9, 64, 81, 144, 256):
        bits = rng.integers(0, 2, nbits).astype(bool)
        packed = hashes.pack(bits)
        text = hashes.to_hex(packed, nbits)
        assert text == imagehash._binary_array_to_hex(bits)
        assert hashes.from_hex(text, nbits) == packed
