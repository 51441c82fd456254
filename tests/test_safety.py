"""Acting safely: two runs at once, files changed behind the run's back,
outputs that would land on inputs, folders reached twice, FIFOs, bounded
decoding, and every bad input as one line.

Each test tries to make the tool lose a picture or hang and then checks what
is left on disk.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from imgdupes.act import run_delete
from imgdupes.config import Config
from imgdupes.pipeline import find
from imgdupes.samples import resized, synthetic_photo

SRC = str(Path(__file__).resolve().parent.parent / "src")
SIZE = (96, 72)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_CACHE_HOME"] = str(tmp_path / ".xdg-cache")
    return env


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "imgdupes", *argv]


def make_pairs(folder: Path, count: int, seed: int = 0) -> list[tuple[Path, Path]]:
    """``count`` distinct small pictures, each with one resized copy."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(count):
        img = synthetic_photo(seed + i, SIZE)
        a = folder / f"p{i:03d}_a.png"
        b = folder / f"p{i:03d}_b.jpg"
        img.save(a)
        resized(img, 0.75).save(b, quality=90)
        pairs.append((a, b))
    return pairs


def lost_pictures(pairs: list[tuple[Path, Path]]) -> int:
    return sum(1 for a, b in pairs if not a.exists() and not b.exists())


# --- 1/2: two acting runs at once ---------------------------------------------------------------


def race(folder: Path, tmp_path: Path) -> list[subprocess.CompletedProcess]:
    """Two ``-dN`` runs started together, keeping opposite ends of every set."""
    env = _env(tmp_path)
    cmds = [
        _command("-dN", "-q", "--log", "--sort", "filepath", str(folder), "phash", "4"),
        _command(
            "-dN", "-q", "--log", "--sort", "filepath", "--reverse", str(folder), "phash", "4"
        ),
    ]
    # Output to files, not pipes: a run blocked on a full pipe while it holds the
    # lock would stall the other one (a deadlock of the test, not of the tool).
    logs = [(tmp_path / f"race{i}.out", tmp_path / f"race{i}.err") for i in range(2)]
    procs = []
    for c, (o, e) in zip(cmds, logs, strict=True):
        with open(o, "wb") as fo, open(e, "wb") as fe:
            procs.append(
                subprocess.Popen(c, env=env, stdout=fo, stderr=fe, cwd=folder.parent)
            )
    done = []
    for p, c, (o, e) in zip(procs, cmds, logs, strict=True):
        p.wait(timeout=600)
        done.append(subprocess.CompletedProcess(c, p.returncode, o.read_bytes(), e.read_bytes()))
    return done


def test_two_noprompt_runs_at_once_never_lose_a_picture(tmp_path):
    pristine = tmp_path / "pristine"
    pairs = make_pairs(pristine, 300)
    for round_ in range(3):
        folder = tmp_path / f"round{round_}"
        shutil.copytree(pristine, folder)  # new inodes: nothing comes from the hash store
        mine = [(folder / a.name, folder / b.name) for a, b in pairs]
        runs = race(folder, tmp_path)
        for r in runs:
            assert r.returncode == 0, r.stderr.decode()
            assert b"Traceback" not in r.stderr
        assert lost_pictures(mine) == 0
        # and the duplicates still went: one copy of each picture is left
        assert sum(a.exists() + b.exists() for a, b in mine) == len(mine)
        # two runs in the same second each keep their own log
        assert len(list(tmp_path.glob(f"*_dup_std_*round{round_}_phash_64_4.log"))) == 2


def test_second_acting_run_waits_with_one_line_then_refuses(tmp_path):
    from imgdupes.actlock import FolderLocks
    from imgdupes.config import ConfigError

    folder = tmp_path / "t"
    folder.mkdir()
    alias = tmp_path / "alias"
    os.symlink(folder, alias)
    said: list[str] = []
    with FolderLocks() as first:
        first.acquire([str(folder)], 1, said.append)
        second = FolderLocks()
        # the same folder by another path is the same lock
        with pytest.raises(ConfigError, match="another imgdupes run is still acting"):
            second.acquire([f"{alias}/./"], 0.3, said.append)
        assert len(said) == 1 and "waiting for another imgdupes run" in said[0]
    # released: a later run gets it at once
    with FolderLocks() as third:
        third.acquire([str(folder)], 0.3, said.append)
    assert len(said) == 1


def test_bind_mount_of_a_folder_is_the_same_lock(tmp_path):
    from imgdupes.actlock import FolderLocks
    from imgdupes.config import ConfigError

    folder = tmp_path / "t"
    folder.mkdir()
    mnt = tmp_path / "bind"
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", str(folder), str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        with FolderLocks() as first:
            first.acquire([str(folder)], 1, lambda m: None)
            with pytest.raises(ConfigError):
                FolderLocks().acquire([str(mnt)], 0.2, lambda m: None)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
