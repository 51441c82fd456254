"""--csv FILE: one row per file, exact names, no spreadsheet formulas."""

from __future__ import annotations

import csv
import json
import os
import sys

import pytest

from imgdupes.report.csv_report import neutralise


def _read(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def test_csv_has_one_row_per_file_matching_json(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    out = tmp_path / "dupes.csv"
    res = imgdupes("--json", "--csv", str(out), str(root), "phash", "4")
    assert res.code == 0, res.err
    doc = json.loads(res.out)  # --json on stdout is untouched by --csv
    rows = _read(out)
    assert list(rows[0]) == [
        "set", "path", "size", "width", "height", "hash", "distance", "keep", "reason"
    ]  # fmt: skip
    expected = [
        {
            "set": str(k),
            "path": f["path"],
            "size": str(f["size"]),
            "width": str(f["width"]),
            "height": str(f["height"]),
            "hash": f["hash"],
            "distance": str(f["distance"]),
            "keep": str(int(f["keep"])),  # the plan's mark, as in --json
            "reason": f["reason"],
        }
        for k, s in enumerate(doc["sets"], start=1)
        for f in s["files"]
    ]
    assert rows == expected
    assert len(rows) == sum(len(f) for f in families)


def test_csv_with_list_mode_and_query(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    out = tmp_path / "list.csv"
    res = imgdupes("--csv", str(out), "-m", str(root), "phash", "4")
    assert res.code == 0 and "duplicate files (in 3 sets)" in res.out
    assert {r["set"] for r in _read(out)} == {"1", "2", "3"}
    query = families[0][0]
    res = imgdupes("--csv", str(out), "--query", query, str(root), "phash", "4")
    assert res.code == 0, res.err
    rows = _read(out)
    assert {r["set"] for r in rows} == {"1"}
    assert sorted(r["path"] for r in rows) == sorted(set(families[0]) - {query})


def test_hostile_names_exact_but_never_formulas(imgdupes, tmp_path, photo, monkeypatch):
    root = tmp_path / "pics"
    root.mkdir()
    img = photo(11)
    formula_names = ['=HYPERLINK("x","click").jpg', "+1.jpg", "-2+3.jpg", "@SUM(1).jpg"]
    odd_names = ['a,"quoted".jpg', "new\nline.jpg", "esc\x1b[31m.jpg", "<b>.jpg"]
    for n, name in enumerate(formula_names + odd_names):
        img.save(root / name, format="JPEG", quality=95 - n)
    monkeypatch.chdir(root)
    # a list of bare names, so that the formula characters start the cell
    listed = tmp_path / "list.txt"
    listed.write_text("\n".join(formula_names + ["<b>.jpg", "esc\x1b[31m.jpg"]) + "\n")
    out = tmp_path / "out.csv"
    res = imgdupes("--csv", str(out), "-T", str(listed), "phash", "4")
    assert res.code == 0, res.err
    paths = {r["path"] for r in _read(out)}
    assert paths == {"'" + n for n in formula_names} | {"<b>.jpg", "esc\x1b[31m.jpg"}
    for p in paths:
        assert not p.startswith(("=", "+", "-", "@"))

    # a directory walk: commas, quotes and newlines survive the round trip exactly
    res = imgdupes("--json", "--csv", str(out), str(root), "phash", "4")
    assert res.code == 0, res.err
    json_paths = {f["path"] for s in json.loads(res.out)["sets"] for f in s["files"]}
    csv_paths = {r["path"] for r in _read(out)}
    assert csv_paths == json_paths
    assert str(root / "new\nline.jpg") in csv_paths
    assert str(root / 'a,"quoted".jpg') in csv_paths


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\t=1") == "'\t=1"
    assert neutralise("photo=1.jpg") == "photo=1.jpg"
    assert neutralise("") == ""


def test_csv_into_missing_folder_is_refused_before_the_scan(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    res = imgdupes("--csv", str(tmp_path / "nope" / "x.csv"), str(root), "phash", "4")
    assert res.code == 2 and "--csv" in res.err and "nope" in res.err
    assert res.out == ""


def test_csv_that_fails_to_write_warns_and_the_run_goes_on(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    res = imgdupes("--csv", str(folder), str(root), "phash", "4")
    assert res.code == 2 and "is a directory" in res.err  # refused before the scan
    # passes the early check, fails when opened: a link into a folder that is not there
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "gone" / "x.csv")
    res = imgdupes("--csv", str(link), str(root), "phash", "4")
    assert res.code == 1
    assert sorted(sorted(s) for s in res.sets) == sorted(families)  # the listing still came
    [line] = res.err.strip().splitlines()
    assert str(link) in line and "cannot write" in line


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 names")
def test_non_utf8_names_in_csv_and_html(imgdupes_proc, tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    img = photo(13)
    for name in (b"caf\xe9.jpg", b"plain.jpg"):
        with open(os.fsencode(str(root)) + b"/" + name, "wb") as fh:
            img.save(fh, format="JPEG", quality=90)
    res = imgdupes_proc(
        "--csv", "out.csv", "--html", "out.html", str(root), "phash", "0", cwd=str(tmp_path)
    )
    assert res.code == 0, res.err
    # the CSV holds the name's very bytes; the page shows it escaped, nothing breaks
    assert b"caf\xe9.jpg" in (tmp_path / "out.csv").read_bytes()
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "caf\\\\xe9.jpg" in page and "2 files." in page
