"""--rotations: turned and mirrored copies match; the default path ignores them."""

from __future__ import annotations

import os

from PIL import Image

T = Image.Transpose


def _turned_family(root, photo):
    img = photo(600, (480, 360))
    img.save(root / "orig.jpg", quality=92)
    img.transpose(T.FLIP_LEFT_RIGHT).save(root / "mirror.jpg", quality=92)
    img.transpose(T.ROTATE_90).save(root / "rot90.jpg", quality=92)
    img.transpose(T.ROTATE_180).save(root / "rot180.png")
    img.resize((240, 180)).transpose(T.ROTATE_270).save(root / "rot270_small.jpg", quality=85)
    photo(601).save(root / "other.jpg", quality=92)
    photo(602).transpose(T.ROTATE_90).save(root / "other2.jpg", quality=92)


def test_turned_copies_match_only_with_rotations(imgdupes, tmp_path, photo):
    _turned_family(tmp_path, photo)
    plain = imgdupes(str(tmp_path), "phash", "6")
    assert all(len(s) < 5 for s in plain.sets)
    res = imgdupes("--rotations", "--sort", "filepath", str(tmp_path), "phash", "6")
    assert res.code == 0, res.err
    assert [[os.path.basename(p) for p in s] for s in res.sets] == [
        ["mirror.jpg", "orig.jpg", "rot180.png", "rot270_small.jpg", "rot90.jpg"]
    ]


def test_rotations_reports_the_best_orientations_distance(imgdupes, tmp_path, photo):
    import json

    _turned_family(tmp_path, photo)
    doc = json.loads(imgdupes("--json", "--rotations", str(tmp_path), "phash", "6").out)
    assert all(f["distance"] <= 6 for s in doc["sets"] for f in s["files"])


def test_query_finds_turned_copies_with_rotations(imgdupes, tmp_path, photo):
    _turned_family(tmp_path, photo)
    q = tmp_path / "orig.jpg"
    res = imgdupes("--rotations", str(tmp_path), "--query", str(q), "phash", "6")
    listed = {os.path.basename(p) for p in res.out.split("\n")[2:] if p}
    assert listed == {"mirror.jpg", "rot90.jpg", "rot180.png", "rot270_small.jpg"}
    res = imgdupes(str(tmp_path), "--query", str(q), "phash", "6")
    assert "rot90.jpg" not in res.out


def test_rotations_are_cached_with_the_hashes(imgdupes, tmp_path, photo, forbid_decoding):
    pics = tmp_path / "pics"
    pics.mkdir()
    _turned_family(pics, photo)
    first = imgdupes("--rotations", "--cache-dir", str(tmp_path / "c"), str(pics), "phash", "6")
    forbid_decoding()  # only the cache can answer now
    second = imgdupes("--rotations", "--cache-dir", str(tmp_path / "c"), str(pics), "phash", "6")
    assert second.err == ""
    assert first.out == second.out and len(first.sets[0]) == 5


def test_rotations_with_hash_file_is_refused(imgdupes, tmp_path):
    table = tmp_path / "h.csv"
    table.write_text("path,hash\na.jpg,ffff0000ffff0000\n")
    res = imgdupes("--rotations", "--hashes-from", str(table), "phash", "4")
    assert res.code == 2 and "--rotations" in res.err
