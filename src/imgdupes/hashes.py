"""Perceptual hash functions: pure functions of a grayscale PIL image.

Each function mirrors the ImageHash 4.3 algorithm of the same name step by
step (grayscale first, then a Lanczos resize to the working size), so that on
the same decoded image the bits are identical.  They take an image already
converted to mode ``L`` so that one decode and one conversion serve every
method.  Results are boolean arrays in ImageHash's bit order.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

# The bits' text and distance live with the hash value; named here too, as before.
from .hashvalue import INNER as INNER
from .hashvalue import REGIONS as REGIONS
from .hashvalue import TONE as TONE
from .hashvalue import TONE_METHODS as TONE_METHODS
from .hashvalue import UPPER as UPPER
from .hashvalue import from_hex as from_hex
from .hashvalue import hamming as hamming
from .hashvalue import key_name
from .hashvalue import nbytes_for_bits as nbytes_for_bits
from .hashvalue import to_hex as to_hex
from .medians import row_medians
from .model import HASH_METHODS

if TYPE_CHECKING:
    from PIL import Image

# PIL.Image.Resampling.LANCZOS; PIL itself is not imported here, so that a
# search of stored hashes (--hashes-from) does not load it
LANCZOS = 1


def hash_size_for_bits(bits: int) -> int:
    """Side of the square bit matrix; the seed rounds a non-square down."""
    return max(2, math.isqrt(bits))


def ahash(gray: Image.Image, hash_size: int) -> np.ndarray:
    pixels = np.asarray(gray.resize((hash_size, hash_size), LANCZOS))
    return pixels > pixels.mean()


def _dct2(pixels: np.ndarray) -> np.ndarray:
    import scipy.fftpack

    return scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)


_DCT_MATRICES: dict[int, np.ndarray] = {}


def _dct_matrix(n: int) -> np.ndarray:
    c = _DCT_MATRICES.get(n)
    if c is None:
        k = np.arange(n)[:, None]
        c = 2.0 * np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n))
        _DCT_MATRICES[n] = c
    return c


def _dct2_matmul(pixels: np.ndarray) -> np.ndarray:
    """The same unnormalised 2-D DCT-II as scipy.fftpack's, as two small matrix
    products, of one (n, n) picture or of every picture of a (B, n, n) stack.
    The fast path uses it so that it never imports scipy.fft (0.17 s, more
    than hashing a dozen photos); values agree with scipy's to about 1e-12,
    so bits differ only where a coefficient ties the median."""
    return _dct2_low(pixels, pixels.shape[-1])


def _dct2_low(pixels: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` rows of :func:`_dct2_matmul` (all columns: (B, k, n)),
    the same values bit for bit.  The hashes read the top-left (k-1) x (k-1)
    or k x k block only; cutting the first product's rows saves 5x the work
    and leaves each value's sum as it was, while cutting the second's
    columns too changes BLAS's kernel, and the last bits of some values."""
    c = _dct_matrix(pixels.shape[-1])
    out = np.matmul(np.matmul(c[:k], pixels.astype(np.float64)), c.T)
    # Rounding leaves ~1e-10 where the exact value is 0 (every AC term of a
    # flat picture); scipy's transform returns 0 there, so that all flat
    # pictures share one hash.  Do the same, or their bits would be noise.
    out[np.abs(out) < 1e-6] = 0.0
    return out


def tone_key(method: str) -> str:
    """The name of ``method``'s tone-normalised hash (see imgdupes.hashvalue)."""
    return key_name(method, TONE)


def trimmed_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of one (H, W) uint8 picture less a uniform
    border: :func:`imgdupes.thumbs.trimmed_boxes`, the one rule, for one picture."""
    from . import thumbs

    left, top, right, bottom = thumbs.trimmed_boxes(gray[None])[0].tolist()
    return left, top, right, bottom


def region_hashes(
    methods: tuple[str, ...] | list[str], grays: list[np.ndarray], hash_size: int
) -> dict[str, np.ndarray]:
    """``{method@inner, method@upper: (B, bits) bool}`` of pictures given as
    (H, W) uint8 arrays: the DCT hash of each region (see :data:`REGIONS`),
    Lanczos-reduced from the region's box as the plain hash is from the picture."""
    wanted = [m for m in methods if m in TONE_METHODS]
    side = hash_size * 4
    out = {
        key_name(m, r): np.zeros((len(grays), hash_size**2), dtype=bool)
        for m in wanted
        for r in REGIONS
    }
    if not wanted or not grays:
        return out
    from PIL import Image  # only where pictures are decoded (see LANCZOS)

    regions = {r: np.zeros((len(grays), side, side), dtype=np.float64) for r in REGIONS}
    for k, g in enumerate(grays):
        img = Image.fromarray(g)
        x0, y0, x1, y1 = trimmed_box(g)
        dx, dy = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
        inner = (x0 + dx, y0 + dy, x1 - dx, y1 - dy)
        upper = (0, 0, g.shape[1], 0.8 * g.shape[0])
        for name, box in ((INNER, inner), (UPPER, upper)):
            regions[name][k] = np.asarray(img.resize((side, side), LANCZOS, box=box))
    for name, pixels in regions.items():
        dct = _dct2_matmul(pixels)
        for method in wanted:
            out[key_name(method, name)] = _dct_bits_batch(dct, hash_size, method)
    return out


