"""Decoding: the only stage that knows about image formats.

It turns a path into a grayscale image ready for hashing plus the picture's
size as a person sees it (after EXIF orientation).  Every failure becomes a
:class:`DecodeError` whose message is the one line shown to the user.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import workers
from .formats import RAW_EXTENSIONS, is_heif

# Transparent pixels are composited on this fixed grey so that an image and
# its flattened copy hash alike whatever the hidden colour under the alpha.
TRANSPARENT_BACKGROUND = (255, 255, 255)


class DecodeError(Exception):
    """An image that cannot be used; ``str()`` is the reason shown to the user."""


@dataclass(slots=True)
class Decoded:
    gray: Image.Image  # mode "L", orientation applied
    color: Image.Image  # mode "RGB", orientation applied, transparency composited
    width: int  # original pixel size after EXIF orientation
    height: int


def _to_gray(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "L":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # convert("L") clips 16-bit values at 255, which would turn most
        # 16-bit images white; scale the full range down instead.
        return _sixteen_bit_to_gray(img)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8), "L")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, TRANSPARENT_BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("L")
    if mode not in ("RGB", "1", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    return img.convert("L")


# Rows converted per step: a 13000x13000 16-bit picture as float64 at once
# would need 1.3 GB; in steps of this many pixels it needs a few MB.
_GRAY_STEP_PIXELS = 1 << 22


def _sixteen_bit_to_gray(img: Image.Image) -> Image.Image:
    arr = np.asarray(img)
    hi = 65535.0 if img.mode.startswith("I;16") or int(arr.max(initial=0)) > 255 else 255.0
    out = np.empty(arr.shape, dtype=np.uint8)
    step = max(1, _GRAY_STEP_PIXELS // max(1, arr.shape[1]))
    for lo in range(0, arr.shape[0], step):
        part = arr[lo : lo + step].astype(np.float64)
        out[lo : lo + step] = np.clip(part * (255.0 / hi), 0, 255).round()
    del arr
    return Image.fromarray(out, "L")


def _to_rgb(img: Image.Image, gray: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("L", "1") or img.mode.startswith("I") or img.mode == "F":
        return gray.convert("RGB")
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, TRANSPARENT_BACKGROUND + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


# Pillow refuses more than 2x this many pixels outright (DecompressionBombError).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# Pictures above this many pixels are decoded by one hashing worker at a time,
# so eight workers meeting eight huge files do not need eight times the memory.
BIG_PIXELS = 40_000_000


# Memory one decode may take.  A format that cannot be decoded smaller or in
# parts is skipped (with the reason) when its estimate is above this.
DECODE_BUDGET = 1_400_000_000
# Bytes per pixel a full decode costs, measured (benchmarks/decode_memory.py):
# Pillow's WebP decoder holds libwebp's RGBA buffer, a copy as bytes and the
# image (about 15.5 B/px); other formats about twice the decoded image.
_WEBP_BYTES_PER_PIXEL = 16
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "LA": 2}


def _check_budget(img: Image.Image, reduce_to: int | None) -> None:
    w, h = img.size
    pixels = w * h
    if img.format == "JPEG" and reduce_to:
        return  # decoded at 1/2..1/8 scale (draft)
    if img.format == "WEBP":
        cost = pixels * _WEBP_BYTES_PER_PIXEL
    else:
        cost = pixels * _MODE_BYTES.get(img.mode, 4) * 2
    if cost > DECODE_BUDGET:
        raise DecodeError(
            f"skipped: a {w}x{h} {img.format or 'image'} needs about {cost / 1e9:.1f} GB to "
            f"decode, more than the {DECODE_BUDGET / 1e9:.1f} GB one decode may use"
        )


@contextlib.contextmanager
def big_image_slot() -> Iterator[None]:
    slot = workers.big_slot()  # shared by every worker of the pool (workers.py)
    if slot is None:
        yield
        return
    with slot:
        yield


@contextlib.contextmanager
def pillow_quiet() -> Iterator[None]:
    """Pillow's warnings held back while it reads a file: a file it cannot
    read raises (and gets its one line); what it only warns about is not the
    user's to see as a traceback-like line on stderr.  Pillow warns between
    1x and 2x its pixel limit (real 100 MP photos) and raises above 2x; it
    warns about corrupt EXIF blocks, which it then ignores, as we do."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        yield


