"""--hashes-from and --export-hashes: hash tables on disk, no image read."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import needs

from imgdupes import hashes
from imgdupes.hashio import hex_to_matrix, matrix_to_hex


def write_csv(path, rows, header=("path", "hash")):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_sets_from_a_csv_report_paths_exactly_as_written(imgdupes, tmp_path):
    table = write_csv(
        tmp_path / "h.csv",
        [
            ("photos/a, copy.jpg", "ffffffffffffffff"),  # comma inside a quoted path
            ("/elsewhere/b.jpg", "fffffffffffffff0"),  # 4 bits away
            ("c.jpg", "0000000000000000"),
            ("./d.jpg", "000000000000001f"),  # 5 bits from c: not within 4
        ],
    )
    res = imgdupes("--hashes-from", table, "phash", "4", "--sort", "filepath")
    assert res.code == 0, res.err
    assert res.sets == [["/elsewhere/b.jpg", "photos/a, copy.jpg"]]
    res = imgdupes("--hashes-from", table, "phash", "5")
    assert sorted(map(sorted, res.sets)) == [
        ["./d.jpg", "c.jpg"],
        ["/elsewhere/b.jpg", "photos/a, copy.jpg"],
    ]


def test_bad_rows_get_one_line_each_with_their_row_number(imgdupes, tmp_path):
    table = write_csv(
        tmp_path / "h.csv",
        [
            ("a.jpg", "ffffffffffffffff"),
            ("bad-hex.jpg", "fffffffffffffffg"),
            ("short.jpg", "fff"),
            ("", "ffffffffffffffff"),
            ("b.jpg", "FFFFFFFFFFFFFFFF"),  # upper case is still hex
        ],
    )
    res = imgdupes("--hashes-from", table, "phash", "0")
    assert res.code == 0
    assert res.sets == [["a.jpg", "b.jpg"]]
    lines = res.err.strip().splitlines()
    assert len(lines) == 3
    assert "row 2" in lines[0] and "not hexadecimal" in lines[0]
    assert "row 3" in lines[1] and "3 hex digits, expected 16" in lines[1]
    assert "row 4" in lines[2] and "no path" in lines[2]


def test_no_target_needed_and_a_missing_file_is_one_line(imgdupes, tmp_path):
    res = imgdupes("--hashes-from", str(tmp_path / "none.csv"), "phash", "4")
    assert res.code == 2
    assert res.err.strip().count("\n") == 0 and "none.csv" in res.err
    no_cols = write_csv(tmp_path / "x.csv", [("a", "b")], header=("file", "value"))
    res = imgdupes("--hashes-from", no_cols, "phash", "4")
    assert res.code == 2 and "no path or hash column" in res.err


def test_algorithm_column_keeps_only_the_requested_method(imgdupes, tmp_path):
    table = write_csv(
        tmp_path / "h.csv",
        [
            ("a.jpg", "ffffffffffffffff", "phash"),
            ("b.jpg", "ffffffffffffffff", "phash"),
            ("c.jpg", "ffffffffffffffff", "dhash"),
        ],
        header=("path", "hash", "algorithm"),
    )
    res = imgdupes("--hashes-from", table, "phash", "0")
    assert res.sets == [["a.jpg", "b.jpg"]]
    assert "1 rows hold other algorithms" in res.err


@pytest.mark.parametrize(
    "ext", ["csv", pytest.param("parquet", marks=needs("pyarrow", "pip install pyarrow"))]
)
def test_export_then_import_gives_the_same_sets(imgdupes, dupe_tree, tmp_path, ext):
    root, families = dupe_tree
    out = tmp_path / f"hashes.{ext}"
    direct = imgdupes(str(root), "phash", "4", "--export-hashes", str(out), "--json")
    assert direct.code == 0, direct.err
    assert out.exists()
    again = imgdupes("--hashes-from", str(out), "phash", "4", "--json")
    assert again.code == 0, again.err
    # Same files in the same sets, same order (size and mtime came along).
    import json

    def paths(res):
        return [[f["path"] for f in s["files"]] for s in json.loads(res.out)["sets"]]

    assert paths(again) == paths(direct)
    assert sorted(sorted(s) for s in paths(direct)) == families


def test_export_columns_and_hex_match_imagehash_text(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    out = tmp_path / "h.csv"
    res = imgdupes(
        str(root), "dhash", "4", "--hash-bits", "144", "--full-decode", "--export-hashes", str(out)
    )
    assert res.code == 0, res.err
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["path", "hash", "algorithm", "bits", "size", "mtime"]
    assert len(rows) == 15
    assert {r["algorithm"] for r in rows} == {"dhash"} and {r["bits"] for r in rows} == {"144"}
    assert all(len(r["hash"]) == 36 for r in rows)
    import imagehash
    from PIL import Image

    row = next(r for r in rows if r["path"].endswith("fam0_orig.jpg"))
    with Image.open(row["path"]) as img:
        assert row["hash"] == str(imagehash.dhash(img, hash_size=12))


def test_export_to_a_missing_folder_fails_before_hashing(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    res = imgdupes(str(root), "phash", "4", "--export-hashes", str(tmp_path / "no" / "h.csv"))
    assert res.code == 2
    assert "no such directory" in res.err and res.out == ""


def test_hex_round_trip_for_odd_digit_counts():
    rng = np.random.default_rng(0)
    for nbits in (36, 64, 144, 256):
        packed = [
            hashes.from_hex(format(int(rng.integers(0, 2**32)) << (nbits - 32), f"0{nbits // 4}x"))
            for _ in range(20)
        ]
        m = hashes.as_matrix(packed, nbits)
        text = matrix_to_hex(m, nbits)
        assert text == [hashes.to_hex(p, nbits) for p in packed]
        digits = np.array(text, dtype=f"S{nbits // 4}").view(np.uint8).reshape(20, -1)
        back, ok = hex_to_matrix(digits)
        assert ok.all() and (back == m).all()


@needs("pyarrow", "pip install pyarrow")
def test_query_against_a_hash_table(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    out = tmp_path / "h.parquet"
    assert imgdupes(str(root), "phash", "4", "--export-hashes", str(out)).code == 0
    query = families[1][0]
    res = imgdupes("--hashes-from", str(out), "--query", query, "phash", "4")
    assert res.code == 0, res.err
    assert set(families[1]) <= set(res.out.split())
