"""The fast path's shared resizes must give the pictures (and hashes) Pillow's resizes give."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgdupes import hashes, resample
from imgdupes.hasher import _one_blas_thread
from imgdupes.model import HASH_METHODS

LANCZOS = Image.Resampling.LANCZOS
SIZES = [(8, 8), (9, 8), (32, 32), (16, 16)]


def synthetic(kind: str, size: tuple[int, int]) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    if kind == "gradient":
        arr = x * 255.0 / max(1, w - 1)
    elif kind == "stripes":
        arr = np.where((x // 7) % 2 == 0, 255.0, 0.0)
    elif kind == "edge":  # a sharp edge right on output pixel centres: exact halves
        arr = np.where(x < w // 2, 0.0, 255.0)
    elif kind == "flat":
        arr = np.full((h, w), 77.0)
    else:
        arr = np.random.default_rng(3).integers(0, 256, (h, w))
    return Image.fromarray(arr.astype(np.uint8), "L")


def pictures(photo):
    yield photo(7, (500, 375)).convert("L")
    yield photo(8, (750, 500)).convert("L")
    yield photo(9, (270, 480)).convert("L")
    for kind in ("gradient", "stripes", "edge", "flat", "noise"):
        for size in ((512, 384), (256, 256), (32, 300), (9, 9)):
            yield synthetic(kind, size)


def test_shrink_gives_pillows_pixels(photo):
    same = total = 0
    with _one_blas_thread():
        for gray in pictures(photo):
            ours, _ = resample.shrink(gray, SIZES)
            for (w, h), got in zip(SIZES, ours, strict=True):
                want = np.asarray(gray.resize((w, h), LANCZOS))
                assert got.shape == want.shape == (h, w)
                if gray.size[1] <= 1.5 * gray.size[0]:
                    assert np.array_equal(got, want), (gray.size, (w, h))
                # Pillow runs the vertical pass first on tall pictures: +-1 there
                assert np.abs(got.astype(int) - want).max() <= 1, (gray.size, (w, h))
                same += int((got == want).sum())
                total += want.size
    assert same / total > 0.995, f"{total - same} of {total} pixels differ"


def test_fast_hashes_match_the_per_method_functions(photo):
    """compute_all's shared path against each method run on its own (Pillow resizes)."""
    differing = 0
    with _one_blas_thread():
        for seed in range(12):
            gray = photo(seed, (504, 378)).convert("L")
            original = (4032, 3024)
            fast = hashes.compute_all(HASH_METHODS, gray, 8, original, exact=False)
            for method in HASH_METHODS:
                if method == "whash":  # Pillow's 2048 x 2048 resize, then block sums
                    want = hashes.whash(gray, 8, original)
                else:
                    want = hashes.compute(method, gray, 8, original)
                differing += int((fast[method] != want).sum())
    assert differing <= 2, f"{differing} bits differ over 12 pictures x 5 methods"


def test_whash_block_sums_need_a_power_of_two():
    gray = synthetic("noise", (300, 200))
    with pytest.raises(ValueError, match="power of two"):
        hashes.compute_all(("whash",), gray, 12, (3000, 2000), exact=False)


def test_blas_held_to_one_thread_while_hashing_and_restored_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    with _one_blas_thread():
        inside = [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)
    assert after == before


def test_one_reduction_gives_pillows_thumbnails_and_regions(photo):
    """thumbs.reduce_stack: the signature's thumbnails and the regions' pictures
    are Pillow's resizes (with box=) of the same picture, bit for bit."""
    from PIL import ImageOps

    from imgdupes import thumbs

    wide = [photo(20 + k, (96, 72)) for k in range(3)] + [photo(30, (256, 192))]
    framed = ImageOps.expand(photo(31, (200, 150)), border=(12, 30, 12, 4), fill=(250, 250, 250))
    cases = [*wide, framed, photo(32, (72, 96)), photo(34, (50, 93)), photo(33, (600, 450))]
    with _one_blas_thread():
        for color in cases:
            gray = color.convert("L")
            got = thumbs.reduce_stack(np.asarray(gray)[None], np.asarray(color)[None], 8)
            factor = min(gray.size) // 128
            small_gray = gray.reduce(factor) if factor >= 2 else gray
            small_color = color.reduce(factor) if factor >= 2 else color
            s = np.asarray(small_gray)
            x0, y0, x1, y1 = hashes.trimmed_box(s)
            dx, dy = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
            want = {
                "inner": small_gray.resize((32, 32), LANCZOS, (x0 + dx, y0 + dy, x1 - dx, y1 - dy)),
                "upper": small_gray.resize((32, 32), LANCZOS, (0, 0, s.shape[1], 0.8 * s.shape[0])),
            }
            if gray.size[1] <= gray.size[0]:  # Pillow's own pass order on tall ones: +-1
                want["gray"] = small_gray.resize((16, 16), LANCZOS)
                want["fine"] = small_gray.resize((32, 32), LANCZOS)
                want["color"] = small_color.resize((8, 8), LANCZOS)
            for key, picture in want.items():
                assert np.array_equal(got[key][0], np.asarray(picture)), (color.size, key)
    box = thumbs.trimmed_boxes(np.asarray(framed.convert("L"))[None])[0]
    assert tuple(box) == (12, 30, 212, 180)


def test_border_search_of_a_stack_is_the_per_picture_one():
    """thumbs.trimmed_boxes against hashes.trimmed_box: tiny sides (nothing to
    trim), borders near black and white, and uniform pictures."""
    from imgdupes import thumbs

    rng = np.random.default_rng(5)
    for h, w in [(1, 1), (2, 3), (3, 40), (9, 9), (30, 17), (64, 96)]:
        stack = rng.integers(0, 256, (4, h, w), dtype=np.uint8)
        stack[1, : max(1, h // 4)] = 3  # a top border near black
        stack[2, :, : max(1, w // 5)] = 250  # a left border near white
        stack[3] = 77  # uniform: left whole
        want = [hashes.trimmed_box(g) for g in stack]
        assert [tuple(b) for b in thumbs.trimmed_boxes(stack).tolist()] == want, (h, w)


def test_near_half_sums_read_from_taps_and_bands_are_the_whole_rows_sums():
    """The exact sums that settle a float32 sum lying near a half, read from a
    pass's taps (wide rows) or a colour band, are the sums over whole rows."""
    rng = np.random.default_rng(5)
    for length, specs in (
        (600, [resample.lanczos(8), resample.lanczos(32), resample.lanczos(32, 10.5, 590.25)]),
        (96, [resample.lanczos(9), resample.lanczos(16)]),
        (900, [resample.bands(8)]),
    ):
        rows = rng.integers(0, 256, size=(40, length), dtype=np.uint8)
        _, _, weights = resample._across_specs(length, tuple(specs))
        r = rng.integers(0, len(rows), size=500)
        c = rng.integers(0, len(weights), size=500)
        whole = np.einsum("kj,kj->k", rows[r].astype(np.float64), weights[c])
        assert np.array_equal(resample._exact_sums(rows, r, c, weights, specs), whole)
