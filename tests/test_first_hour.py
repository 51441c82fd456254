"""The first hour of a new user: the hints, errors and small surprises they meet first.

Each test runs the command the way a newcomer would and checks what they see.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from imgdupes import cli
from imgdupes.progress import Progress
from imgdupes.report.formatting import human_size
from imgdupes.samples import synthetic_photo

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")
PACKAGE = ROOT / "src" / "imgdupes"
SIZE = (320, 240)


def _family(folder: Path, name: str, seed: int) -> list[Path]:
    """An original and a recompressed copy, the original the larger file."""
    folder.mkdir(parents=True, exist_ok=True)
    img = synthetic_photo(seed, SIZE)
    orig, copy = folder / f"{name}.jpg", folder / f"{name}_q50.jpg"
    img.save(orig, quality=95)
    img.save(copy, quality=50)
    return [orig, copy]


# --- install hints ------------------------------------------------------------------------


def _extra_packages() -> set[str]:
    """Package names in pyproject's optional dependencies (no tomllib on 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]")[1].split("\n[")[0]
    return {name.lower() for name in re.findall(r'"([A-Za-z0-9_.-]+)\s*[<>=!~]', section)}


def test_install_hints_name_a_library_that_pip_installs_not_old_imgdupes():
    """``pip install 'imgdupes[x]'`` installs imgdupes 0.1.3 from PyPI; every hint
    in the package's messages must name one of our extras' own packages."""
    packages = _extra_packages()
    hints = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"pip install ['\"]?imgdupes\[", text), path
        hints += [(path.name, m) for m in re.findall(r"pip install ([^\s'\")]+)", text)]
    assert len(hints) >= 6  # trash, parquet (2), heif, raw, numba, the engines
    for where, name in hints:
        if name.startswith("{"):  # the engines' line, checked below
            continue
        assert name.lower() in packages or name.startswith("'.["), (where, name)
    from imgdupes.search.libs import _LIBRARIES

    assert {pkg for _, _, pkg in _LIBRARIES.values()} <= packages


def test_missing_engine_says_which_library_to_install(imgdupes, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "faiss", None)
    res = imgdupes("--faiss-flat", str(tmp_path), "phash", "10")
    assert res.code == 2
    assert res.err == "imgdupes: faiss is not installed: pip install faiss-cpu\n"


# --- --null ---------------------------------------------------------------------------------


@pytest.fixture
def odd_names(tmp_path):
    """Two copies of one picture whose names hold a newline and a space."""
    root = tmp_path / "photos"
    root.mkdir()
    img = synthetic_photo(31, SIZE)
    names = [root / "new\nline.jpg", root / "with space.jpg"]
    img.save(names[0], quality=95)
    img.save(names[1], quality=60)
    return root, names


def test_find_print0_list_with_and_without_null(imgdupes_proc, odd_names, tmp_path):
    root, names = odd_names
    if shutil.which("find"):  # the user's own pipeline: find photos -print0 | imgdupes ...
        listing = subprocess.run(["find", str(root), "-print0"], capture_output=True).stdout
    else:
        listing = b"".join(os.fsencode(p) + b"\0" for p in [root, *names])
    assert listing.count(b"\0") == 3  # the folder itself and the two pictures
    for flags in (["--null"], []):  # without --null the NUL bytes are noticed
        res = imgdupes_proc(*flags, "-T", "-", "--json", "phash", "10", stdin=listing)
        assert res.code == 0, res.err
        assert res.err == ""  # no traceback, no line for the folder find listed
        [found] = json.loads(res.out)["sets"]
        assert sorted(f["path"] for f in found["files"]) == sorted(map(str, names))
    # from a file too
    lst = tmp_path / "list0"
    lst.write_bytes(listing)
    res = imgdupes_proc("--null", "-T", str(lst), "phash", "10")
    assert res.code == 0 and str(names[1]) in res.out


def test_null_without_files_from_is_a_usage_error(imgdupes, tmp_path):
    res = imgdupes("--null", str(tmp_path), "phash", "10")
    assert res.code == 2
    assert res.err.startswith("imgdupes: --null only works together with -T/--files-from\n")


# --- -c: pictures only where a person can see them ------------------------------------------


def test_imgcat_to_a_file_draws_nothing_and_says_so(imgdupes, tmp_path):
    root = tmp_path / "photos"
    a, b = _family(root, "a", 41)
    res = imgdupes("-c", str(root), "phash", "10")  # stdout is a StringIO: not a terminal
    assert res.code == 0, res.err
    assert "\x1b" not in res.out
    assert res.sets == [sorted([str(a), str(b)], key=lambda p: -os.path.getsize(p))]
    assert res.err == "imgdupes: -c: stdout is not a terminal, so no pictures are drawn\n"


