"""--shards: images inside WebDataset .tar shards and Parquet files are items of their own."""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from pathlib import Path

import pytest
from conftest import run_inproc

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _loose_sets(root: Path) -> list[list[str]]:
    r = run_inproc("--no-cache", str(root), "phash", "4")
    assert r.code == 0, r.err
    return sorted(sorted(Path(p).name for p in s) for s in r.sets)


def _webdataset(root: Path, out: Path, shards: int = 2) -> dict[str, str]:
    """WebDataset tars of the images below ``root`` (key.ext plus key.json and
    key.cls beside each): returns item name -> original file name."""
    out.mkdir()
    names: dict[str, str] = {}
    files = sorted(root.iterdir())
    for k in range(shards):
        shard = out / f"train-{k:06d}.tar"
        with tarfile.open(shard, "w") as tf:
            for n, f in enumerate(files[k::shards]):
                key = f"{k:02d}{n:04d}"
                member = f"{key}{f.suffix}"
                tf.add(f, arcname=member)
                for ext, text in ((".json", json.dumps({"src": f.name})), (".cls", "3")):
                    info = tarfile.TarInfo(key + ext)
                    data = text.encode()
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
                names[f"{shard}#{member}"] = f.name
    return names


def _named_sets(out: str, names: dict[str, str]) -> list[list[str]]:
    blocks = [b.split("\n") for b in out.strip("\n").split("\n\n") if b.strip()]
    return sorted(sorted(names[p] for p in b) for b in blocks)


def test_webdataset_tars_give_the_sets_of_the_loose_files(dupe_tree, tmp_path):
    root, _ = dupe_tree
    names = _webdataset(root, tmp_path / "wds")
    before = sorted(p.name for p in (tmp_path / "wds").iterdir())
    r = run_inproc("--no-cache", "--shards", str(tmp_path / "wds"), "phash", "4")
    assert r.code == 0 and r.err == "", r.err
    assert _named_sets(r.out, names) == _loose_sets(root)
    # read in place: nothing was extracted next to the shards
    assert sorted(p.name for p in (tmp_path / "wds").iterdir()) == before


def test_parquet_image_columns_give_the_sets_of_the_loose_files(dupe_tree, tmp_path):
    root, _ = dupe_tree
    files = sorted(root.iterdir())
    # a plain binary column with a key column, as written by img2dataset-like tools
    plain = tmp_path / "plain.parquet"
    table = pa.table(
        {
            "key": [f"k{n}" for n in range(len(files))],
            "caption": ["a picture"] * len(files),
            "jpg": pa.array([f.read_bytes() for f in files], type=pa.binary()),
        }
    )
    pq.write_table(table, plain, row_group_size=4)
    r = run_inproc("--no-cache", "--shards", str(plain), "phash", "4")
    assert r.code == 0 and r.err == "", r.err
    names = {f"{plain}#k{n}": f.name for n, f in enumerate(files)}
    assert _named_sets(r.out, names) == _loose_sets(root)

    # Hugging Face datasets' Image feature: struct<bytes, path>, no key column: rows
    hf = tmp_path / "hf.parquet"
    images = [{"bytes": f.read_bytes(), "path": f.name} for f in files]
    pq.write_table(pa.table({"label": list(range(len(files))), "image": images}), hf)
    r = run_inproc("--no-cache", "--shards", str(hf), "phash", "4")
    assert r.code == 0 and r.err == "", r.err
    assert _named_sets(r.out, {f"{hf}#{n}": f.name for n, f in enumerate(files)}) == _loose_sets(
        root
    )

    # columns named explicitly
    r = run_inproc("--no-cache", "--shards", "--image-column", "jpg", "--key-column", "caption",
                   str(plain), "phash", "4")  # fmt: skip
    assert r.code == 0
    assert all(p == f"{plain}#a picture" for s in r.sets for p in s)
    r = run_inproc("--no-cache", "--shards", "--image-column", "nope", str(plain), "phash", "4")
    assert r.err.count("\n") == 1 and "no column 'nope'" in r.err and str(plain) in r.err


