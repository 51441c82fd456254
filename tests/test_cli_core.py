"""The command as a user runs it: options, output formats, exit codes, the API."""

from __future__ import annotations

import json
import os
import random
import re
import shutil

import pytest
from PIL import Image

import imgdupes
from imgdupes import __version__, cli
from imgdupes.samples import brightened, resized

SEED_OPTIONS = [
    "--recursive",
    "--delete",
    "--imgcat",
    "--summarize",
    "--noprompt",
    "--query",
    "--hash-bits",
    "--sort",
    "--reverse",
    "--num-proc",
    "--log",
    "--no-cache",
    "--no-subdir-warning",
    "--sameline",
    "--dry-run",
    "--faiss-flat",
    "--faiss-flat-k",
    "--size",
    "--space",
    "--space-color",
    "--tile-num",
    "--interpolation",
    "--no-keep-aspect",
    "--ngt",
    "--ngt-k",
    "--ngt-epsilon",
    "--ngt-edges",
    "--ngt-edges-for-search",
    "--hnsw",
    "--hnsw-k",
    "--hnsw-ef-construction",
    "--hnsw-m",
    "--hnsw-ef",
    "--files-from",
    "--faiss-cuda",
    "--cuda-device",
]


def test_version_and_help_list_every_seed_option(imgdupes_proc, tmp_path):
    v = imgdupes_proc("--version", cwd=str(tmp_path))
    assert v.code == 0 and __version__ in v.out
    h = imgdupes_proc("--help", cwd=str(tmp_path))
    assert h.code == 0
    for opt in SEED_OPTIONS:
        assert opt in h.out, opt
    for short in ("-r,", "-d,", "-c,", "-m,", "-N,", "-T "):
        assert short in h.out
    assert "(default: 64)" in h.out and "(default: 20)" in h.out and "(default: 0.1)" in h.out


def test_usage_errors_are_one_line_and_exit_2(imgdupes, tmp_path):
    cases = [
        (str(tmp_path / "missing"), "phash", "4"),
        (str(tmp_path), "md5", "4"),
        (str(tmp_path), "phash", "four"),
        (str(tmp_path), "phash", "65"),
        (str(tmp_path), "phash", "-1"),
        ("-d", "-m", str(tmp_path), "phash", "4"),
        ("phash", "4"),
        ("--sort", "colour", str(tmp_path), "phash", "4"),
        ("--ngt", "--hnsw", str(tmp_path), "phash", "4"),
        ("--bogus", str(tmp_path), "phash", "4"),
        (str(tmp_path), "whash", "4", "--hash-bits", "144"),
    ]
    usage = [f"usage: {cli.USAGE}", f"example: {cli.EXAMPLE}   (imgdupes --help for more)"]
    for argv in cases:
        res = imgdupes(*argv)
        assert res.code == 2, (argv, res)
        # one line saying what is wrong; a command line of the wrong shape
        # also gets the usage line and an example
        first, *rest = res.err.strip().splitlines()
        assert first.startswith("imgdupes: ") and rest in ([], usage), (argv, res.err)
        assert "Traceback" not in res.err
        assert res.out == ""


def test_non_square_hash_bits_warns_and_rounds_down(imgdupes, dupe_tree):
    root, _ = dupe_tree
    res = imgdupes("--json", "--hash-bits", "100", str(root), "phash", "4")
    assert res.code == 0 and res.err == ""  # 10x10 is a square: no warning
    res = imgdupes("--json", "--hash-bits", "120", str(root), "phash", "4")
    assert "Use 100 as hash_bits" in res.err
    res = imgdupes("--json", "--hash-bits", "150", str(root), "phash", "4")
    assert "Use 144 as hash_bits" in res.err
    doc = json.loads(res.out)
    assert doc["hash_bits"] == 144
    assert all(len(f["hash"]) == 36 for s in doc["sets"] for f in s["files"])


@pytest.mark.parametrize("method", ["ahash", "phash", "dhash", "whash", "phash_org"])
def test_every_method_finds_the_resized_and_recompressed_copies(imgdupes, tmp_path, photo, method):
    img = photo(40)
    img.save(tmp_path / "orig.jpg", quality=95)
    resized(img, 0.5).save(tmp_path / "half.png")
    img.save(tmp_path / "q60.jpg", quality=60)
    photo(41).save(tmp_path / "other.jpg", quality=95)
    res = imgdupes(str(tmp_path), method, "6")
    assert len(res.sets) == 1, (method, res.out)
    names = sorted(os.path.basename(p) for p in res.sets[0])
    assert names == ["half.png", "orig.jpg", "q60.jpg"], method


