"""Low-detail pictures with a grain (papers, canvas): re-toned copies are
found, other papers of one tint and other tints of one paper are not."""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image, ImageDraw

from imgdupes import verify
from imgdupes.hasher import HashSpec, hash_path


def _paper(seed: int, tint=(230, 222, 205), size=(400, 300)) -> Image.Image:
    """A pale sheet with a faint grain (about a level at the thumbnails' scale)."""
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.normal(0, 1, (h // 10 + 1, w // 10 + 1))
    grain = np.asarray(Image.fromarray(coarse.astype(np.float32)).resize((w, h), Image.BICUBIC))
    grain = grain + rng.normal(0, 3, (h, w))
    arr = np.asarray(tint, dtype=np.float32)[None, None, :] + 2.5 * grain[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _gamma(img: Image.Image, g: float) -> Image.Image:
    return img.point([round(255 * (v / 255) ** g) for v in range(256)] * 3)


def _caption(img: Image.Image) -> Image.Image:
    out = img.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, int(0.85 * h), w, h), fill=(255, 255, 255))
    draw.text((w // 20, int(0.88 * h)), "best holiday ever", fill=(0, 0, 0))
    return out


def _signature(path) -> bytes:
    ok, out, _, _ = hash_path(str(path), HashSpec(("phash",), 64))
    assert ok, out
    return out.signature


def _rules(tmp_path, pairs: dict[str, tuple[Image.Image, Image.Image]]) -> dict[str, str]:
    sigs = []
    for name, (x, y) in pairs.items():
        for k, img in enumerate((x, y)):
            path = tmp_path / f"{name}{k}.jpg"
            img.save(path, quality=90)
            sigs.append(_signature(path))
    f = verify.Features(sigs)
    codes = verify.decide(f, np.arange(0, len(sigs), 2), np.arange(1, len(sigs), 2))
    return {name: verify.RULES[c] for name, c in zip(pairs, codes, strict=True)}


def test_retoned_copies_of_a_paper_are_confirmed_by_its_grain(tmp_path):
    paper = _paper(1)
    got = _rules(
        tmp_path,
        {
            "gamma": (paper, _gamma(paper, 0.6)),
            "gray": (paper, paper.convert("L").convert("RGB")),
            "darker": (paper, _gamma(paper, 1.4)),
        },
    )
    assert got == {"gamma": "texture", "gray": "texture", "darker": "texture"}


def test_papers_of_one_tint_or_one_paper_in_two_tints_are_not_one_picture(tmp_path):
    got = _rules(
        tmp_path,
        {
            "other paper": (_paper(1), _paper(2)),
            "other tint": (_paper(1), _paper(1, tint=(205, 222, 232))),
            "one caption on two papers": (_caption(_paper(1)), _caption(_paper(2))),
        },
    )
    assert set(got.values()) == {"rejected"}, got


def test_a_captioned_paper_is_found_through_its_grain(tmp_path):
    paper = _paper(3)
    assert _rules(tmp_path, {"caption": (paper, _caption(paper))}) == {"caption": "texture"}


def test_an_older_signature_without_a_texture_still_decides(tmp_path):
    paper = _paper(4)
    paper.save(tmp_path / "a.png")
    _gamma(paper, 0.6).save(tmp_path / "b.png")
    sigs = [_signature(tmp_path / n)[: verify.TEXTURE_OFFSET] for n in ("a.png", "b.png")]
    f = verify.Features(sigs)
    assert f.present.all() and not f.has_texture.any()
    assert verify.decide(f, np.array([0]), np.array([1]))[0] != verify.TEXTURE


def test_json_names_the_texture_rule_and_two_papers_stay_apart(imgdupes, tmp_path):
    """What a user sees: a paper, its re-toned and grayscale copies in one set
    (--json says which rule), another paper of the same tint in none."""
    paper = _paper(5)
    paper.save(tmp_path / "paper.png")
    _gamma(paper, 0.6).save(tmp_path / "paper_gamma.jpg", quality=90)
    paper.convert("L").save(tmp_path / "paper_gray.jpg", quality=90)
    _paper(6).save(tmp_path / "other.png")
    res = imgdupes("--json", "--sort", "filepath", str(tmp_path), "phash", "10")
    sets = json.loads(res.out)["sets"]
    assert len(sets) == 1
    files = sets[0]["files"]
    names = sorted(os.path.basename(f["path"]) for f in files)
    assert names == ["paper.png", "paper_gamma.jpg", "paper_gray.jpg"]
    assert {f.get("verified") for f in files[1:]} == {"texture"}