def test_items_join_sets_with_loose_files(dupe_tree, tmp_path):
    root, families = dupe_tree
    originals = tmp_path / "originals"
    originals.mkdir()
    for fam in families:
        src = Path(fam[0])
        (originals / src.name).write_bytes(src.read_bytes())
    names = _webdataset(root, tmp_path / "wds", shards=1)
    r = run_inproc("--no-cache", "--shards", str(originals), str(tmp_path / "wds"), "phash", "4")
    assert r.code == 0, r.err
    assert len(r.sets) == 3
    for s in r.sets:
        loose = [p for p in s if "#" not in p]
        assert len(loose) == 1 and len(s) == 5
        assert {names[p] for p in s if "#" in p} >= {Path(loose[0]).name}


def test_reports_name_items_and_show_their_thumbnails(dupe_tree, tmp_path):
    root, _ = dupe_tree
    names = _webdataset(root, tmp_path / "wds")
    wds = str(tmp_path / "wds")
    html, csv_path, hashes = tmp_path / "r.html", tmp_path / "r.csv", tmp_path / "h.csv"
    r = run_inproc("--no-cache", "--shards", "--json", "--html", str(html), "--csv",
                   str(csv_path), "--export-hashes", str(hashes), wds, "phash", "4")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    files = [f for s in doc["sets"] for f in s["files"]]
    assert len(files) == 12
    for f in files:
        assert f["path"] == f"{f['shard']}#{f['key']}" and f["path"] in names
        assert f["width"] > 0 and f["size"] > 0
    rows = list(csv.reader(csv_path.open()))
    assert {row[rows[0].index("path")] for row in rows[1:]} == {f["path"] for f in files}
    exported = [line.split(",")[0] for line in hashes.read_text().splitlines()[1:]]
    assert sorted(exported) == sorted(names)  # every item, in a set or not
    page = html.read_text()
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page).group(1))
    shown = [f for s in data["sets"] for f in s]
    assert len(shown) == 12 and all(f["t"] for f in shown)  # every item has its thumbnail


def test_delete_refuses_items_with_one_line(dupe_tree, tmp_path):
    root, _ = dupe_tree
    _webdataset(root, tmp_path / "wds")
    before = sorted((tmp_path / "wds").iterdir())
    r = run_inproc("--shards", "-dN", str(tmp_path / "wds"), "phash", "4")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "-d cannot delete images inside dataset shards" in r.err
    assert sorted((tmp_path / "wds").iterdir()) == before


def test_a_shard_without_the_option_says_how_to_read_it(dupe_tree, tmp_path):
    root, _ = dupe_tree
    _webdataset(root, tmp_path / "wds", shards=1)
    shard = str(tmp_path / "wds" / "train-000000.tar")
    r = run_inproc("--no-cache", shard, "phash", "4")
    assert f"{shard}: a tar archive; add --shards to read the images inside" in r.err
    r = run_inproc("--no-cache", "--image-column", "x", shard, "phash", "4")
    assert r.code == 2 and "only work together with --shards" in r.err


def test_a_broken_item_and_a_truncated_shard_are_reported_by_name(dupe_tree, tmp_path):
    root, _ = dupe_tree
    out = tmp_path / "wds"
    names = _webdataset(root, out, shards=1)
    shard = out / "train-000000.tar"
    with tarfile.open(shard, "a") as tf:
        info = tarfile.TarInfo("broken.jpg")
        info.size = 40
        tf.addfile(info, io.BytesIO(b"\xff\xd8\xff" + b"\0" * 37))
    cut = out / "cut.tar"
    cut.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    r = run_inproc("--no-cache", "--shards", str(shard), str(cut), "phash", "4")
    assert r.code == 0
    lines = r.err.splitlines()
    assert any(line.startswith(f"imgdupes: {shard}#broken.jpg: ") for line in lines), r.err
    assert any(line.startswith(f"imgdupes: {cut}: tar archive truncated") for line in lines)
    # what the whole shard holds is found in full (the cut one's first half joins in)
    full = [sorted(names[p] for p in s if p.startswith(f"{shard}#")) for s in r.sets]
    assert sorted(full) == _loose_sets(root)
    assert any(p.startswith(f"{cut}#") for s in r.sets for p in s)
