"""What gets looked at: targets, -r, -T, formats by content, bad files, aliases."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest


def _family(root, photo, seed, names):
    img = photo(seed)
    paths = []
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        fmt = "PNG" if name.lower().endswith(".png") else "JPEG"
        img.save(p, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
        paths.append(str(p))
    return paths


def test_top_level_only_unless_recursive(imgdupes, tmp_path, photo):
    _family(tmp_path, photo, 1, ["a.jpg", "sub/b.jpg"])
    assert imgdupes(str(tmp_path), "phash", "0").sets == []
    res = imgdupes("-r", str(tmp_path), "phash", "0")
    assert sorted(res.sets[0]) == sorted([str(tmp_path / "a.jpg"), str(tmp_path / "sub/b.jpg")])


def test_several_target_dirs_like_fdupes(imgdupes, tmp_path, photo):
    _family(tmp_path, photo, 2, ["one/a.jpg", "two/b.jpg"])
    res = imgdupes("-r", str(tmp_path / "one"), str(tmp_path / "two"), "phash", "0")
    assert len(res.sets) == 1 and len(res.sets[0]) == 2


def test_options_may_follow_the_target(imgdupes, tmp_path, photo):
    a, b = _family(tmp_path, photo, 3, ["a.jpg", "b.png"])
    res = imgdupes(str(tmp_path), "--query", a, "phash", "4")
    assert res.code == 0, res.err
    assert res.out.startswith(f"Query: {a}\n\n")
    assert b in res.out


def test_images_recognised_by_content_not_extension(imgdupes, tmp_path, photo):
    img = photo(4)
    img.save(tmp_path / "UPPER.JPG", format="JPEG", quality=90)
    img.save(tmp_path / "no_extension", format="PNG")
    img.save(tmp_path / "misnamed.dat", format="WEBP")
    img.save(tmp_path / "picture.GiF", format="GIF")
    img.save(tmp_path / "bitmap.bmp", format="BMP")
    img.save(tmp_path / "scan.TIFF", format="TIFF")
    (tmp_path / "notes.txt").write_text("shopping list\n")
    res = imgdupes(str(tmp_path), "phash", "6")
    assert res.code == 0
    found = {os.path.basename(p) for s in res.sets for p in s}
    assert found == {
        "UPPER.JPG",
        "no_extension",
        "misnamed.dat",
        "picture.GiF",
        "bitmap.bmp",
        "scan.TIFF",
    }
    assert "notes.txt" not in res.err  # quietly skipped


def test_bad_image_files_get_one_warning_each(imgdupes, tmp_path, photo):
    a, b = _family(tmp_path, photo, 5, ["a.jpg", "b.jpg"])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not a picture")
    data = open(a, "rb").read()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    os.symlink(tmp_path / "missing.jpg", tmp_path / "dangling.jpg")
    (tmp_path / "readme.txt").write_text("hello")
    res = imgdupes(str(tmp_path), "phash", "4")
    assert res.code == 0
    assert sorted(res.sets[0]) == sorted([a, b])
    lines = res.err.strip().splitlines()
    for bad in ("empty.jpg", "text.png", "truncated.jpg", "dangling.jpg"):
        hits = [ln for ln in lines if bad in ln]
        assert len(hits) == 1, (bad, res.err)
    assert "readme.txt" not in res.err
    assert "Traceback" not in res.err


def test_undecodable_files_never_match_each_other(imgdupes, tmp_path):
    # The original hashed every unreadable file to the same value.
    for n in range(4):
        (tmp_path / f"broken{n}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" + bytes(n))
    res = imgdupes("--json", str(tmp_path), "phash", "0")
    doc = json.loads(res.out)
    assert doc["sets"] == []
    assert sorted(e["path"] for e in doc["errors"]) == sorted(
        str(tmp_path / f"broken{n}.jpg") for n in range(4)
    )


def test_files_from_list_and_stdin(imgdupes, tmp_path, photo):
    a, b = _family(tmp_path, photo, 6, ["with space/a b.jpg", "c.png"])
    _family(tmp_path, photo, 7, ["other.jpg"])
    listing = tmp_path / "list.txt"
    listing.write_text(f"{a}\n\n{b}\n")
    res = imgdupes("-T", str(listing), "phash", "4")
    assert res.sets == [sorted([a, b], key=lambda p: -os.path.getsize(p))]
    res2 = imgdupes("-T", "-", "phash", "4", stdin=f"{a}\n{b}\n")
    assert res2.sets == res.sets


def test_files_from_wins_over_target_with_warning(imgdupes, tmp_path, photo):
    a, b = _family(tmp_path, photo, 8, ["x/a.jpg", "x/b.jpg"])
    _family(tmp_path, photo, 9, ["y/c.jpg", "y/d.jpg"])
    listing = tmp_path / "list.txt"
    listing.write_text(f"{a}\n{b}\n")
    res = imgdupes("-T", str(listing), str(tmp_path / "y"), "phash", "4")
    assert len(res.sets) == 1 and sorted(res.sets[0]) == sorted([a, b])
    assert "ignored" in res.err


def test_explicit_non_image_in_list_is_reported(imgdupes, tmp_path, photo):
    a, b = _family(tmp_path, photo, 10, ["a.jpg", "b.jpg"])
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{a}\n{b}\n{notes}\n{tmp_path / 'gone.jpg'}\n")
    res = imgdupes("-T", str(listing), "phash", "4")
    assert len(res.sets) == 1
    assert "notes.txt" in res.err and "gone.jpg" in res.err


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 names")
def test_non_utf8_names_survive(imgdupes_proc, tmp_path, photo):
    root = os.fsencode(str(tmp_path))
    img = photo(12)
    names = [root + b"/caf\xe9.jpg", root + b"/plain.jpg"]
    for n in names:
        with open(n, "wb") as fh:
            img.save(fh, format="JPEG", quality=90)
    res = imgdupes_proc(str(tmp_path), "phash", "0", cwd=str(tmp_path))
    assert res.code == 0, res.err
    raw = res.out.encode("utf-8", "surrogateescape")
    assert b"caf\xe9.jpg" in raw
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"\n".join(names) + b"\n")
    res2 = imgdupes_proc("-T", str(listing), "phash", "0", cwd=str(tmp_path))
    assert res2.out == res.out


def test_one_real_file_under_several_names_is_one_file(imgdupes, tmp_path, photo):
    (a,) = _family(tmp_path, photo, 13, ["a.jpg"])
    os.symlink(a, tmp_path / "link.jpg")
    os.link(a, tmp_path / "hard.jpg")
    res = imgdupes("--json", str(tmp_path), "phash", "0")
    doc = json.loads(res.out)
    assert doc["sets"] == []  # never its own duplicate
    assert len(doc["aliases"]) == 1
    assert sorted(doc["aliases"][0]) == sorted(
        [a, str(tmp_path / "link.jpg"), str(tmp_path / "hard.jpg")]
    )
    # the primary name is the real file, not the symlink
    assert doc["aliases"][0][0] != str(tmp_path / "link.jpg")


def test_same_file_listed_twice_as_dot_slash(imgdupes, tmp_path, photo, monkeypatch):
    _family(tmp_path, photo, 14, ["a.jpg"])
    monkeypatch.chdir(tmp_path)
    listing = tmp_path / "list.txt"
    listing.write_text("a.jpg\n./a.jpg\n")
    res = imgdupes("-T", str(listing), "phash", "0")
    assert res.sets == []


def test_symlink_to_image_elsewhere_pairs_with_a_real_copy(imgdupes, tmp_path, photo):
    outside = tmp_path / "outside"
    outside.mkdir()
    (src,) = _family(outside, photo, 15, ["orig.jpg"])
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(src, target / "copy.jpg")
    os.symlink(src, target / "link.jpg")
    res = imgdupes(str(target), "phash", "0")
    assert len(res.sets) == 1 and len(res.sets[0]) == 2


def test_unreadable_file_is_reported_not_fatal(tmp_path, photo):
    from conftest import run_without_file_override

    a, b, c = _family(tmp_path, photo, 16, ["a.jpg", "b.jpg", "secret.jpg"])
    os.chmod(c, 0)
    res = run_without_file_override("--no-cache", str(tmp_path), "phash", "4")
    assert res.code == 0, res.err
    warned = [ln for ln in res.err.splitlines() if "secret.jpg" in ln]
    assert len(warned) == 1 and "permission denied" in warned[0].lower()
    assert sorted(p for p in res.out.split("\n") if p) == sorted([a, b])


def test_empty_target_says_no_images_found(imgdupes, tmp_path, photo):
    (tmp_path / "sub").mkdir()
    photo(1).save(tmp_path / "sub" / "a.jpg")
    res = imgdupes(str(tmp_path), "phash", "4")
    assert res.code == 0 and res.out == ""
    assert f"no images found; subfolders of {tmp_path} hold some: add -r to search them" in res.err
