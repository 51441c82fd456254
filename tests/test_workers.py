"""Worker processes start the same way on every platform: hashing and the HTML
report's thumbnails work when the workers are spawned, not forked (Windows, macOS)."""

from __future__ import annotations

import sys

from conftest import run_subprocess

from imgdupes import workers
from imgdupes.samples import make_samples


def test_start_method_is_fork_on_linux_unless_forced(monkeypatch):
    monkeypatch.delenv(workers.START_METHOD_ENV, raising=False)
    assert workers.start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    monkeypatch.setenv(workers.START_METHOD_ENV, "spawn")
    assert workers.start_method() == "spawn"


def test_hashing_and_thumbnails_under_spawn_find_the_same_sets(tmp_path):
    make_samples(str(tmp_path / "s"))  # 18 pictures: enough for both pools to start
    args = ["--no-cache", "--num-proc", "2", "-r", "s", "phash", "10"]
    forked = run_subprocess(*args, cwd=str(tmp_path), env={workers.START_METHOD_ENV: "fork"})
    spawned = run_subprocess(
        "--html", "r.html", *args, cwd=str(tmp_path), env={workers.START_METHOD_ENV: "spawn"}
    )
    assert spawned.code == 0, spawned.err
    assert spawned.err == ""
    assert spawned.out == forked.out
    assert spawned.out.count("\n\n") == 4  # the 4 planted sets
    page = (tmp_path / "r.html").read_text()
    assert page.count('"t":"') >= 16  # every file of the 4 sets got its thumbnail
