"""imgdupes apply REPORT: a --json report (as written or edited) carried out
through the same re-checks as -d."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from imgdupes.samples import make_samples, synthetic_photo


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def reported(imgdupes, tmp_path):
    """The Quick start samples and their --json report."""
    root = tmp_path / "samples"
    make_samples(str(root), originals=3)  # two families of four, one single
    res = imgdupes("--json", "-r", str(root), "phash", "4")
    assert res.code == 0, res.err
    report = tmp_path / "report.json"
    report.write_text(res.out)
    return root, report, json.loads(res.out)


def test_apply_removes_what_the_report_marks_and_nothing_else(imgdupes, reported):
    root, report, doc = reported
    marked = [f["path"] for s in doc["sets"] for f in s["files"] if not f["keep"]]
    assert len(marked) == 6
    res = imgdupes("apply", str(report))
    assert res.code == 0, res.err
    assert all(not os.path.exists(p) for p in marked)
    left = [f["path"] for s in doc["sets"] for f in s["files"] if f["keep"]]
    assert all(os.path.exists(p) for p in left)
    assert "Deleted 6 files" in res.out


def test_edited_marks_are_followed(imgdupes, reported, tmp_path):
    root, report, doc = reported
    files = doc["sets"][0]["files"]
    for f in files:  # keep the half-size PNG instead of the original
        f["keep"] = f["path"].endswith("_small.png")
    report.write_text(json.dumps(doc))
    res = imgdupes("apply", str(report))
    assert res.code == 0, res.err
    assert [os.path.exists(f["path"]) for f in files] == [f["keep"] for f in files]


def test_file_changed_since_the_report_is_left(imgdupes, reported):
    root, report, doc = reported
    victim = next(f for f in doc["sets"][0]["files"] if not f["keep"])
    synthetic_photo(99, (64, 64)).save(victim["path"])  # another picture under that name
    before = Path(victim["path"]).read_bytes()
    res = imgdupes("apply", str(report))
    assert f"[!] {victim['path']} -- changed since scan" in res.out
    assert Path(victim["path"]).read_bytes() == before
    assert res.code == 1


def test_kept_file_changed_since_the_report_saves_its_set(imgdupes, reported):
    root, report, doc = reported
    files = doc["sets"][0]["files"]
    kept = next(f for f in files if f["keep"])
    os.utime(kept["path"], ns=(1, 1))
    res = imgdupes("apply", str(report))
    assert all(os.path.exists(f["path"]) for f in files)
    assert "the file kept for it is gone or changed" in res.out


def test_a_set_that_keeps_nothing_is_left_whole(imgdupes, reported):
    root, report, doc = reported
    for f in doc["sets"][1]["files"]:
        f["keep"] = False
    report.write_text(json.dumps(doc))
    res = imgdupes("apply", str(report))
    assert all(os.path.exists(f["path"]) for f in doc["sets"][1]["files"])
    assert res.out.count("its marks keep no file; left whole") == 1
    assert not any(os.path.exists(f["path"]) for f in doc["sets"][0]["files"] if not f["keep"])


def test_applying_twice_changes_nothing_the_second_time(imgdupes, reported):
    root, report, doc = reported
    assert imgdupes("apply", str(report)).code == 0
    after_first = snapshot(root)
    res = imgdupes("apply", str(report))
    assert snapshot(root) == after_first
    assert "Deleted 0 files" in res.out


def test_apply_dry_run_and_move_to(imgdupes, reported, tmp_path, monkeypatch):
    root, report, doc = reported
    before = snapshot(root)
    res = imgdupes("apply", "--dry-run", str(report))
    assert res.code == 0 and snapshot(root) == before
    assert "Dry run, nothing changed: would have deleted 6 files" in res.out
    monkeypatch.chdir(tmp_path)
    res = imgdupes("apply", "--move-to", "dupes", "--log", str(report))
    assert res.code == 0, res.err
    moved = [p for p in (tmp_path / "dupes").rglob("*") if p.is_file()]
    assert len(moved) == 6
    assert len(list(tmp_path.glob("*_apply_*.jsonl"))) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not a JSON report"),
        ('{"x": 1}', 'no "sets" list'),
        ('{"sets": [{"files": [{"path": "a", "keep": "no"}]}]}', '"keep" must be true or false'),
    ],
)
def test_bad_reports_are_one_line_errors(imgdupes, tmp_path, content, message):
    report = tmp_path / "r.json"
    report.write_text(content)
    res = imgdupes("apply", str(report))
    assert res.code == 2 and message in res.err and res.err.count("\n") == 1


def test_apply_usage_errors(imgdupes, tmp_path):
    res = imgdupes("apply", "--trash", "--move-to", "x", "r.json")
    assert res.code == 2 and "cannot be used together" in res.err
    res = imgdupes("apply")
    assert res.code == 2


def test_apply_waits_for_another_run_acting_on_the_folder(reported):
    import io

    from imgdupes.actlock import FolderLocks
    from imgdupes.apply import run_apply
    from imgdupes.config import Config
    from imgdupes.errors import ActError

    root, report, doc = reported
    before = snapshot(root)
    config = Config(delete=True, lock_wait=0.3)
    said: list[str] = []
    with FolderLocks() as other:  # another acting run holds the folders
        other.acquire([str(root), str(root / "copies")], 1, lambda m: None)
        with pytest.raises(ActError, match="another imgdupes run is still acting"):
            run_apply(config, str(report), io.StringIO(), said.append)
    assert snapshot(root) == before
    assert any("waiting for another imgdupes run" in m for m in said)
    assert run_apply(config, str(report), io.StringIO(), said.append) == 0  # free again
