"""Stress: two ``-dN --log`` runs at once on one folder, keeping opposite ends.

``python3 benchmarks/delete_race.py [ROUNDS] [PAIRS]`` (default 10 rounds of
300 pictures, each with one resized copy) prints per round how many pictures
lost every copy (must be 0), how many copies are left (must equal PAIRS) and
whether the second run had to wait for the first.  ``--src DIR`` runs another
checkout's ``src`` (for example main's, to see the race it had).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src"


def make_pairs(folder: Path, count: int) -> list[tuple[Path, Path]]:
    sys.path.insert(0, str(HERE))
    from imgdupes.samples import resized, synthetic_photo

    folder.mkdir(parents=True)
    pairs = []
    for i in range(count):
        img = synthetic_photo(i, (96, 72))
        a, b = folder / f"p{i:03d}_a.png", folder / f"p{i:03d}_b.jpg"
        img.save(a)
        resized(img, 0.75).save(b, quality=90)
        pairs.append((a, b))
    return pairs


def race(folder: Path, src: str, work: Path) -> tuple[list[int], bool]:
    env = dict(os.environ, PYTHONPATH=src, XDG_CACHE_HOME=str(work / "cache"))
    base = [sys.executable, "-m", "imgdupes", "-dN", "-q", "--log", "--sort", "filepath"]
    cmds = [base + [str(folder), "phash", "4"], base + ["--reverse", str(folder), "phash", "4"]]
    procs, errs = [], []
    for k, c in enumerate(cmds):
        err = work / f"err{k}"
        with open(work / f"out{k}", "wb") as fo, open(err, "wb") as fe:
            procs.append(subprocess.Popen(c, env=env, stdout=fo, stderr=fe, cwd=work))
        errs.append(err)
    codes = [p.wait(timeout=600) for p in procs]
    waited = any(b"waiting for another imgdupes run" in e.read_bytes() for e in errs)
    return codes, waited


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rounds", type=int, nargs="?", default=10)
    ap.add_argument("pairs", type=int, nargs="?", default=300)
    ap.add_argument("--src", default=str(HERE))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pristine = work / "pristine"
        pairs = make_pairs(pristine, args.pairs)
        total_lost = 0
        print("round\tlost\tcopies left\twaited\texit codes\tseconds")
        for r in range(args.rounds):
            folder = work / f"round{r}"
            shutil.copytree(pristine, folder)
            t0 = time.monotonic()
            codes, waited = race(folder, args.src, work)
            lost = sum(
                1
                for a, b in pairs
                if not (folder / a.name).exists() and not (folder / b.name).exists()
            )
            left = sum((folder / a.name).exists() + (folder / b.name).exists() for a, b in pairs)
            total_lost += lost
            print(f"{r}\t{lost}\t{left}\t{waited}\t{codes}\t{time.monotonic() - t0:.1f}")
            shutil.rmtree(folder)
        print(f"pictures lost in {args.rounds} rounds: {total_lost}")


if __name__ == "__main__":
    main()
