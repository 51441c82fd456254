"""Decoding: the only stage that knows about image formats.

It turns a path into a grayscale image ready for hashing plus the picture's
size as a person sees it (after EXIF orientation).  Every failure becomes a
:class:`DecodeError` whose message is the one line shown to the user.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr * (255.0 / hi), 0, 255).round().astype(np.uint8), "L")
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


def _to_rgb(img: Image.Image, gray: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("L", "1") or img.mode.startswith("I") or img.mode == "F":
        return gray.convert("RGB")
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, TRANSPARENT_BACKGROUND + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def decode(path: str, reduce_to: int | None = None) -> Decoded:
    """Decode ``path`` for hashing.

    ``reduce_to``: when given, formats that can decode at a reduced scale
    (JPEG's DCT-domain draft mode) stop at the smallest scale whose shorter
    side is still at least this many pixels.  ``None`` decodes in full, which
    gives bit-identical ImageHash results.
    """
    try:
        if os.path.getsize(path) == 0:
            raise DecodeError("empty file")
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its pixel limit (real 100 MP photos)
            # and raises above 2x; only the latter is refused.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                orientation = _orientation(img)
                if orientation in (5, 6, 7, 8):
                    width, height = height, width
                if reduce_to and img.format == "JPEG":
                    target = _draft_target(img.size, reduce_to)
                    img.draft("RGB", target)
                if getattr(img, "is_animated", False):
                    img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img) if orientation not in (None, 1) else img
                gray = _to_gray(img)
                gray.load()
                return Decoded(gray=gray, color=_to_rgb(img, gray), width=width, height=height)
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


def _orientation(img: Image.Image) -> int | None:
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
        with Image.open(path) as img:
            w, h = img.size
            if _orientation(img) in (5, 6, 7, 8):
                w, h = h, w
            return w, h
    except Exception:
        return 0, 0