def test_imgcat_on_a_terminal_still_draws(imgdupes_tty, tmp_path):
    root = tmp_path / "photos"
    _family(root, "a", 41)
    res = imgdupes_tty("-c", "--size", "32x32", str(root), "phash", "10")
    assert res.code == 0 and res.err == ""
    assert res.out.count("\x1b]1337;File=") == 1


def _tmux(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TMUX_TMPDIR=str(tmp_path))
    env.pop("TMUX", None)
    return subprocess.run(
        ["tmux", "-L", "firsthour", "-f", os.devnull, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_imgcat_inside_tmux_without_passthrough_says_how_to_turn_it_on(tmp_path):
    root = tmp_path / "photos"
    _family(root, "a", 41)
    version = _tmux(tmp_path, "-V").stdout
    m = re.search(r"(\d+)\.(\d+)", version)
    if not m or (int(m.group(1)), int(m.group(2))) < (3, 3):
        pytest.skip(f"tmux {version.strip()} has no allow-passthrough (it always passes)")
    cmd = (
        f"PYTHONPATH={SRC} XDG_CACHE_HOME={tmp_path / 'cache'} "
        f"{sys.executable} -m imgdupes -c --size 32x32 {root} phash 10 2>{tmp_path}/err; "
        f"echo $? >{tmp_path}/rc.tmp; mv {tmp_path}/rc.tmp {tmp_path}/rc"
    )

    def run_in_pane(passthrough: bool) -> tuple[str, str]:
        (tmp_path / "rc").unlink(missing_ok=True)
        (tmp_path / "pane").unlink(missing_ok=True)
        res = _tmux(tmp_path, "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "cat")
        assert res.returncode == 0, res.stderr
        if passthrough:
            _tmux(tmp_path, "set", "-g", "allow-passthrough", "on")
        _tmux(tmp_path, "pipe-pane", "-t", "t", "-o", f"cat >>{tmp_path}/pane")
        _tmux(tmp_path, "respawn-pane", "-k", "-t", "t", cmd)
        deadline = time.monotonic() + 120
        while not (tmp_path / "rc").exists():
            assert time.monotonic() < deadline, "the command in tmux did not finish"
            time.sleep(0.2)
        assert (tmp_path / "rc").read_text().strip() == "0"
        return (tmp_path / "err").read_text(), (tmp_path / "pane").read_text("utf-8", "replace")

    try:
        # tmux's default: passthrough off -> one line saying how to turn it on
        err, pane = run_in_pane(passthrough=False)
        assert err == (
            "imgdupes: -c: tmux does not pass pictures through; "
            "turn that on with: tmux set -g allow-passthrough on\n"
        )
        assert "1337;File" not in pane and "a_q50.jpg" in pane  # the listing still shows
        _tmux(tmp_path, "kill-session", "-t", "t")
        err, pane = run_in_pane(passthrough=True)
        assert err == ""
        assert "\x1bPtmux;" in pane or "1337;File" in pane  # the picture went out
    finally:
        _tmux(tmp_path, "kill-server")


# --- -r -------------------------------------------------------------------------------------


def test_without_r_a_line_suggests_it_when_subfolders_hold_the_images(imgdupes, tmp_path):
    only_below = tmp_path / "only_below"
    _family(only_below / "2024", "a", 51)
    res = imgdupes(str(only_below), "phash", "10")
    assert res.code == 0 and res.out == ""
    assert res.err == (
        f"imgdupes: no images found; subfolders of {only_below} hold some: add -r to search them\n"
    )

    # images on top too, but the copies sit below: today's silence was the surprise
    mixed = tmp_path / "mixed"
    _family(mixed / "2024", "a", 51)
    synthetic_photo(52, SIZE).save(mixed / "lone.jpg")
    res = imgdupes(str(mixed), "phash", "10")
    assert res.code == 0 and res.out == ""
    assert res.err == (
        f"imgdupes: nothing found in the top folder of {mixed}; "
        "its subfolders hold images too: add -r to search them\n"
    )
    # -r finds them and says nothing more
    res = imgdupes("-r", str(mixed), "phash", "10")
    assert len(res.sets) == 1 and res.err == ""


def test_no_r_hint_where_it_would_not_help(imgdupes, tmp_path):
    flat = tmp_path / "flat"
    _family(flat, "a", 53)
    (flat / "empty_sub").mkdir()
    res = imgdupes(str(flat), "phash", "10")  # sets found: no hint
    assert len(res.sets) == 1 and res.err == ""
    lone = tmp_path / "lone"
    lone.mkdir()
    synthetic_photo(54, SIZE).save(lone / "x.jpg")
    (lone / "notes").mkdir()
    (lone / "notes" / "a.txt").write_text("no picture here")
    res = imgdupes(str(lone), "phash", "10")  # nothing below to find
    assert res.out == "" and res.err == ""


# --- usage errors and --help ----------------------------------------------------------------


def test_method_and_distance_first_is_explained_with_the_right_order(imgdupes, tmp_path):
    res = imgdupes("phash", "10", "photos")
    assert res.code == 2
    assert res.err.splitlines() == [
        "imgdupes: hash_method and hamming_distance come last, after the folders",
        f"usage: {cli.USAGE}",
        "example: imgdupes photos phash 10   (imgdupes --help for more)",
    ]
    res = imgdupes("-r", "dhash", "6", "my photos", "more")
    assert res.err.splitlines()[2].startswith("example: imgdupes 'my photos' more dhash 6 ")
    res = imgdupes("photos", "10", "phash")
    assert res.err.splitlines()[0] == "imgdupes: hash_method comes before hamming_distance"
    assert res.err.splitlines()[2].startswith("example: imgdupes photos phash 10 ")
    res = imgdupes("photos", "phash")
    assert res.err.splitlines()[0].startswith("imgdupes: hamming_distance is missing")
    assert res.err.splitlines()[2].startswith("example: imgdupes photos phash 10 ")


def test_other_usage_errors_show_usage_and_an_example(imgdupes, tmp_path):
    for argv in (["--bogus", str(tmp_path), "phash", "10"], [str(tmp_path)], []):
        res = imgdupes(*argv)
        assert res.code == 2, argv
        lines = res.err.splitlines()
        assert len(lines) == 3 and lines[0].startswith("imgdupes: "), res.err
        assert lines[1] == f"usage: {cli.USAGE}"
        assert lines[2].startswith("example: imgdupes -r photos phash 10")
        assert "Traceback" not in res.err and res.out == ""


def test_help_opens_with_examples_and_the_suggested_threshold(imgdupes_proc, tmp_path):
    res = imgdupes_proc("--help", cwd=str(tmp_path))
    assert res.code == 0
    head = res.out.split("positional arguments:")[0]
    assert "examples:" in head and "imgdupes -r photos phash 10" in head
    assert "Start with phash 10" in head and "--dry-run" in head
    # the engines' tuning sits in one group, after everything a newcomer needs
    tuning = res.out.index("search engine and its tuning")
    group = res.out[tuning:].split("\n\n")[0]
    for opt in ("--ngt-k", "--hnsw-ef", "--faiss-flat-k", "--cuda-device"):
        assert opt in group, opt
    for opt in ("--delete", "--dry-run", "--move-to", "--imgcat", "--html", "--reference"):
        assert res.out.index(opt) < tuning, opt


# --- progress and Ctrl-C --------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_appears_at_once_with_rate_and_time_left_then_clears():
    clock, out = _Clock(), io.StringIO()
    bar = Progress(2000, stream=out, clock=clock)
    assert out.getvalue() == "\rProgress [0/2000] 0%"  # before any file is done
    bar.skip(400)  # found in the cache: costs no time, says nothing about the rate
    clock.now += 0.01
    bar.advance()  # the first file hashed shows at once, not a tenth of a second later
    assert out.getvalue().split("\r")[-1] == "Progress [401/2000] 20%"
    clock.now += 0.01
    bar.advance()  # the next ones at most ten times a second
    assert out.getvalue().split("\r")[-1] == "Progress [401/2000] 20%"
    clock.now += 1.98
    bar.advance(98)
    assert out.getvalue().split("\r")[-1] == "Progress [500/2000] 25%  50.0/s  0:30 left"
    clock.now += 10.0
    bar.advance(1500)
    last = out.getvalue().split("\r")[-1]
    assert last.startswith("Progress [2000/2000] 100%") and "left" not in last
    bar.close()
    *_, drawn, cleared, end = out.getvalue().split("\r")
    assert cleared == " " * len(drawn.rstrip()) and end == ""


def test_ctrl_c_while_hashing_stops_quietly_with_status_130(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    # One picture slow to decode keeps one worker busy; the seven others get a
    # tiny picture each and then sit idle, waiting for work: where a worker
    # used to print its own traceback on Ctrl-C.
    Image.new("RGB", (13000, 13000), (120, 80, 40)).save(root / "big.png", compress_level=1)
    for i in range(7):
        Image.new("RGB", (64, 64), (30 * i, 0, 0)).save(root / f"s{i}.png")
    env = dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imgdupes",
            "--progress",
            "--num-proc",
            "8",
            str(root),
            "phash",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's job
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    while not re.search(rb"Progress \[[1-7]/8\]", seen):  # the workers are running
        assert time.monotonic() < deadline and proc.poll() is None, seen
        seen += os.read(proc.stderr.fileno(), 4096)
    assert seen.startswith(b"\rProgress [0/8] 0%")  # drawn before any file was done
    time.sleep(0.2)  # the small ones are done, the big one is still decoding
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole group
    out, rest = proc.communicate(timeout=120)
    err = (seen + rest).decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "ForkPoolWorker" not in err, err
    # the progress line was blanked out before the last words
    assert re.search(r"\r +\r\n?imgdupes: interrupted\n$", err), repr(err[-200:])


# --- units, warnings once, dry run, --move-to ---------------------------------------------


def test_prompt_summary_and_report_show_one_size_in_one_unit(imgdupes, tmp_path):
    root = tmp_path / "photos"
    orig, copy = _family(root, "a", 61)
    size = copy.stat().st_size
    assert size >= 1024 and human_size(size) == f"{size / 1000:.1f} kB"
    review = imgdupes("-d", "--html", str(tmp_path / "r.html"), str(root), "phash", "10",
                      stdin="all\n")  # fmt: skip
    line = next(x for x in review.out.splitlines() if x.endswith("a_q50.jpg"))
    assert f" {size / 1000:.1f} kB " in line and "kbyte" not in review.out
    report = (tmp_path / "r.html").read_text()
    assert f"would free {size / 1000:.1f} kB ({size} bytes)" in report
    assert f'"s":{size},"z":"{size / 1000:.1f} kB"' in report  # each file's caption
    summary = imgdupes("-m", str(root), "phash", "10")
    assert summary.out.splitlines()[-1] == (
        f"1 duplicate files (in 1 sets), occupying {size / 1000:.1f} kilobytes"
    )


def test_subdirectory_warning_once_per_run(imgdupes, tmp_path):
    root = tmp_path / "photos"
    for n in range(3):
        a, b = _family(root / f"day{n}", f"p{n}", 70 + n)
        b.rename(root / b.name)  # each copy outside its original's folder
    res = imgdupes("-dr", str(root), "phash", "10", stdin="all\n" * 3)
    assert res.code == 0, res.err
    assert res.out.count("preserve files") == 3
    assert res.err == (  # the seed's words, once, before the first set
        "WARNING! Found similar images in different subdirectories: "
        "3 of 3 sets span several folders (--no-subdir-warning hides this)\n"
    )


def test_dry_run_says_so_before_anything_else(imgdupes, tmp_path):
    root = tmp_path / "photos"
    _family(root, "a", 81)
    res = imgdupes("-dN", "--dry-run", str(root), "phash", "10")
    assert res.code == 0, res.err
    first = res.out.splitlines()[0]
    assert first.startswith("Dry run: nothing will be changed")
    assert all(p.exists() for p in root.iterdir())


def test_missing_move_to_folder_is_created_saying_so(imgdupes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    orig, copy = _family(Path("photos"), "a", 91)
    dry = imgdupes("-dN", "--dry-run", "--move-to", "dupes", "photos", "phash", "10")
    assert dry.code == 0, dry.err
    assert dry.err == "imgdupes: --move-to dupes does not exist; a real run would create it\n"
    assert not os.path.exists("dupes")
    res = imgdupes("-dN", "--move-to", "dupes", "photos", "phash", "10")
    assert res.code == 0, res.err
    assert res.err == "imgdupes: --move-to dupes did not exist: created it\n"
    assert Path("dupes", copy).exists() and orig.exists() and not copy.exists()


def test_move_to_under_a_missing_folder_is_refused_before_the_scan(imgdupes, tmp_path):
    root = tmp_path / "photos"
    orig, copy = _family(root, "a", 92)
    typo = tmp_path / "dupse" / "2024"
    res = imgdupes("-dN", "--move-to", str(typo), str(root), "phash", "10")
    assert res.code == 2 and res.out == ""
    assert res.err == (
        f"imgdupes: --move-to {typo}: no such folder, nor its parent {typo.parent}\n"
    )
    assert not typo.parent.exists() and orig.exists() and copy.exists()


def test_quick_start_lists_the_four_planted_sets(tmp_path):
    """The README's first command after the install, verbatim, in a fresh folder."""
    env = dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(tmp_path / "cache"))
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    made = subprocess.run([sys.executable, "-m", "imgdupes.samples", "samples"], **run)
    assert made.returncode == 0, made.stderr
    res = subprocess.run([sys.executable, "-m", "imgdupes", "-r", "samples", "phash", "10"], **run)
    assert res.returncode == 0 and res.stderr == ""
    sets = [b.split("\n") for b in res.stdout.strip().split("\n\n")]
    assert len(sets) == 4 and sum(map(len, sets)) == 16
