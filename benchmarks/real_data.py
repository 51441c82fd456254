"""The ``real`` split of the accuracy benchmark: real pictures and documents.

Originals come from images that installed packages ship (nothing is
downloaded); a source that is not installed is skipped, and
:func:`build` says so:

- photos: scikit-learn's ``load_sample_images()``, matplotlib's sample data
  (``grace_hopper.jpg``), GIMP's sample photos (``gimp-data``), scikit-image's
  photographs;
- low-detail art: Debian's ``desktop-base`` (one splash/boot background per
  theme), ``mypaint-data-extras`` paper backgrounds, GIMP's splash art,
  KMahjongg's backgrounds (``kdegames-mahjongg-data-kf5``, SVG, drawn with
  ``rsvg-convert`` from ``librsvg2-bin`` when it is there);
- documents, drawn here with Pillow: pages of one layout with different text,
  slides of one template, screenshots of one window with different text.
  Each is its own family (a JPEG and a half-size copy of a few of them
  check that real copies of a document are still found).

Debian's desktop-wallpaper packages and Tux Paint's stamps are left alone:
they are kept for independent checks.

Every photo and art original gets the benign copies of ``accuracy_data`` plus
the local edits the issue measures (a caption band over the bottom 15%, a
watermark, a logo, 5% crop and 5% black border on each side, gamma, lower
contrast).
"""

from __future__ import annotations

import csv
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import accuracy_data as data
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

SPLIT = "real"
KINDS = ("photo", "art", "document")

BENIGN = (
    "jpeg_q40",
    "resize_half",
    "png",
    "webp",
    "blur",
    "brightness",
    "contrast",
    "contrast_low",
    "gamma",
    "grayscale",
    "exif_rotated",
)
EDITS = ("caption_band", "watermark", "logo", "crop_5pct_each", "border_5pct")
TRANSFORMS = BENIGN + EDITS
DOCUMENT_TRANSFORMS = ("jpeg_q40", "resize_half")
# Targets of issue 14 (phash 10, defaults): transform -> minimum recall.
TARGETS_10 = {**dict.fromkeys(BENIGN, 0.98), "caption_band": 0.80}
TARGETS_10.update(crop_5pct_each=0.90, border_5pct=0.80)
TARGETS_4 = dict.fromkeys(BENIGN, 0.95)

_FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def _font(px: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(os.path.join(_FONT_DIR, name), px)
    except OSError:
        return data._font(px)


# --------------------------------------------------------------------------
# transforms beyond accuracy_data's


def _caption_band(img: Image.Image, seed: int) -> Image.Image:
    """A white band over the bottom 15% with a line of text (a meme caption)."""
    out = img.convert("RGB")
    w, h = out.size
    band = round(0.15 * h)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - band, w, h), fill=(255, 255, 255))
    caption = ("when the build finally passes", "me on monday", "best holiday ever")[seed % 3]
    font = _font(max(8, band // 2), bold=True)
    draw.text((w // 20, h - band + band // 5), caption, font=font, fill=(0, 0, 0))
    return out


def _watermark(img: Image.Image, seed: int) -> Image.Image:
    """Large half-transparent text across the middle (a stock-photo mark)."""
    out = img.convert("RGBA")
    w, h = out.size
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(max(10, h // 8), bold=True)
    draw.text((w // 8, h // 2 - h // 16), "(c) STOCKPIX", font=font, fill=(255, 255, 255, 110))
    return Image.alpha_composite(out, layer).convert("RGB")


def _logo(img: Image.Image, seed: int) -> Image.Image:
    """An opaque logo in a corner, 15% of the shorter side (a channel's bug)."""
    out = img.convert("RGB")
    w, h = out.size
    s = max(8, round(0.15 * min(w, h)))
    draw = ImageDraw.Draw(out)
    x = w - s - w // 40 if seed % 2 else w // 40
    y = h // 40
    draw.rounded_rectangle((x, y, x + s, y + s), radius=s // 5, fill=(220, 30, 40))
    draw.ellipse((x + s // 4, y + s // 4, x + 3 * s // 4, y + 3 * s // 4), fill=(255, 255, 255))
    return out


def _border(img: Image.Image) -> Image.Image:
    w, h = img.size
    return ImageOps.expand(img.convert("RGB"), border=(round(0.05 * w), round(0.05 * h)), fill=0)


def _crop_each(img: Image.Image) -> Image.Image:
    w, h = img.size
    dx, dy = round(0.05 * w), round(0.05 * h)
    return img.crop((dx, dy, w - dx, h - dy))


def _gamma(img: Image.Image, g: float = 0.6) -> Image.Image:
    lut = [round(255 * (v / 255) ** g) for v in range(256)]
    return img.convert("RGB").point(lut * 3)


_OWN = {
    "caption_band": _caption_band,
    "watermark": _watermark,
    "logo": _logo,
    "border_5pct": lambda img, seed: _border(img),
    "crop_5pct_each": lambda img, seed: _crop_each(img),
    "gamma": lambda img, seed: _gamma(img),
    "contrast_low": lambda img, seed: ImageEnhance.Contrast(img).enhance(0.8),
}


def write_copy(img: Image.Image, transform: str, stem: str, folder: str, seed: int) -> str:
    if transform in _OWN:
        name = f"{stem}.jpg"
        data._save(_OWN[transform](img, seed), os.path.join(folder, name), "JPEG", quality=90)
        return name
    return data.write_copy(img, transform, stem, folder, seed)


# --------------------------------------------------------------------------
# sources


def _rgb(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white, as a viewer shows it."""
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        back = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(back, img).convert("RGB")
    return img.convert("RGB")


def _bounded(img: Image.Image, side: int = 1024) -> Image.Image:
    """Big originals are reduced (the benchmark runs on a loaded machine)."""
    if max(img.size) > side:
        img = img.copy()
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    return img


def _open(path: str) -> Image.Image | None:
    try:
        with Image.open(path) as im:
            im.load()
            return _bounded(_rgb(im))
    except Exception:  # a file Pillow cannot read is skipped
        return None


def _sklearn() -> Iterator[tuple[str, Image.Image]]:
    from sklearn.datasets import load_sample_images

    d = load_sample_images()
    for path, arr in zip(d.filenames, d.images, strict=True):
        yield os.path.splitext(os.path.basename(path))[0], Image.fromarray(arr)


def _matplotlib() -> Iterator[tuple[str, Image.Image]]:
    import matplotlib

    folder = os.path.join(matplotlib.get_data_path(), "sample_data")
    for name in ("grace_hopper.jpg",):
        img = _open(os.path.join(folder, name))
        if img is not None:
            yield name.split(".")[0], img


def _skimage() -> Iterator[tuple[str, Image.Image]]:
    import skimage  # noqa: F401  (ImportError: source skipped)

    for name in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "camera"):
        img = data._skimage_picture("stereo_motorcycle" if name == "motorcycle" else name)
        if img is not None:
            yield name, img.convert("RGB")


def _files(pattern: str) -> list[str]:
    return sorted(glob.glob(pattern, recursive=True))


def _need(folder: str) -> None:
    if not os.path.isdir(folder):
        raise ImportError(folder)


def _gimp_photos() -> Iterator[tuple[str, Image.Image]]:
    _need("/usr/share/gimp")
    for path in _files("/usr/share/gimp/*/scripts/images/*.jpg"):
        img = _open(path)
        if img is not None and min(img.size) >= 200:
            yield os.path.basename(path).split(".")[0], img


def _gimp_art() -> Iterator[tuple[str, Image.Image]]:
    _need("/usr/share/gimp")
    for path in _files("/usr/share/gimp/*/images/gimp-splash.png"):
        img = _open(path)
        if img is not None:
            yield "gimp_splash", img


def _desktop_base() -> Iterator[tuple[str, Image.Image]]:
    """The largest background of each theme (the grub and login pictures of
    one theme are the same art, so only one of them is an original)."""
    _need("/usr/share/desktop-base")
    best: dict[str, tuple[int, str]] = {}
    candidates = _files("/usr/share/desktop-base/*-theme/**/*.png")
    candidates += _files("/usr/share/desktop-base/*-theme/**/*.jpg")
    candidates += _files("/usr/share/plymouth/themes/*/*background*.png")
    seen: set[str] = set()
    for path in candidates:
        real_path = os.path.realpath(path)
        if real_path in seen:  # active-theme is a link to one of the others
            continue
        seen.add(real_path)
        parts = real_path.split("/")
        theme = next((p for p in parts if p.endswith("-theme")), None)
        if theme is None:
            theme = parts[parts.index("themes") + 1] + "-theme"
        try:
            with Image.open(path) as im:
                area = im.size[0] * im.size[1]
        except Exception:
            continue
        if min(im.size) >= 400 and area > best.get(theme, (0, ""))[0]:
            best[theme] = (area, path)
    for theme, (_, path) in sorted(best.items()):
        img = _open(path)
        if img is not None:
            yield theme.replace("-theme", ""), img


def _mypaint() -> Iterator[tuple[str, Image.Image]]:
    _need("/usr/share/mypaint/backgrounds")
    for path in _files("/usr/share/mypaint/backgrounds/**/*.png"):
        img = _open(path)
        if img is not None and min(img.size) >= 256:
            yield os.path.basename(path).split(".")[0], img


def _mahjongg() -> Iterator[tuple[str, Image.Image]]:
    _need("/usr/share/kmahjongglib/backgrounds")
    if shutil.which("rsvg-convert") is None:
        raise ImportError("rsvg-convert, from librsvg2-bin, draws its SVG backgrounds")
    with tempfile.TemporaryDirectory() as tmp:
        for path in _files("/usr/share/kmahjongglib/backgrounds/*.svgz"):
            out = os.path.join(tmp, "x.png")
            try:
                subprocess.run(
                    ["rsvg-convert", "--width", "800", "--keep-aspect-ratio", "-o", out, path],
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
            except (OSError, subprocess.SubprocessError):
                continue
            img = _open(out)
            if img is not None:
                yield os.path.basename(path).split(".")[0], img


# (source name, kind, reader): a reader raises ImportError when its source is missing.
SOURCES = (
    ("scikit-learn", "photo", _sklearn),
    ("matplotlib", "photo", _matplotlib),
    ("gimp-data photos", "photo", _gimp_photos),
    ("scikit-image", "photo", _skimage),
    ("desktop-base", "art", _desktop_base),
    ("mypaint-data-extras", "art", _mypaint),
    ("gimp-data splash", "art", _gimp_art),
    ("kdegames-mahjongg-data-kf5", "art", _mahjongg),
)


# --------------------------------------------------------------------------
# documents (hard negatives: one layout, different text)

_WORDS = (
    "the quarterly report shows revenue growth across all regions while costs "
    "remained stable budget forecast team meeting agenda minutes action items "
    "customer feedback survey results indicate strong satisfaction with support "
    "response times project milestones delivery schedule risk assessment review "
    "infrastructure migration database backup policy security audit compliance"
).split()


def _sentence(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(_WORDS, n))


def _lines(rng: np.random.Generator, draw, font, width: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        words, line = list(rng.choice(_WORDS, 30)), ""
        while words and draw.textlength(line + " " + words[0], font=font) < width:
            line = (line + " " + words.pop(0)).strip()
        out.append(line)
    return out


def page(layout: int, text_seed: int) -> Image.Image:
    """A letter-size page: a heading, paragraphs, sometimes a table or a box,
    in one of a few layouts; ``text_seed`` picks the words only."""
    lay = np.random.default_rng(100 + layout)
    rng = np.random.default_rng(text_seed)
    w, h = 850, 1100
    img = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    body = _font(15)
    margin = int(lay.integers(60, 110))
    draw.text((margin, 60), _sentence(rng, 4).title(), font=_font(30, bold=True), fill=0)
    y = 120
    columns = 2 if layout % 3 == 2 else 1
    col_w = (w - 2 * margin - 30 * (columns - 1)) // columns
    while y < h - 120:
        para = int(lay.integers(3, 9))
        for c in range(columns):
            x = margin + c * (col_w + 30)
            for k, line in enumerate(_lines(rng, draw, body, col_w, para)):
                draw.text((x, y + 20 * k), line, font=body, fill=(20, 20, 20))
        y += 20 * para + 18
        if layout % 3 == 1 and lay.random() < 0.3 and y < h - 300:
            for r in range(5):  # a table: same grid, different numbers
                for c in range(4):
                    x0 = margin + c * (w - 2 * margin) // 4
                    draw.rectangle(
                        (x0, y + 26 * r, x0 + (w - 2 * margin) // 4, y + 26 * (r + 1)),
                        outline=(120, 120, 120),
                    )
                    draw.text(
                        (x0 + 6, y + 26 * r + 5), f"{rng.integers(0, 99999):,}", font=body, fill=0
                    )
            y += 150
    draw.text((w // 2 - 10, h - 60), str(int(rng.integers(1, 40))), font=body, fill=0)
    return img


def slide(template: int, text_seed: int) -> Image.Image:
    """A 16:9 slide of one template (coloured title bar, logo, footer) with bullets."""
    tpl = np.random.default_rng(200 + template)
    rng = np.random.default_rng(text_seed)
    w, h = 1280, 720
    back = tuple(int(v) for v in tpl.integers(200, 256, 3))
    bar = tuple(int(v) for v in tpl.integers(0, 120, 3))
    img = Image.new("RGB", (w, h), back)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, 110), fill=bar)
    draw.text((50, 30), _sentence(rng, 4).title(), font=_font(44, bold=True), fill=(255, 255, 255))
    draw.ellipse((w - 100, 20, w - 30, 90), fill=(255, 255, 255))
    font = _font(30)
    for k in range(int(rng.integers(3, 7))):
        y = 160 + 80 * k
        draw.ellipse((70, y + 12, 84, y + 26), fill=bar)
        draw.text((105, y), _sentence(rng, int(rng.integers(3, 8))), font=font, fill=(30, 30, 30))
    draw.rectangle((0, h - 40, w, h), fill=bar)
    draw.text((40, h - 32), "Company confidential", font=_font(18), fill=(255, 255, 255))
    return img


def screenshot(theme: int, text_seed: int) -> Image.Image:
    """A window (title bar, sidebar, editor lines) of one theme with different text."""
    th = np.random.default_rng(300 + theme)
    rng = np.random.default_rng(text_seed)
    w, h = 1024, 640
    dark = theme % 2 == 0
    back = (30, 30, 36) if dark else (250, 250, 250)
    ink = (210, 210, 210) if dark else (30, 30, 30)
    img = Image.new("RGB", (w, h), back)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, 32), fill=(60, 60, 70) if dark else (220, 220, 225))
    for k, c in enumerate(((255, 95, 87), (255, 189, 46), (39, 201, 63))):
        draw.ellipse((12 + 22 * k, 10, 26 + 22 * k, 24), fill=c)
    side = int(th.integers(160, 260))
    draw.rectangle((0, 32, side, h), fill=(45, 45, 52) if dark else (235, 235, 240))
    font = _font(14)
    for k in range(20):
        draw.text((14, 44 + 24 * k), _sentence(rng, 2)[:22], font=font, fill=ink)
    for k in range(int((h - 50) / 19)):
        indent = int(rng.integers(0, 4)) * 24
        text = _sentence(rng, int(rng.integers(1, 9)))
        draw.text((side + 50 + indent, 44 + 19 * k), text, font=font, fill=ink)
        draw.text((side + 10, 44 + 19 * k), f"{k + 1:3d}", font=font, fill=(120, 120, 130))
    return img


DOCUMENTS = (("page", page, 4, 4), ("slide", slide, 3, 4), ("screenshot", screenshot, 2, 4))


# --------------------------------------------------------------------------
# the builder


def build(directory: str, per_source: int = 0, log=print) -> list[data.Item]:
    """Write the real split into ``directory/real/``; ``per_source`` > 0 takes
    at most that many originals of each source (a quick run)."""
    folder = os.path.join(directory, SPLIT)
    os.makedirs(folder, exist_ok=True)
    items: list[data.Item] = []

    def family(img, fam, kind, transforms, seed):
        name = f"{fam}__original.png"
        data._save(img, os.path.join(folder, name), "PNG")
        items.append(data.Item(name, fam, kind, "original", SPLIT))
        for t in transforms:
            items.append(
                data.Item(write_copy(img, t, f"{fam}__{t}", folder, seed), fam, kind, t, SPLIT)
            )

    seed = 0
    for source, kind, reader in SOURCES:
        taken = 0
        try:
            for name, img in reader():
                if per_source and taken >= per_source:
                    break
                family(_bounded(img), f"{kind}_{name}", kind, TRANSFORMS, seed)
                taken += 1
                seed += 1
        except ImportError as exc:
            log(f"- source {source}: not installed ({exc}), skipped")
            continue
        log(f"- source {source}: {taken} originals ({kind})")
    for kind, make, layouts, texts in DOCUMENTS:
        count = 0
        for lay in range(layouts):
            for t in range(texts):
                copies = DOCUMENT_TRANSFORMS if t == 0 else ()
                family(make(lay, 1000 * lay + t), f"doc_{kind}{lay}_{t}", "document", copies, t)
                count += 1
        log(f"- documents {kind}: {layouts} layouts x {texts} texts")
    with open(os.path.join(directory, f"{SPLIT}.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "family", "kind", "transform", "split"])
        for it in items:
            writer.writerow([it.name, it.family, it.kind, it.transform, it.split])
    return items
