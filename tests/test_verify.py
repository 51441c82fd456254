"""Verification: low-detail look-alikes are not duplicates; real copies still are."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from imgdupes import verify
from imgdupes.hasher import HashSpec, hash_path
from imgdupes.samples import brightened, resized


def _low_detail_zoo(root):
    rng = np.random.default_rng(0)
    for k in range(12):
        colour = tuple(int(x) for x in rng.integers(0, 256, 3))
        Image.new("RGB", (300, 200), colour).save(root / f"flat{k}.png")
    for k in range(12):
        a = np.linspace(0, 1, 300)[None, :, None]
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        arr = (c0 * (1 - a) + c1 * a) * np.ones((200, 1, 1))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"gradient{k}.png")


def test_unrelated_low_detail_pictures_are_not_called_duplicates(imgdupes, tmp_path):
    _low_detail_zoo(tmp_path)
    unverified = imgdupes("--no-verify", str(tmp_path), "phash", "4")
    assert unverified.sets, "the hash alone matches unrelated flat pictures"
    assert imgdupes(str(tmp_path), "phash", "4").sets == []
    assert imgdupes(str(tmp_path), "phash", "10").sets == []


def test_identical_hashes_of_different_flat_colours_are_split(imgdupes, tmp_path):
    for n in range(3):
        Image.new("RGB", (64, 64), (255, 255, 255)).save(tmp_path / f"white{n}.png")
        Image.new("RGB", (64, 64), (180, 40, 40)).save(tmp_path / f"red{n}.png")
    res = imgdupes("--sort", "filepath", str(tmp_path), "phash", "0")
    assert sorted(sorted(s) for s in res.sets) == [
        [str(tmp_path / f"red{n}.png") for n in range(3)],
        [str(tmp_path / f"white{n}.png") for n in range(3)],
    ]
    assert len(imgdupes("--no-verify", str(tmp_path), "phash", "0").sets) == 1


def test_benign_edits_still_match(imgdupes, tmp_path, photo):
    families = []
    for n in range(4):
        img = photo(300 + n)
        names = {
            "orig.jpg": img,
            "half.png": resized(img, 0.5),
            "bright.jpg": brightened(img, 1.2),
            "contrast.jpg": ImageEnhance.Contrast(img).enhance(1.25),
            "gray.jpg": img.convert("L"),
            "q40.jpg": img,
        }
        fam = []
        for name, im in names.items():
            p = tmp_path / f"f{n}_{name}"
            im.save(p, **({"quality": 40} if name == "q40.jpg" else {}))
            fam.append(str(p))
        families.append(sorted(fam))
    res = imgdupes(str(tmp_path), "phash", "10")
    assert sorted(sorted(s) for s in res.sets) == families


def test_query_is_verified_too(imgdupes, tmp_path):
    _low_detail_zoo(tmp_path)
    query = tmp_path / "flat0.png"
    res = imgdupes(str(tmp_path), "--query", str(query), "phash", "10")
    assert res.out == f"Query: {query}\n\n"
    res = imgdupes("--no-verify", str(tmp_path), "--query", str(query), "phash", "10")
    assert len(res.out.strip().splitlines()) > 2


def _signature(path):
    ok, out, _, _ = hash_path(str(path), HashSpec(("phash",), 64, all_methods=False))
    assert ok, out
    return out.signature


def _caption(img):
    """A white band over the bottom 15% with a line of text, as a meme caption."""
    out = img.convert("RGB")
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - round(0.15 * h), w, h), fill=(255, 255, 255))
    draw.text((w // 20, h - round(0.12 * h)), "when the build passes", fill=(0, 0, 0))
    return out


def _clipped(img):
    """Brightened until some highlights saturate, then gamma-lifted shadows."""
    out = brightened(img, 1.25)
    return out.point([round(255 * (v / 255) ** 0.75) for v in range(256)] * len(out.getbands()))


def test_tone_changes_grayscale_and_a_caption_band_are_confirmed(tmp_path, photo):
    img = photo(11, (480, 360))
    copies = {
        "clipped.jpg": _clipped(img),
        "gray.jpg": ImageEnhance.Contrast(img.convert("L")).enhance(0.8),
        "caption.jpg": _caption(img),
    }
    img.save(tmp_path / "orig.png")
    for name, im in copies.items():
        im.save(tmp_path / name, quality=90)
    sigs = [_signature(tmp_path / n) for n in copies]
    codes = verify.decide(
        verify.Features([_signature(tmp_path / "orig.png"), *sigs]), np.zeros(3), np.arange(1, 4)
    )
    rules = dict(zip(copies, (verify.RULES[c] for c in codes), strict=True))
    assert verify.REJECTED not in codes, rules
    # The plain correlation of levels alone does not confirm the band: the local rule does.
    assert rules["caption.jpg"] == "local"
    other = photo(12, (480, 360))
    other.save(tmp_path / "other.png")
    assert not verify.accept_query(
        _signature(tmp_path / "orig.png"), [_signature(tmp_path / "other.png")]
    )[0]


def test_gradients_of_different_colours_are_not_confirmed(tmp_path):
    a = np.linspace(0, 1, 320)[None, :, None] * np.ones((240, 1, 1))
    for name, (c0, c1) in {
        "warm": ((250, 120, 30), (120, 20, 10)),
        "cold": ((30, 120, 250), (10, 20, 120)),
    }.items():
        arr = np.array(c0) * (1 - a) + np.array(c1) * a
        Image.fromarray(arr.astype(np.uint8)).save(tmp_path / f"{name}.png")
    warm, cold = _signature(tmp_path / "warm.png"), _signature(tmp_path / "cold.png")
    assert verify.accept_query(warm, [warm])[0]
    assert not verify.accept_query(warm, [cold])[0]


_WORDS = (
    "report revenue growth regions costs budget forecast meeting agenda minutes action "
    "items customer survey results support project schedule risk review database backup"
).split()


def _page(text_seed):
    """A page of one fixed layout (heading, paragraphs of full lines) with other words."""
    rng = np.random.default_rng(text_seed)
    img = Image.new("RGB", (850, 1100), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    try:
        body, head = ImageFont.load_default(size=15), ImageFont.load_default(size=30)
    except TypeError:  # Pillow < 10.1: the bitmap font
        body = head = ImageFont.load_default()
    draw.text((80, 60), " ".join(rng.choice(_WORDS, 4)).title(), font=head, fill=0)
    y = 120
    for para in (6, 4, 7, 5, 6, 4, 8):
        for k in range(para):
            words, line = list(rng.choice(_WORDS, 40)), ""
            while words and draw.textlength(line + " " + words[0], font=body) < 690:
                line = (line + " " + words.pop(0)).strip()
            draw.text((80, y + 20 * k), line, font=body, fill=(20, 20, 20))
        y += 20 * para + 18
    return img


def test_pages_of_one_layout_with_other_text_are_not_confirmed(imgdupes, tmp_path):
    for n in range(4):
        _page(n).save(tmp_path / f"page{n}.png")
    _page(0).save(tmp_path / "page0_copy.jpg", quality=40)
    unverified = imgdupes("--no-verify", str(tmp_path), "phash", "10")
    assert any(len(s) >= 3 for s in unverified.sets), "the hash alone calls the pages one"
    res = imgdupes(str(tmp_path), "phash", "10")
    assert sorted(sorted(s) for s in res.sets) == [
        sorted([str(tmp_path / "page0.png"), str(tmp_path / "page0_copy.jpg")])
    ]


def test_cropped_bordered_and_slightly_turned_copies_are_confirmed_after_aligning(tmp_path, photo):
    """The fine detail moves by a pixel or two under these edits: it is compared
    again after aligning, and the rule says so."""
    img = photo(21, (480, 360))
    w, h = img.size
    copies = {
        "crop.jpg": img.crop((24, 18, w - 24, h - 18)),  # 5% off each side
        "border.jpg": ImageOps.expand(img, border=24, fill=(0, 0, 0)),
        "turned.jpg": img.rotate(3, resample=Image.Resampling.BICUBIC),
    }
    img.save(tmp_path / "orig.png")
    for name, im in copies.items():
        im.save(tmp_path / name, quality=90)
    sigs = [_signature(tmp_path / n) for n in ["orig.png", *copies]]
    n = len(copies)
    codes = verify.decide(verify.Features(sigs), np.zeros(n), np.arange(1, n + 1))
    rules = dict(zip(copies, (verify.RULES[c] for c in codes), strict=True))
    assert set(rules.values()) <= {"aligned", "structure", "tone"}, rules
    assert "aligned" in rules.values(), rules


def _soft(seed, base, amp, cells=(6, 8), size=(320, 240)):
    """A soft, low-detail picture: a few smooth bumps of colour (a sky, water, a wall)."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray((rng.random(cells) * 255).astype(np.uint8))
    bumps = np.asarray(field.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    arr = np.array(base, dtype=np.float32) + (bumps[:, :, None] / 255 - 0.5) * amp
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _framed(img, frac=0.05):
    w, h = img.size
    out = Image.new("RGB", (w + 2 * round(frac * w), h + 2 * round(frac * h)), (0, 0, 0))
    out.paste(img, (round(frac * w), round(frac * h)))
    return out


def _decide_pairs(tmp_path, a, b, thresholds=verify.DEFAULT):
    """Rules for a~b and a~(a JPEG copy of a)."""
    a.save(tmp_path / "a.png")
    b.save(tmp_path / "b.png")
    a.save(tmp_path / "a.jpg", quality=80)
    f = verify.Features([_signature(tmp_path / n) for n in ("a.png", "b.png", "a.jpg")])
    return verify.decide(f, np.array([0, 0]), np.array([1, 2]), thresholds)


def test_different_soft_pictures_with_one_caption_band_are_not_confirmed(tmp_path):
    # two different skies under one meme caption: the band is all they share
    a = _caption(_soft(1, (40, 70, 120), 60))
    b = _caption(_soft(2, (55, 85, 140), 60))
    unsupported = replace(verify.DEFAULT, support_min_correlation=-1.0)
    assert _decide_pairs(tmp_path, a, b, unsupported)[0] == verify.STRUCTURE, (
        "the whole-picture rule alone confirms the two (the band dominates)"
    )
    codes = _decide_pairs(tmp_path, a, b)
    assert codes[0] == verify.REJECTED
    assert codes[1] != verify.REJECTED  # a JPEG copy of the captioned picture still is one


def test_different_pictures_in_one_black_frame_are_not_confirmed(tmp_path):
    for amp, cells in ((30, (6, 8)), (40, (9, 12))):
        a = _framed(_soft(1, (190, 180, 160), amp, cells))
        b = _framed(_soft(2, (170, 160, 140), amp, cells))
        unsupported = replace(verify.DEFAULT, support_inner_min_correlation=-1.0)
        assert _decide_pairs(tmp_path, a, b, unsupported)[0] == verify.STRUCTURE, (
            "the whole-picture rule alone confirms the two (the frame dominates)"
        )
        codes = _decide_pairs(tmp_path, a, b)
        assert codes[0] == verify.REJECTED, (amp, cells)
        assert codes[1] != verify.REJECTED  # the framed picture's JPEG copy is confirmed