def _ranks(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's rank among all (ties share their mean rank), same shape.

    Any brightness, contrast or gamma change that keeps the order of the
    pixels keeps their ranks, so a DCT hash of the ranks survives edits that
    move a plain phash 5-8 bits; a flat picture stays flat (all ranks tie)."""
    flat = pixels.ravel()
    values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    start = np.cumsum(counts) - counts
    mean_rank = start + (counts - 1) / 2.0
    return mean_rank[inverse].reshape(pixels.shape)


def _dct_bits(dct: np.ndarray, hash_size: int, method: str) -> np.ndarray:
    low = (
        dct[:hash_size, :hash_size]
        if method == "phash"
        else dct[1 : hash_size + 1, 1 : hash_size + 1]
    )
    return low > np.median(low)


def _with_tones(
    out: dict[str, np.ndarray],
    methods: tuple[str, ...] | list[str],
    pixels: np.ndarray,
    hash_size: int,
) -> None:
    """Add ``method@tone`` bits for the DCT methods, from their resized pixels."""
    wanted = [m for m in methods if m in TONE_METHODS]
    if not wanted:
        return
    dct = _dct2_matmul(_ranks(pixels))
    for method in wanted:
        out[tone_key(method)] = _dct_bits(dct, hash_size, method)


def phash(gray: Image.Image, hash_size: int, highfreq_factor: int = 4) -> np.ndarray:
    img_size = hash_size * highfreq_factor
    pixels = np.asarray(gray.resize((img_size, img_size), LANCZOS))
    low = _dct2(pixels)[:hash_size, :hash_size]
    return low > np.median(low)


def phash_org(gray: Image.Image, hash_size: int, highfreq_factor: int = 4) -> np.ndarray:
    """The seed's DCT hash: the DC row and column are left out of the block.

    The DC coefficient is far larger than the others and drags the median, so
    the seed takes ``dct[1:n+1, 1:n+1]`` instead of ImageHash's ``dct[:n, :n]``.
    """
    img_size = hash_size * highfreq_factor
    pixels = np.asarray(gray.resize((img_size, img_size), LANCZOS))
    low = _dct2(pixels)[1 : hash_size + 1, 1 : hash_size + 1]
    return low > np.median(low)


def dhash(gray: Image.Image, hash_size: int) -> np.ndarray:
    pixels = np.asarray(gray.resize((hash_size + 1, hash_size), LANCZOS))
    return pixels[:, 1:] > pixels[:, :-1]


def _check_whash_size(hash_size: int) -> None:
    if hash_size & (hash_size - 1):
        raise ValueError("whash needs a hash size that is a power of two (64, 256, 1024 bits)")


def _unknown(method: str) -> ValueError:
    return ValueError(f"unknown hash method {method!r}; choose from {', '.join(HASH_METHODS)}")


def whash_scale(original_size: tuple[int, int], hash_size: int) -> int:
    """ImageHash's working size for whash: the largest power of two within the
    image's shorter side, taken from the *original* size so that a reduced
    decode gives the same working size as a full one."""
    natural = 2 ** int(np.log2(max(1, min(original_size))))
    return max(natural, hash_size)


def whash(
    gray: Image.Image, hash_size: int, original_size: tuple[int, int] | None = None
) -> np.ndarray:
    """ImageHash's whash (Haar, largest LL removed), bit for bit.

    ImageHash runs a full wavelet decomposition and reconstruction of a
    ``scale x scale`` picture (2048 x 2048 for a 12 MP photo: about half a
    second).  With Haar and only the top LL removed, that reconstruction is
    the picture minus its mean, and the LL band it keeps is the block sums
    of that; comparing with the median ignores the constant.  So the bits are
    "block sum > median of block sums", computed here on exact integers.  The
    two differ only when a block sum equals the median exactly (flat pictures),
    where ImageHash's answer depends on float rounding: those take the
    wavelet route so that the bits still match.
    """
    _check_whash_size(hash_size)
    image_scale = whash_scale(original_size or gray.size, hash_size)
    resized = np.asarray(gray.resize((image_scale, image_scale), LANCZOS))
    block = image_scale // hash_size
    if block > 1:
        sums = resized.reshape(hash_size, block, hash_size, block).sum(axis=(1, 3), dtype=np.int64)
        med = np.median(sums)
        if not np.any(sums == med):
            return sums > med
    return _whash_wavelets(resized, image_scale, hash_size)


def whash_projected(
    gray: Image.Image, hash_size: int, original_size: tuple[int, int] | None = None
) -> np.ndarray:
    """whash for a reduced decode, without building the ``scale x scale`` picture.

    whash's bits are block sums of the picture Lanczos-resized to its working
    size (see :func:`whash`), and both steps are linear and separable: the
    block sums are ``Rv @ pixels @ Rh.T`` where each row of ``R`` adds up the
    Lanczos weights of one block of output rows.  The working size still
    comes from the original size.  Only Pillow's rounding of the
    intermediate picture to 8 bits is left out, so the bits can differ from
    :func:`whash` on the same input where a block sum sits at the median.
    """
    original = original_size or gray.size
    return compute_batch(("whash",), [np.asarray(gray)], hash_size, [original])["whash"][0].reshape(
        hash_size, hash_size
    )


def _whash_wavelets(resized: np.ndarray, image_scale: int, hash_size: int) -> np.ndarray:
    import pywt

    ll_max_level = int(np.log2(image_scale))
    dwt_level = ll_max_level - int(np.log2(hash_size))
    pixels = resized / 255.0
    coeffs = list(pywt.wavedec2(pixels, "haar", level=ll_max_level))
    coeffs[0] *= 0
    pixels = pywt.waverec2(coeffs, "haar")
    low = pywt.wavedec2(pixels, "haar", level=dwt_level)[0]
    return low > np.median(low)


def compute(
    method: str,
    gray: Image.Image,
    hash_size: int,
    original_size: tuple[int, int] | None = None,
) -> np.ndarray:
    if method == "ahash":
        return ahash(gray, hash_size)
    if method == "phash":
        return phash(gray, hash_size)
    if method == "phash_org":
        return phash_org(gray, hash_size)
    if method == "dhash":
        return dhash(gray, hash_size)
    if method == "whash":
        return whash(gray, hash_size, original_size)
    raise _unknown(method)


def compute_all(
    methods: tuple[str, ...] | list[str],
    gray: Image.Image,
    hash_size: int,
    original_size: tuple[int, int] | None = None,
    exact: bool = True,
) -> dict[str, np.ndarray]:
    """Several methods from one decoded picture; phash and phash_org share
    their resize and DCT (the same steps as computing each on its own), and
    each of them also yields ``method@tone``, the hash of its resized pixels'
    ranks (see :func:`_ranks`).
    ``exact=False`` (the fast decoding path) is :func:`compute_batch` on a
    stack of one picture."""
    if not exact:
        batch = compute_batch(methods, [np.asarray(gray)], hash_size, [original_size or gray.size])
        return {key: bits[0].reshape(hash_size, hash_size) for key, bits in batch.items()}
    out: dict[str, np.ndarray] = {}
    dct = None
    for method in methods:
        if method in ("phash", "phash_org"):
            if dct is None:
                side = hash_size * 4
                pixels = np.asarray(gray.resize((side, side), LANCZOS))
                dct = _dct2(pixels)
                _with_tones(out, methods, pixels, hash_size)
            out[method] = _dct_bits(dct, hash_size, method)
        else:
            out[method] = compute(method, gray, hash_size, original_size)
    return out


# --- the fast path: every hash of a chunk of pictures in a few array operations -------------


def compute_batch(
    methods: tuple[str, ...] | list[str],
    grays: list[np.ndarray],
    hash_size: int,
    original_sizes: list[tuple[int, int]],
) -> dict[str, np.ndarray]:
    """The fast path's hashes of many decoded pictures (mode L arrays, any sizes).

    Returns ``{key: (B, bits) bool}`` in input order, for every method and
    ``method@tone``.  Pictures of one size (and whash working size) are
    stacked and go through one shared Lanczos product
    (:func:`imgdupes.resample.shrink_batch`: Pillow's pixels), one batched
    DCT, one median and one rank per row; a folder of thumbnails shares a
    handful of sizes, so a chunk costs a few array operations, not a few
    dozen per picture.  whash is a projection (block sums of the resized
    picture, see :func:`whash_projected`)."""
    check_batch(methods, hash_size)
    out = {key: np.zeros((len(grays), hash_size**2), dtype=bool) for key in batch_keys(methods)}
    groups: dict[tuple[tuple[int, int], int], list[int]] = {}
    for k, (pixels, original) in enumerate(zip(grays, original_sizes, strict=True)):
        scale = whash_scale(original, hash_size) if "whash" in methods else 0
        groups.setdefault((pixels.shape, scale), []).append(k)
    from . import thumbs

    for (_, scale), members in groups.items():
        small = thumbs.reduce_stack(np.stack([grays[k] for k in members]), None, hash_size, scale)
        rows = np.asarray(members)
        for key, bits in bits_from_thumbnails(methods, small, hash_size).items():
            out[key][rows] = bits
    return out


def check_batch(methods: tuple[str, ...] | list[str], hash_size: int) -> None:
    """ValueError (the reason) for a method or hash size the fast path cannot compute."""
    for method in methods:
        if method not in HASH_METHODS:
            raise _unknown(method)
    if "whash" in methods:
        _check_whash_size(hash_size)


def batch_keys(methods: tuple[str, ...] | list[str]) -> list[str]:
    """The keys :func:`compute_batch` returns: every method and ``method@tone``."""
    return [*methods, *(tone_key(m) for m in methods if m in TONE_METHODS)]


def bits_from_thumbnails(
    methods: tuple[str, ...] | list[str], small: dict[str, np.ndarray], hash_size: int
) -> dict[str, np.ndarray]:
    """``{key: (B, bits) bool}`` from a stack's resized pictures
    (:func:`imgdupes.thumbs.reduce_stack`): ahash, dhash, whash's block sums,
    and for phash and phash_org their plain, tone and (where ``small`` holds
    the regions' pictures) region hashes from one batched DCT of all of them,
    each the same bits as :func:`compute_batch` and :func:`region_hashes`."""
    nbits = hash_size * hash_size
    out: dict[str, np.ndarray] = {}
    b = len(small["phash"])
    if "ahash" in methods:
        p = small["ahash"]
        out["ahash"] = (p > p.mean(axis=(1, 2), keepdims=True)).reshape(b, nbits)
    if "dhash" in methods:
        p = small["dhash"]
        out["dhash"] = (p[:, :, 1:] > p[:, :, :-1]).reshape(b, nbits)
    if "whash" in methods:
        out["whash"] = _above_median(small["whash"].reshape(b, nbits))
    tones = [m for m in methods if m in TONE_METHODS]
    if not tones:
        return out
    p = small["phash"]
    names = [None, TONE, *(r for r in REGIONS if r in small)]
    stack = [p, _ranks_batch(p), *(small[r] for r in names[2:])]
    dct = _dct2_low(np.concatenate(stack), hash_size + 1)
    for method in tones:
        bits = _dct_bits_batch(dct, hash_size, method)
        for k, name in enumerate(names):
            out[key_name(method, name) if name else method] = bits[k * b : (k + 1) * b]
    return out


def _ranks_batch(pixels: np.ndarray) -> np.ndarray:
    """:func:`_ranks` of every picture of a (B, n, n) uint8 stack, from one
    histogram per picture (256 levels) instead of a sort."""
    b = pixels.shape[0]
    flat = pixels.reshape(b, -1).astype(np.int64)
    flat += (np.arange(b, dtype=np.int64) * 256)[:, None]
    counts = np.bincount(flat.ravel(), minlength=b * 256).reshape(b, 256)
    start = np.cumsum(counts, axis=1) - counts
    mean_rank = (start + (counts - 1) / 2.0).ravel()
    return mean_rank[flat].reshape(pixels.shape)


def _above_median(values: np.ndarray) -> np.ndarray:
    return values > row_medians(values)[:, None]


def _dct_bits_batch(dct: np.ndarray, hash_size: int, method: str) -> np.ndarray:
    low = (
        dct[:, :hash_size, :hash_size]
        if method == "phash"
        else dct[:, 1 : hash_size + 1, 1 : hash_size + 1]
    )
    return _above_median(low.reshape(len(dct), -1))


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """(B, bits) bool -> (B, nbytes) uint8, each row packed like :func:`pack`."""
    return np.packbits(bits.reshape(len(bits), -1), axis=1)


def preload(methods: tuple[str, ...] | list[str], exact: bool = True) -> None:
    """Import the libraries ``methods`` need (before worker processes fork).

    The fast path (``exact=False``) needs neither scipy nor pywt."""
    if not exact:
        return
    if "phash" in methods or "phash_org" in methods:
        import scipy.fftpack  # noqa: F401
    if "whash" in methods:
        import pywt  # noqa: F401


# --- bit packing --------------------------------------------------------------------------


def pack(bits: np.ndarray) -> bytes:
    """Bits (any shape, ImageHash order) to bytes, first bit as the high bit of byte 0."""
    return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes()


def as_matrix(packed: list[bytes] | tuple[bytes, ...], nbits: int) -> np.ndarray:
    """Stack packed hashes into an (N, nbytes) uint8 array, the search stage's input."""
    nbytes = nbytes_for_bits(nbits)
    if not packed:
        return np.zeros((0, nbytes), dtype=np.uint8)
    return np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(len(packed), nbytes)