def open_regular(path: str) -> io.BufferedReader:
    """Open ``path`` for reading without ever blocking, and only if it is a
    regular file *as opened* (a FIFO or device swapped in after discovery
    would hang a worker, or never end)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise DecodeError("is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise DecodeError("not a regular file")
        # O_NONBLOCK means nothing for a regular file; cleared all the same
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def decode(path: str, reduce_to: int | None = None) -> Decoded:
    """Decode ``path`` for hashing.

    ``reduce_to``: when given, the picture is decoded or shrunk early to the
    smallest size whose shorter side is still at least this many pixels:
    JPEG decodes in the DCT domain at 1/2, 1/4 or 1/8 scale (Pillow's draft
    mode), other formats are box-reduced by a whole factor right after
    loading.  ``None`` decodes in full, which gives bit-identical ImageHash
    results.  ``width``/``height`` are always the original size.
    """
    try:
        with open_regular(path) as fh:
            head = fh.read(32)
            if not head:
                raise DecodeError("empty file")
            fh.seek(0)
            if is_heif(head):
                _register_heif(head[8:12])
            with pillow_quiet():
                if os.path.splitext(path)[1].lower() in RAW_EXTENSIONS:
                    opened = _open_raw_preview(path, fh)
                else:
                    opened = Image.open(fh)
                with opened as img:
                    return _decode_bounded(img, reduce_to)
    except DecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"refused, too many pixels (decompression bomb?): {exc}") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image or an unsupported format") from None
    except FileNotFoundError:
        raise DecodeError("vanished before it could be read") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except IsADirectoryError:
        raise DecodeError("is a directory") from None
    except OSError as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason or "image file is" in reason:
            raise DecodeError(f"truncated or corrupt image ({reason})") from None
        raise DecodeError(reason) from None
    except (ValueError, SyntaxError, EOFError, IndexError, MemoryError) as exc:
        raise DecodeError(f"corrupt image ({type(exc).__name__}: {exc})") from None


@dataclass(slots=True)
class Pixels:
    """A picture decoded for the fast path's hashes, as arrays."""

    color: np.ndarray  # (H, W, 3) uint8, orientation applied, transparency composited
    gray: np.ndarray | None  # (H, W) uint8; None: Pillow's "L" of ``color`` (see hasher)
    width: int  # original pixel size after EXIF orientation
    height: int


def decode_pixels(path: str, reduce_to: int | None = None) -> Pixels:
    """:func:`decode` as arrays, for hashing.

    A plain JPEG (YCbCr or grayscale, no EXIF turn, below Pillow's pixel
    limit) is decoded by simplejpeg when it is installed: the same
    libjpeg-turbo decoder Pillow uses, with the same scale as Pillow's draft
    mode, so the same pixels, without Pillow's per-file parsing and image
    objects (96x72: about 55 us against 234).  Anything else, and any file
    simplejpeg refuses or warns about, goes through :func:`decode` unchanged,
    which gives the picture or the same one-line error as ever."""
    data = _plain_jpeg_bytes(path)
    if data is not None:
        fast = _simplejpeg_decode(data, reduce_to)
        if fast is not None:
            return fast
    img = decode(path, reduce_to)
    return Pixels(_as_array(img.color), _as_array(img.gray), img.width, img.height)


def decode_pixels_bytes(data: bytes, reduce_to: int | None = None) -> Pixels:
    """:func:`decode_pixels` for an image held in memory (one inside a dataset shard)."""
    if data[:3] == _SOI:
        fast = _simplejpeg_decode(data, reduce_to)
        if fast is not None:
            return fast
    img = decode_bytes(data, reduce_to)
    return Pixels(_as_array(img.color), _as_array(img.gray), img.width, img.height)


