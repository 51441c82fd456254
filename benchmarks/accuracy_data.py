"""A labelled near-duplicate data set for the accuracy benchmark.

Everything is generated here or taken from images a Python package ships in
its wheel (scikit-image's ``skimage.data``); nothing is downloaded, so the
figures can be reproduced offline.

The set has two kinds of pictures:

- *families*: an original and its transformed copies (the transforms a user's
  duplicates actually went through: re-encodes, resizes, edits, rotations).
  Every file of a family shares one ``family`` label.
- *hard negatives*: low-detail pictures (flat colours, gradients, stripes,
  simple shapes, smooth wallpaper-like art, light/dark variants of one
  design).  Perceptual hashes of such pictures carry little information, so
  unrelated ones collide; each is its own family (some of the wallpaper-like
  ones come with a few benign copies, so that a fix for false positives can be
  seen not to lose true low-detail duplicates).

Two splits keep tuning honest: ``tune`` (generated with one range of seeds)
and ``holdout`` (other seeds, other sizes, and the scikit-image photos, which
appear only here).  ``build(directory, split)`` writes the files flat into
``directory/<split>/`` and returns their labels.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

_SRC = str(Path(__file__).resolve().parent.parent / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from imgdupes.samples import synthetic_photo  # noqa: E402

SPLITS = ("tune", "holdout")

# The transform family of every photo-like original, in report order.
TRANSFORMS = (
    "jpeg_q40",
    "resize_half",
    "resize_quarter",
    "png",
    "webp",
    "blur",
    "brightness",
    "contrast",
    "grayscale",
    "exif_rotated",
    "crop_5pct",
    "padding",
    "text",
    "rotate_4deg",
    "mirror",
    "rotate_90",
)
# Copies that a duplicate finder must always catch (the "benign" list).
BENIGN = TRANSFORMS[: TRANSFORMS.index("crop_5pct")]  # jpeg_q40 .. exif_rotated
# Caught only with --rotations.
ROTATION = ("mirror", "rotate_90")
# Edits that change content; reported, no target.
EDITS = ("crop_5pct", "padding", "text", "rotate_4deg")
# The copies a low-detail (wallpaper-like) family gets.
LOW_DETAIL_TRANSFORMS = ("jpeg_q40", "resize_half", "webp", "blur")

# Kinds of originals; the ones in LOW_DETAIL_KINDS are the hard negatives.
PHOTO_KINDS = ("photo", "landscape", "texture", "skimage")
LOW_DETAIL_KINDS = (
    "flat",
    "linear_gradient",
    "radial_gradient",
    "stripes",
    "shapes",
    "wallpaper",
    "theme_light",
    "theme_dark",
    "face",
)

# scikit-image pictures that load from the wheel without pooch.  ``cat`` is
# left out: it is the same picture as ``chelsea``; ``stereo_motorcycle``
# gives only its left view, the right one is a near-duplicate of it.
SKIMAGE_NAMES = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "checkerboard",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "microaneurysms",
    "moon",
    "page",
    "retina",
    "rocket",
    "shepp_logan_phantom",
    "text",
    "stereo_motorcycle",
)


@dataclass(frozen=True, slots=True)
class Item:
    """One file of the data set and what it is."""

    name: str  # file name inside the split folder
    family: str  # shared by an original and all its copies
    kind: str  # the original's kind (PHOTO_KINDS or LOW_DETAIL_KINDS)
    transform: str  # "original" or one of TRANSFORMS
    split: str


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many originals of each kind a split gets."""

    photos: int = 16
    landscapes: int = 7
    textures: int = 7
    skimage: int = len(SKIMAGE_NAMES)
    # Hard negatives: plenty of them, since a user's folder of wallpapers or
    # icons is mostly such pictures and every pair among them can collide.
    flat: int = 10
    linear_gradients: int = 14
    radial_gradients: int = 10
    stripes: int = 12
    shapes: int = 14
    wallpapers: int = 16
    wallpapers_with_copies: int = 6
    theme_designs: int = 8
    faces: int = 12


FULL = {
    "tune": Sizes(skimage=0),
    # Fewer generated photos: the scikit-image photos make up the rest.
    "holdout": Sizes(photos=8, landscapes=4, textures=4),
}
QUICK = Sizes(
    photos=2,
    landscapes=1,
    textures=1,
    skimage=3,
    flat=2,
    linear_gradients=2,
    radial_gradients=2,
    stripes=2,
    shapes=2,
    wallpapers=2,
    wallpapers_with_copies=1,
    theme_designs=1,
    faces=2,
)