def test_hash_bits_256_works(imgdupes, dupe_tree):
    root, families = dupe_tree
    res = imgdupes("--hash-bits", "256", str(root), "phash", "20")
    assert sorted(sorted(s) for s in res.sets) == sorted(families)


def test_identical_blank_images_form_one_set(imgdupes, tmp_path):
    blank = Image.new("RGB", (64, 48), (255, 255, 255))
    for n in range(300):
        blank.save(tmp_path / f"blank{n:03d}.png")
    res = imgdupes("--json", str(tmp_path), "phash", "0")
    doc = json.loads(res.out)
    assert len(doc["sets"]) == 1 and len(doc["sets"][0]["files"]) == 300


def test_same_sets_whatever_the_input_order(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    paths = sorted(str(p) for p in root.iterdir())
    outputs = set()
    for seed in range(4):
        random.Random(seed).shuffle(paths)
        listing = tmp_path / f"list{seed}.txt"
        listing.write_text("\n".join(paths) + "\n")
        for num_proc in ("1", "2"):
            res = imgdupes("-T", str(listing), "--num-proc", num_proc, "phash", "6")
            outputs.add(res.out)
    assert len(outputs) == 1
    assert sorted(sorted(s) for s in imgdupes(str(root), "phash", "6").sets) == sorted(families)


def test_sameline_escapes_spaces_and_backslashes(imgdupes, tmp_path, photo):
    img = photo(42)
    img.save(tmp_path / "a b.jpg", quality=95)
    img.save(tmp_path / "c\\d.jpg", quality=90)
    res = imgdupes("--sameline", "--sort", "filepath", str(tmp_path), "phash", "4")
    assert res.out == f"{tmp_path}/a\\ b.jpg {tmp_path}/c\\\\d.jpg\n".replace(
        str(tmp_path), str(tmp_path).replace(" ", "\\ ")
    )


def test_summarize_counts_files_beyond_the_first(imgdupes, dupe_tree):
    root, families = dupe_tree
    res = imgdupes("-m", str(root), "phash", "6")
    sets = res.sets[:-1]
    last = res.out.strip().splitlines()[-1]
    sizes = sorted((os.path.getsize(p) for p in families[0]), reverse=True)
    assert len(sets) == 3
    m = re.fullmatch(r"9 duplicate files \(in 3 sets\), occupying ([\d.]+) kilobytes", last)
    assert m, last
    extra = sum(os.path.getsize(p) for s in sets for p in s[1:])
    assert m.group(1) == f"{extra / 1000:.1f}"
    assert sizes  # the family exists


def test_summarize_wording_like_fdupes():
    from imgdupes.model import DupSet, SetEntry
    from imgdupes.report.text import summary_line

    def sets(*sizes):
        return [
            DupSet([SetEntry(f"{i}", s, 1, 1, 0, "0", 0) for i, s in enumerate(group)])
            for group in sizes
        ]

    assert summary_line([]) == "No duplicates found."
    assert summary_line(sets([10, 500])) == "1 duplicate files (in 1 sets), occupying 500 bytes."
    assert summary_line(sets([1, 2048], [1, 1000])) == (
        "2 duplicate files (in 2 sets), occupying 3.0 kilobytes"
    )
    assert summary_line(sets([1, 2_500_000])) == (
        "1 duplicate files (in 1 sets), occupying 2.5 megabytes"
    )


def test_no_duplicates_summary(imgdupes, tmp_path, photo):
    photo(1).save(tmp_path / "a.jpg")
    photo(2).save(tmp_path / "b.jpg")
    res = imgdupes("-m", str(tmp_path), "phash", "2")
    assert res.out == "No duplicates found.\n"


def _entry_order(res):
    return [os.path.basename(p) for p in res.sets[0]]


def test_sort_keys_and_reverse(imgdupes, tmp_path, photo):
    img = photo(43, (800, 600))
    img.save(tmp_path / "b_big.jpg", quality=95)  # largest file, largest pixels
    resized(img, 0.5).save(tmp_path / "a_half.jpg", quality=95)
    resized(img, 0.75).save(tmp_path / "c_wide.jpg", quality=30)  # middle pixels, small file
    os.utime(tmp_path / "a_half.jpg", ns=(3_000_000_000_000_000_000, 3_000_000_000_000_000_000))
    os.utime(tmp_path / "b_big.jpg", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    os.utime(tmp_path / "c_wide.jpg", ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    run = lambda *o: _entry_order(imgdupes(*o, str(tmp_path), "phash", "8"))  # noqa: E731
    sizes = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    by_size = sorted(sizes, key=lambda n: -sizes[n])
    assert run() == by_size  # default: filesize, largest first
    assert run("--sort", "filesize") == by_size
    assert run("--sort", "filesize", "--reverse") == by_size[::-1]
    assert run("--sort", "filepath") == ["a_half.jpg", "b_big.jpg", "c_wide.jpg"]
    assert run("--sort", "imagesize") == ["b_big.jpg", "c_wide.jpg", "a_half.jpg"]
    assert run("--sort", "width") == ["b_big.jpg", "c_wide.jpg", "a_half.jpg"]
    assert run("--sort", "height", "--reverse") == ["a_half.jpg", "c_wide.jpg", "b_big.jpg"]
    assert run("--sort", "mtime") == ["a_half.jpg", "c_wide.jpg", "b_big.jpg"]
    assert run("--sort", "none") == ["a_half.jpg", "b_big.jpg", "c_wide.jpg"]


def test_sort_ties_broken_by_later_keys(imgdupes, tmp_path, photo):
    img = photo(44)
    for name, when in (("x.png", 1), ("y.png", 3), ("z.png", 2)):
        img.save(tmp_path / name)
        os.utime(tmp_path / name, ns=(when * 10**18, when * 10**18))
    # identical files -> filesize ties; mtime decides
    res = imgdupes("--sort", "filesize,mtime", str(tmp_path), "phash", "0")
    assert _entry_order(res) == ["y.png", "z.png", "x.png"]


def test_query_lists_nearest_first_and_may_lie_outside(imgdupes, tmp_path, photo):
    target = tmp_path / "target"
    target.mkdir()
    img = photo(45)
    query = tmp_path / "query.jpg"
    img.save(query, quality=95)
    img.save(target / "same.png")
    brightened(img, 1.3).save(target / "brighter.jpg", quality=70)
    photo(46).save(target / "other.jpg")
    res = imgdupes(str(target), "--query", str(query), "phash", "10")
    assert res.code == 0, res.err
    lines = res.out.split("\n")
    assert lines[0] == f"Query: {query}" and lines[1] == ""
    listed = [ln for ln in lines[2:] if ln]
    assert listed[0] == str(target / "same.png")
    assert str(target / "other.jpg") not in listed
    doc = json.loads(imgdupes("--json", str(target), "--query", str(query), "phash", "10").out)
    dists = [f["distance"] for f in doc["sets"][0]["files"]]
    assert dists == sorted(dists) and doc["query"] == str(query)


def test_query_that_is_not_an_image_is_a_usage_error(imgdupes, tmp_path):
    (tmp_path / "q.jpg").write_text("nope")
    res = imgdupes(str(tmp_path), "--query", str(tmp_path / "q.jpg"), "phash", "4")
    assert res.code == 2 and "q.jpg" in res.err


def test_json_document(imgdupes, dupe_tree):
    root, families = dupe_tree
    (root / "bad.jpg").write_bytes(b"")
    os.symlink(families[0][0], root / "alias.jpg")
    res = imgdupes("--json", str(root), "phash", "6")
    doc = json.loads(res.out)
    assert doc["version"] == 1 and doc["hash_method"] == "phash"
    assert doc["hash_bits"] == 64 and doc["threshold"] == 6
    text = imgdupes(str(root), "phash", "6")
    assert [[f["path"] for f in s["files"]] for s in doc["sets"]] == text.sets
    for s in doc["sets"]:
        first = s["files"][0]
        assert first["distance"] == 0
        for k, f in enumerate(s["files"]):
            assert set(f) == {
                "path", "size", "width", "height", "hash", "distance",
                "dev", "inode", "mtime_ns", "ctime_ns", "aliases", "keep", "reason",
            } | ({"verified"} if k else set())  # fmt: skip
            # which verification rule confirms it against the first file
            assert k == 0 or f["verified"] in ("structure", "tone", "local", "aligned", "linked")
            st = os.stat(f["path"])  # the identity `imgdupes apply` re-checks
            assert (f["dev"], f["inode"], f["mtime_ns"], f["ctime_ns"]) == (
                st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns
            )  # fmt: skip
            assert f["size"] == os.path.getsize(f["path"])
            assert len(f["hash"]) == 16 and f["width"] > 0 and f["height"] > 0
            d = bin(int(f["hash"], 16) ^ int(first["hash"], 16)).count("1")
            # in the nearest form (plain, tone-normalised, a region's): at most the plain one
            assert f["distance"] <= d
    assert doc["errors"] == [{"path": str(root / "bad.jpg"), "error": "empty file"}]
    assert len(doc["aliases"]) == 1 and str(root / "alias.jpg") in doc["aliases"][0]


def test_error_on_dupe_exit_status(imgdupes, dupe_tree, tmp_path, photo):
    root, _ = dupe_tree
    assert imgdupes("--error-on-dupe", str(root), "phash", "4").code == 1
    assert imgdupes(str(root), "phash", "4").code == 0
    lone = tmp_path / "lone"
    lone.mkdir()
    photo(3).save(lone / "x.jpg")
    assert imgdupes("--error-on-dupe", str(lone), "phash", "4").code == 0


def test_log_writes_the_seeds_dup_log(imgdupes, dupe_tree, tmp_path, monkeypatch):
    root, families = dupe_tree
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.chdir(logs)
    res = imgdupes("--log", str(root), "phash", "6")
    files = list(logs.iterdir())
    assert len(files) == 1
    assert re.fullmatch(r"\d{14}_dup_std_.*_phash_64_6\.log", files[0].name), files[0].name
    body = files[0].read_text()
    assert body.split("\n\n") and body.strip() == res.out.strip()


def test_python_api_returns_the_same_sets(dupe_tree):
    from conftest import run_inproc

    root, families = dupe_tree
    api_sets = imgdupes.find_duplicates(root, "phash", 6)
    cli_sets = run_inproc(str(root), "phash", "6").sets
    assert [s.paths for s in api_sets] == cli_sets
    assert all(isinstance(e.distance, int) for s in api_sets for e in s.entries)


def test_module_entry_point_and_console_script(imgdupes_proc, dupe_tree):
    root, families = dupe_tree
    res = imgdupes_proc(str(root), "phash", "6", cwd=str(root.parent))
    assert res.code == 0
    assert sorted(sorted(s) for s in res.sets) == sorted(families)
    if shutil.which("imgdupes") is None:
        pytest.skip("console script not installed in this environment")


def test_broken_pipe_is_quiet(tmp_path, dupe_tree):
    import subprocess
    import sys

    from conftest import SRC

    root, _ = dupe_tree
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.run(
        f"{sys.executable} -m imgdupes {root} phash 6 | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr and proc.stdout.count("\n") == 1


def test_imgdupes_package_exports():
    assert callable(imgdupes.find_duplicates)


def test_action_options_without_delete_are_refused(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    for extra in (
        ["--dry-run"],
        ["--trash"],
        ["--move-to", str(tmp_path / "x")],
        ["--json", "-dN"],
    ):
        res = (
            imgdupes(*extra, str(root), "phash", "4")
            if "-dN" not in extra
            else imgdupes(*extra, str(root), "phash", "4")
        )
        assert res.code == 2 and len(res.err.strip().splitlines()) == 1, (extra, res.err)
    assert all(p.exists() for p in root.iterdir())


def test_imgcat_tiles_come_before_each_prompt(imgdupes_tty, dupe_tree):
    root, families = dupe_tree
    res = imgdupes_tty(
        "-d", "-c", "--imgcat-protocol", "kitty", str(root), "phash", "6", stdin="all\nall\nall\n"
    )
    assert res.code == 0, res.err
    first_tile = res.out.find("\x1b_G")
    first_prompt = res.out.find("Set 1 of 3")
    assert 0 <= first_tile < first_prompt
    assert res.out.count("Set ") >= 3 and res.out.count("\x1b_G") >= 3
    assert all(os.path.exists(p) for fam in families for p in fam)