def _as_array(img: Image.Image) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 of a mode L or RGB picture (a little quicker than asarray)."""
    w, h = img.size
    shape = (h, w) if img.mode == "L" else (h, w, 3)
    return np.frombuffer(img.tobytes(), dtype=np.uint8).reshape(shape)


_SOI = b"\xff\xd8\xff"


def _plain_jpeg_bytes(path: str) -> bytes | None:
    """The whole file when it is a regular file that starts like a JPEG and is
    not named as a camera RAW; None otherwise or on any error (then
    :func:`decode` opens it again and says why)."""
    if path.lower().endswith(_RAW_SUFFIXES):
        return None
    try:
        with open_regular(path) as fh:  # a FIFO or device swapped in: never read
            if os.fstat(fh.fileno()).st_size > _FAST_MAX_BYTES:
                return None
            # the first bytes alone first: another format is read by Pillow only
            if fh.read(len(_SOI)) != _SOI:
                return None
            fh.seek(0)  # one read, no copy; bounded also if the file grew since
            data = fh.read(_FAST_MAX_BYTES + 1)
            return data if len(data) <= _FAST_MAX_BYTES else None
    except (OSError, DecodeError):
        return None


_RAW_SUFFIXES = tuple(RAW_EXTENSIONS)
# Bigger files are left to Pillow, which reads as it decodes (a huge or
# sparse file named .jpg is never read whole into memory).
_FAST_MAX_BYTES = 64 << 20


_simplejpeg: object | None = None


def _jpeg_module():  # type: ignore[no-untyped-def]
    """simplejpeg, or False when it is missing (looked up once per process)."""
    global _simplejpeg
    if _simplejpeg is None:
        try:
            import simplejpeg
        except ImportError:
            _simplejpeg = False
        else:
            _simplejpeg = simplejpeg
    return _simplejpeg


def _simplejpeg_decode(data: bytes, reduce_to: int | None) -> Pixels | None:
    jpeg = _jpeg_module()
    if not jpeg:
        return None
    try:
        height, width, space, _ = jpeg.decode_jpeg_header(data)  # type: ignore[attr-defined]
    except (ValueError, TypeError):
        return None
    if space not in ("YCbCr", "Gray") or not 0 < width * height <= BIG_PIXELS:
        return None  # CMYK/YCCK/RGB, Pillow's pixel limits and big-image slot: Pillow's path
    if _turned(data):
        return None
    scale = 1
    if reduce_to:
        want = _draft_target((width, height), reduce_to)
        ratio = min(width // want[0], height // want[1])
        scale = next(a for a in (8, 4, 2, 1) if ratio >= a)  # Pillow's draft()
        w, h = -(-width // scale), -(-height // scale)
        if min(w, h) // reduce_to >= 2:
            return None  # Pillow box-reduces it further: its path
    else:
        w, h = width, height
    gray = space == "Gray"
    try:
        out = jpeg.decode_jpeg(  # type: ignore[attr-defined]
            data, colorspace="GRAY" if gray else "RGB", min_height=h, min_width=w, strict=True
        )
    except (ValueError, TypeError, MemoryError):
        return None  # corrupt, truncated, or a warning (strict): Pillow decides
    if out.shape[:2] != (h, w):
        return None  # another scale than Pillow's draft would have used
    if gray:
        g = out.reshape(h, w)
        return Pixels(np.repeat(g[:, :, None], 3, axis=2), g, width, height)
    return Pixels(out, None, width, height)


# Up to this size a search of the whole file for an APP1 marker is quicker
# than walking its headers; above it the search is what costs (2 ms of a 4 MB
# photo, where the byte stuffing makes FF common), and the walk stops at
# the first scan after a few headers.
_FIND_APP1_BYTES = 256 << 10


def _turned(data: bytes) -> bool:
    """Whether a JPEG's EXIF block asks for a turn or a mirror (or cannot be read,
    or an XMP block may): those go through Pillow, which applies it."""
    if len(data) <= _FIND_APP1_BYTES and data.find(b"\xff\xe1") < 0:
        return False  # no APP1 block at all (entropy-coded data never holds FF E1)
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA or 0xD0 <= marker <= 0xD9:  # scan data or standalone: no more headers
            return False
        if marker == 0xFF:
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == 0xE1:
            segment = data[at + 4 : at + 2 + length]
            if segment.startswith(b"Exif\x00\x00"):
                try:
                    exif = Image.Exif()
                    with pillow_quiet():
                        exif.load(segment)
                    orientation = exif.get(0x0112)
                except Exception:  # Pillow ignores a broken block; so does its path
                    return True
                if orientation not in (None, 1):
                    return True
            elif b"Orientation" in segment:
                return True
        at += 2 + length
    return False


def decode_bytes(data: bytes, reduce_to: int | None = None) -> Decoded:
    """:func:`decode` for an image held in memory (one inside a dataset shard)."""
    if not data:
        raise DecodeError("empty image")
    try:
        if is_heif(data):
            _register_heif(data[8:12])
        with pillow_quiet():
            with Image.open(io.BytesIO(data)) as img:
                return _decode_bounded(img, reduce_to)
    except DecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"refused, too many pixels (decompression bomb?): {exc}") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image or an unsupported format") from None
    except OSError as exc:
        raise DecodeError(f"truncated or corrupt image ({exc or type(exc).__name__})") from None
    except (ValueError, SyntaxError, EOFError, IndexError, MemoryError) as exc:
        raise DecodeError(f"corrupt image ({type(exc).__name__}: {exc})") from None


def _decode_bounded(img: Image.Image, reduce_to: int | None) -> Decoded:
    """:func:`_decode_opened` within the memory budget: a picture too big to decode
    is refused with the reason, and a huge one waits for the one big-image slot.
    Files and shard items alike: a shard can hold a 13000x13000 PNG too."""
    _check_budget(img, reduce_to)
    if img.size[0] * img.size[1] > BIG_PIXELS:
        with big_image_slot():
            return _decode_opened(img, reduce_to)
    return _decode_opened(img, reduce_to)


def _decode_opened(img: Image.Image, reduce_to: int | None) -> Decoded:
    width, height = img.size
    orientation = _orientation(img)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if getattr(img, "is_animated", False):
        img.seek(0)  # GIF/WebP/APNG: the first frame stands for the file
    if reduce_to and img.format == "JPEG":
        img.draft(
            img.mode if img.mode in ("L", "RGB") else "RGB", _draft_target(img.size, reduce_to)
        )
    img.load()
    if reduce_to:
        img = _reduce(img, reduce_to)
    if orientation not in (None, 1):
        img = ImageOps.exif_transpose(img)
    gray = _to_gray(img)
    gray.load()
    return Decoded(gray=gray, color=_to_rgb(img, gray), width=width, height=height)


# Modes Image.reduce() handles; others are shrunk after conversion or not at all.
_REDUCIBLE = frozenset(("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F", "La", "RGBa"))


def _reduce(img: Image.Image, reduce_to: int) -> Image.Image:
    """Box-reduce by the largest whole factor that keeps the shorter side >= reduce_to."""
    factor = min(img.size) // reduce_to
    if factor < 2:
        return img
    if img.mode not in _REDUCIBLE:
        if img.mode == "P" or img.mode == "PA":
            img = img.convert("RGBA")
        elif img.mode == "1":
            img = img.convert("L")
        elif img.mode.startswith("I;16"):
            img = _sixteen_bit_to_gray(img)  # the values _to_gray would give, then reduced
        else:
            return img  # exotic modes: exact path, they are rare
    return img.reduce(factor)


def _register_heif(brand: bytes) -> None:
    """HEIC/HEIF through pillow-heif, registered only when such a file turns up.

    AVIF is read by Pillow itself when it was built with libavif (Pillow >= 11.2);
    older pillow-heif releases read it otherwise."""
    if brand in (b"avif", b"avis"):
        from PIL import features

        if features.check("avif"):
            return
    try:
        import pillow_heif
    except ImportError:
        raise DecodeError("HEIC/HEIF/AVIF needs pillow-heif: pip install pillow-heif") from None
    pillow_heif.register_heif_opener()
    if brand in (b"avif", b"avis"):
        if not hasattr(pillow_heif, "register_avif_opener"):
            raise DecodeError("AVIF needs Pillow >= 11.2 built with AVIF support")
        pillow_heif.register_avif_opener()


def _open_raw_preview(path: str, fh: io.BufferedReader) -> Image.Image:
    """A camera RAW file's embedded preview (the picture the camera rendered).

    rawpy (the ``raw`` extra) finds it through LibRaw, which reads only what
    it needs; without it, or when LibRaw cannot parse the file, the largest
    JPEG stream in the file's first ``RAW_SCAN_LIMIT`` bytes is used, which is
    where most formats (DNG, CR2, NEF, ARW, ...) keep their full-size preview.
    The file is never read whole (a RAW file can be gigabytes, or sparse).
    """
    try:
        import rawpy
    except ImportError:
        rawpy = None
    libraw_error = None
    if rawpy is not None:
        # LibRaw opens the very file this handle checked, not whatever the name
        # points to by now.
        own = f"/proc/self/fd/{fh.fileno()}"
        try:
            with rawpy.imread(own if os.path.exists(own) else path) as raw:
                thumb = raw.extract_thumb()
            if thumb.format == rawpy.ThumbFormat.JPEG:
                return Image.open(io.BytesIO(bytes(thumb.data)))
            return Image.fromarray(thumb.data)
        except (rawpy.LibRawError, OSError, ValueError) as exc:
            libraw_error = str(exc) or type(exc).__name__
    offset = _largest_embedded_jpeg_offset(fh)
    if offset is not None:
        return Image.open(_Window(fh, offset))
    fh.seek(0)
    try:
        return Image.open(fh)  # some DNGs carry a plain TIFF rendering
    except UnidentifiedImageError:
        if libraw_error is not None:
            raise DecodeError(
                f"camera RAW without a readable preview (LibRaw: {libraw_error})"
            ) from None
        raise DecodeError(
            "camera RAW without a preview this build can read (pip install rawpy)"
        ) from None


# How far into a RAW file the embedded-JPEG scan looks, and in what steps.
RAW_SCAN_LIMIT = 64 << 20
_SCAN_BLOCK = 4 << 20
_SOI = b"\xff\xd8\xff"


class _Window(io.RawIOBase):
    """The part of an open file from ``start`` on, as a file of its own."""

    def __init__(self, fh: io.BufferedReader, start: int) -> None:
        self._fh = fh
        self._start = start
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = os.fstat(self._fh.fileno()).st_size - self._start + offset
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self._fh.seek(self._start + self._pos)
        n = self._fh.readinto(buffer) or 0
        self._pos += n
        return n


def _jpeg_offsets(fh: io.BufferedReader, limit: int, max_candidates: int) -> list[int]:
    found: list[int] = []
    pos = 0
    while pos < limit and len(found) < max_candidates:
        fh.seek(pos)
        block = fh.read(_SCAN_BLOCK + len(_SOI) - 1)
        if not block:
            break
        i = block.find(_SOI)
        while i != -1 and i < _SCAN_BLOCK and len(found) < max_candidates:
            found.append(pos + i)
            i = block.find(_SOI, i + 1)
        pos += _SCAN_BLOCK
    return found


def _largest_embedded_jpeg_offset(
    fh: io.BufferedReader, limit: int = RAW_SCAN_LIMIT, max_candidates: int = 32
) -> int | None:
    best: tuple[int, int] | None = None  # (pixels, offset)
    for pos in _jpeg_offsets(fh, limit, max_candidates):
        try:
            with Image.open(_Window(fh, pos)) as probe:
                if probe.format == "JPEG":
                    pixels = probe.size[0] * probe.size[1]
                    if best is None or pixels > best[0]:
                        best = (pixels, pos)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            pass
    return None if best is None else best[1]


def _orientation(img: Image.Image) -> int | None:
    if img.format == "JPEG" and "exif" not in img.info:
        return None  # no APP1 block: spares parsing one (a fifth of a thumbnail's decode)
    try:
        return img.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not hide a readable picture
        return None


def _draft_target(size: tuple[int, int], reduce_to: int) -> tuple[int, int]:
    """Requested draft size keeping the shorter side >= reduce_to."""
    w, h = size
    short = max(1, min(w, h))
    scale = max(1.0, short / reduce_to)
    return (max(1, int(w / scale)), max(1, int(h / scale)))


def image_size(path: str) -> tuple[int, int]:
    """Pixel size as shown (after EXIF orientation), reading only the header."""
    try:
        with open_regular(path) as fh, Image.open(fh) as img:
            w, h = img.size
            if _orientation(img) in (5, 6, 7, 8):
                w, h = h, w
            return w, h
    except Exception:
        return 0, 0