# --------------------------------------------------------------------------
# transforms


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError):  # Pillow < 10.1 or no FreeType: the bitmap font
        return ImageFont.load_default()


def _text_overlay(img: Image.Image, seed: int) -> Image.Image:
    """A caption in a bottom corner, the way a watermark or a date stamp sits."""
    out = img.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    font = _font(max(10, h // 14))
    caption = ("holiday 2019", "(c) imgdupes", "IMG_4031", "best of summer")[seed % 4]
    box = draw.textbbox((0, 0), caption, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x = w - tw - w // 30 if seed % 2 else w // 30
    y = h - th - h // 20
    draw.text(
        (x, y), caption, font=font, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0)
    )
    return out


def _scaled(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _crop(img: Image.Image, fraction: float) -> Image.Image:
    """Trim ``fraction`` of the width and of the height, half from each edge."""
    w, h = img.size
    dx, dy = round(w * fraction / 2), round(h * fraction / 2)
    return img.crop((dx, dy, w - dx, h - dy))


def _pad(img: Image.Image, seed: int) -> Image.Image:
    """A border 5% of the shorter side wide, black or white (a frame, a letterbox)."""
    border = max(1, round(0.05 * min(img.size)))
    return ImageOps.expand(img, border=border, fill=(0, 0, 0) if seed % 2 else (255, 255, 255))


def _save(img: Image.Image, path: str, fmt: str, **kw) -> None:
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(path, fmt, **kw)


def _exif_rotated(img: Image.Image, seed: int) -> tuple[Image.Image, bytes]:
    """Pixels stored on their side, with the Orientation tag that turns them
    upright again (what a phone writes); alternates between the two side
    orientations so both are covered."""
    orientation = 6 if seed % 2 else 8
    # exif_transpose applies ROTATE_270 for 6 and ROTATE_90 for 8: store the inverse.
    turn = Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270
    exif = Image.Exif()
    exif[0x0112] = orientation
    return img.transpose(turn), exif.tobytes()


def apply(img: Image.Image, transform: str, seed: int) -> Image.Image:
    """The pixels of a copy (before encoding; ``exif_rotated`` is done in :func:`write_copy`)."""
    if transform == "resize_half":
        return _scaled(img, 0.5)
    if transform == "resize_quarter":
        return _scaled(img, 0.25)
    if transform == "blur":
        return img.filter(ImageFilter.GaussianBlur(max(1.0, min(img.size) / 320)))  # 1.5 px at 480
    if transform == "brightness":
        return ImageEnhance.Brightness(img).enhance(1.25)
    if transform == "contrast":
        return ImageEnhance.Contrast(img).enhance(1.3)
    if transform == "grayscale":
        return img.convert("L")
    if transform == "crop_5pct":
        return _crop(img, 0.05)
    if transform == "padding":
        return _pad(img, seed)
    if transform == "text":
        return _text_overlay(img, seed)
    if transform == "rotate_4deg":
        return img.rotate(4, resample=Image.Resampling.BICUBIC, expand=False)
    if transform == "mirror":
        return ImageOps.mirror(img)
    if transform == "rotate_90":
        return img.transpose(Image.Transpose.ROTATE_90)
    if transform in ("jpeg_q40", "png", "webp", "exif_rotated"):
        return img
    raise ValueError(f"unknown transform {transform!r}")


def write_copy(img: Image.Image, transform: str, stem: str, folder: str, seed: int) -> str:
    """Write the ``transform`` copy of ``img`` as ``stem.<ext>``; returns the file name.

    Copies are JPEG quality 90 (what an editor saves) unless the transform
    is the encoding itself.
    """
    out = apply(img, transform, seed)
    if transform == "png":
        name, fmt, kw = f"{stem}.png", "PNG", {}
    elif transform == "webp":
        name, fmt, kw = f"{stem}.webp", "WEBP", {"quality": 80}
    elif transform == "jpeg_q40":
        name, fmt, kw = f"{stem}.jpg", "JPEG", {"quality": 40}
    elif transform == "exif_rotated":
        out, exif = _exif_rotated(img, seed)
        name, fmt, kw = f"{stem}.jpg", "JPEG", {"quality": 90, "exif": exif}
    else:
        name, fmt, kw = f"{stem}.jpg", "JPEG", {"quality": 90}
    _save(out, os.path.join(folder, name), fmt, **kw)
    return name


# --------------------------------------------------------------------------
# photo-like originals


def _fractal_noise(rng: np.random.Generator, h: int, w: int, beta: float) -> np.ndarray:
    """1/f^beta noise in [0, 1]: the power spectrum of natural scenes (beta ~ 2)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w))
    field -= field.min()
    return field / max(field.max(), 1e-12)


def _ridge(rng: np.random.Generator, w: int, beta: float = 2.0) -> np.ndarray:
    """A 1-D fractal profile in [0, 1] (a mountain skyline)."""
    f = np.fft.rfftfreq(w)
    f[0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spec[0] = 0
    line = np.fft.irfft(spec, n=w)
    line -= line.min()
    return line / max(line.max(), 1e-12)


def landscape(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Sky gradient, fractal ridges and a textured foreground: a photo-like scene."""
    rng = np.random.default_rng(seed)
    w, h = size
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    img = (top * (1 - t) + bottom * t) * np.ones((1, w, 1))
    clouds = _fractal_noise(rng, h, w, 2.4)[:, :, None]
    img = img * (0.8 + 0.4 * clouds)
    rows = np.arange(h)[:, None]
    for layer in range(int(rng.integers(2, 4))):
        base = h * (0.35 + 0.18 * layer + rng.uniform(-0.05, 0.05))
        skyline = base - _ridge(rng, w) * h * rng.uniform(0.15, 0.35)
        mask = rows >= skyline[None, :]
        colour = rng.uniform(0, 200, 3)
        tex = _fractal_noise(rng, h, w, 1.8)[:, :, None]
        img = np.where(mask[:, :, None], colour * (0.6 + 0.8 * tex), img)
    img += rng.normal(0, 4, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def texture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A coloured fractal field (bark, clouds, rock) with a few lit objects."""
    rng = np.random.default_rng(seed)
    w, h = size
    channels = []
    shared = _fractal_noise(rng, h, w, rng.uniform(1.4, 2.2))
    for _ in range(3):
        own = _fractal_noise(rng, h, w, rng.uniform(1.2, 2.0))
        channels.append(0.7 * shared + 0.3 * own)
    arr = np.stack(channels, axis=-1)
    lo, hi = rng.uniform(0, 90, 3), rng.uniform(160, 255, 3)
    img = Image.fromarray((lo + (hi - lo) * arr).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.03, 0.12) * w
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return img.filter(ImageFilter.GaussianBlur(0.7))


def _skimage_picture(name: str) -> Image.Image | None:
    """One scikit-image sample as RGB, or None where it would need a download."""
    try:
        from skimage import data
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = getattr(data, name)()
    except Exception:  # pooch-only images raise; the benchmark just has fewer
        return None
    if name == "stereo_motorcycle":
        arr = arr[0]
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype.kind == "f":
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    if arr.ndim == 2:
        img = Image.fromarray(arr, "L").convert("RGB")
    elif arr.shape[-1] == 4:
        # Composite on white, as imgdupes's decoder does, so the copies
        # (JPEG has no alpha) show the same picture as the original.
        rgba = Image.fromarray(arr, "RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        img = img.convert("RGB")
    else:
        img = Image.fromarray(arr[..., :3], "RGB")
    if max(img.size) > 800:  # keep decoding cheap; the copies scale from here
        img = _scaled(img, 800 / max(img.size))
    return img


# --------------------------------------------------------------------------
# low-detail pictures (hard negatives)


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3)


def flat(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    return Image.new("RGB", (w, h), tuple(int(c) for c in _random_colour(rng)))


def linear_gradient(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    t = (xx / w - 0.5) * math.cos(angle) + (yy / h - 0.5) * math.sin(angle)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-12)
    a, b = _random_colour(rng), _random_colour(rng)
    arr = a * (1 - t[..., None]) + b * t[..., None]
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def radial_gradient(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    t = np.hypot(xx - cx, yy - cy) / math.hypot(w, h) * rng.uniform(1.2, 2.0)
    t = np.clip(t, 0, 1)
    a, b = _random_colour(rng), _random_colour(rng)
    arr = a * (1 - t[..., None]) + b * t[..., None]
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def stripes(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    period = float(rng.choice([6, 12, 24, 48, 96]))
    angle = float(rng.choice([0, 90, 45, 135]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rad = math.radians(angle)
    u = xx * math.cos(rad) + yy * math.sin(rad)
    soft = rng.random() < 0.5
    wave = np.sin(2 * math.pi * u / period)
    t = (wave + 1) / 2 if soft else (wave > 0).astype(np.float64)
    a, b = _random_colour(rng), _random_colour(rng)
    arr = a * (1 - t[..., None]) + b * t[..., None]
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def shapes(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """One to three plain shapes on a flat background (a minimal poster)."""
    w, h = size
    img = flat(rng, size)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 4))):
        colour = tuple(int(c) for c in _random_colour(rng))
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = rng.uniform(0.08, 0.3) * min(w, h)
        if rng.random() < 0.5:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            draw.rectangle([cx - r, cy - r * 0.7, cx + r, cy + r * 0.7], fill=colour)
    return img


def _smooth_field(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Soft waves and blobs in [0, 1]: the geometry of a wallpaper-like design."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = xx / w, yy / h
    field = np.zeros((h, w))
    for _ in range(int(rng.integers(2, 4))):
        ang = rng.uniform(0, 2 * math.pi)
        freq = rng.uniform(0.5, 2.0)
        phase = rng.uniform(0, 2 * math.pi)
        field += np.sin(2 * math.pi * freq * (x * math.cos(ang) + y * math.sin(ang)) + phase)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy, s = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.35)
        field += rng.uniform(1, 2.5) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    field -= field.min()
    return field / max(field.max(), 1e-12)


def _paint(field: np.ndarray, palette: np.ndarray, bands: int) -> Image.Image:
    """Map a [0, 1] field through a palette; ``bands`` > 0 posterises into soft layers."""
    if bands:
        stepped = np.floor(field * bands) / (bands - 1)
        field = 0.85 * np.clip(stepped, 0, 1) + 0.15 * field  # soft, like layered waves
    n = len(palette) - 1
    pos = field * n
    i = np.clip(pos.astype(int), 0, n - 1)
    f = (pos - i)[..., None]
    arr = palette[i] * (1 - f) + palette[i + 1] * f
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def wallpaper(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    field = _smooth_field(rng, size)
    palette = rng.uniform(0, 255, (int(rng.integers(2, 4)), 3))
    img = _paint(field, palette, int(rng.choice([0, 4, 5, 6])))
    return img.filter(ImageFilter.GaussianBlur(2))


def theme_pair(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """The light and the dark variant of one design: same layout, another palette.

    Desktops ship wallpapers this way.  The hue sequence is kept; the dark
    palette is the light one at a fraction of its brightness, and for some
    designs its order of lightness is reversed too (a dark background with
    light shapes).
    """
    field = _smooth_field(rng, size)
    bands = int(rng.choice([0, 4, 5]))
    n = int(rng.integers(2, 4))
    hues = rng.uniform(0, 1, n)
    light = np.array([_hsv(hh, rng.uniform(0.15, 0.4), rng.uniform(0.8, 1.0)) for hh in hues])
    dark = np.array([_hsv(hh, rng.uniform(0.5, 0.9), rng.uniform(0.12, 0.4)) for hh in hues])
    if rng.random() < 0.5:
        dark = dark[::-1]
    blur = ImageFilter.GaussianBlur(2)
    return (
        _paint(field, light, bands).filter(blur),
        _paint(field, dark, bands).filter(blur),
    )


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h, s, v)) * 255


def faces(count: int, offset: int) -> list[Image.Image]:
    """Different people's faces from scikit-image's LFW subset (25x25, upscaled).

    Small portraits of one framing look alike at hash resolution; each
    is a different person, so any match between them is false.
    """
    try:
        from skimage import data

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = data.lfw_subset()
    except Exception:
        return []
    out = []
    for k in range(offset, min(offset + count, 100)):  # the first 100 are faces
        face = (np.clip(arr[k], 0, 1) * 255).astype(np.uint8)
        out.append(Image.fromarray(face, "L").resize((200, 200), Image.Resampling.BICUBIC))
    return out


# --------------------------------------------------------------------------
# the builder


@dataclass(frozen=True, slots=True)
class _Plan:
    seed_base: int
    photo_size: Callable[[int], tuple[int, int]]
    negative_size: Callable[[int], tuple[int, int]]
    skimage: bool
    face_offset: int


_PLANS = {
    "tune": _Plan(
        seed_base=1000,
        photo_size=lambda n: (640, 480),
        negative_size=lambda n: (640, 360),
        skimage=False,
        face_offset=0,
    ),
    # Other seeds, other sizes and orientations, and the real photos.
    "holdout": _Plan(
        seed_base=7000,
        photo_size=lambda n: (480, 640) if n % 2 else (720, 540),
        negative_size=lambda n: (480, 480) if n % 3 == 0 else (720, 450),
        skimage=True,
        face_offset=50,
    ),
}


def build(directory: str, split: str, quick: bool = False) -> list[Item]:
    """Write ``split`` into ``directory/<split>/`` and return its labels.

    ``quick`` writes a few families of each kind (a sanity run, the tests).
    The labels are also written to ``directory/<split>.csv``.
    """
    if split not in _PLANS:
        raise ValueError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    plan = _PLANS[split]
    sizes = QUICK if quick else FULL[split]
    folder = os.path.join(directory, split)
    os.makedirs(folder, exist_ok=True)
    items: list[Item] = []

    def family(
        img: Image.Image, fam: str, kind: str, transforms: tuple[str, ...], seed: int, ext: str
    ) -> None:
        name = f"{fam}__original.{ext}"
        if ext == "png":
            _save(img, os.path.join(folder, name), "PNG")
        else:
            _save(img, os.path.join(folder, name), "JPEG", quality=95)
        items.append(Item(name, fam, kind, "original", split))
        for t in transforms:
            copy = write_copy(img, t, f"{fam}__{t}", folder, seed)
            items.append(Item(copy, fam, kind, t, split))

    base = plan.seed_base
    generated = (
        ("photo", synthetic_photo, sizes.photos, base),
        ("landscape", landscape, sizes.landscapes, base + 100),
        ("texture", texture, sizes.textures, base + 200),
    )
    for kind, make, count, first_seed in generated:
        for n in range(count):
            seed = first_seed + n
            img = make(seed, plan.photo_size(n))
            family(img, f"{kind}{n:02d}", kind, TRANSFORMS, seed, "jpg")
    if plan.skimage:
        taken = 0
        for n, name in enumerate(SKIMAGE_NAMES):
            if taken >= sizes.skimage:
                break
            img = _skimage_picture(name)
            if img is not None:
                family(img, f"sk_{name}", "skimage", TRANSFORMS, n, "png")
                taken += 1

    rng = np.random.default_rng(base + 500)
    k = 0

    def negatives(kind: str, count: int, make) -> None:
        nonlocal k
        for n in range(count):
            img = make(rng, plan.negative_size(k))
            k += 1
            family(img, f"{kind}{n:02d}", kind, (), k, "png")

    negatives("flat", sizes.flat, flat)
    negatives("linear_gradient", sizes.linear_gradients, linear_gradient)
    negatives("radial_gradient", sizes.radial_gradients, radial_gradient)
    negatives("stripes", sizes.stripes, stripes)
    negatives("shapes", sizes.shapes, shapes)
    for n in range(sizes.wallpapers):
        img = wallpaper(rng, plan.negative_size(k))
        k += 1
        copies = LOW_DETAIL_TRANSFORMS if n < sizes.wallpapers_with_copies else ()
        family(img, f"wallpaper{n:02d}", "wallpaper", copies, k, "png")
    for n in range(sizes.theme_designs):
        light, dark = theme_pair(rng, plan.negative_size(k))
        k += 1
        # The light variant keeps its benign copies: a verification that
        # splits light from dark must still join each to its own copies.
        family(light, f"theme{n:02d}_light", "theme_light", LOW_DETAIL_TRANSFORMS, k, "png")
        family(dark, f"theme{n:02d}_dark", "theme_dark", (), k, "png")
    for n, img in enumerate(faces(sizes.faces, plan.face_offset)):
        family(img, f"face{n:02d}", "face", (), n, "png")

    with open(os.path.join(directory, f"{split}.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "family", "kind", "transform", "split"])
        for it in items:
            writer.writerow([it.name, it.family, it.kind, it.transform, it.split])
    return items


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="write the labelled accuracy data set")
    p.add_argument("directory")
    p.add_argument("--split", choices=(*SPLITS, "both"), default="both")
    p.add_argument("--quick", action="store_true", help="a few families of each kind")
    args = p.parse_args(argv)
    splits = SPLITS if args.split == "both" else (args.split,)
    for s in splits:
        items = build(args.directory, s, quick=args.quick)
        fams = len({i.family for i in items})
        print(f"{s}: {len(items)} files, {fams} families -> {os.path.join(args.directory, s)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
