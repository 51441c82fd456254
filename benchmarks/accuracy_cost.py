"""What verification and the extra candidates cost, against a cold run's time.

    PYTHONPATH=src python benchmarks/accuracy_cost.py [--split real|tune|distinct]
        [--threshold 10] [--repeat 3] [--num-proc 2] [--count 400]

Builds one split (``real``: benchmarks/real_data.py; ``tune``: accuracy_data's,
both with 11-16 copies of every original, the worst case for verification;
``distinct``: ``--count`` generated 640x480 photos, one in ten with a JPEG
copy, as in most photo folders) in a temporary folder and runs
``imgdupes.find_duplicates`` cold (no hash store) on the same files, the
settings interleaved ``--repeat`` times:

- ``default``: verification, the tone-normalised search and the region
  hashes' extra candidates (what ``imgdupes DIR phash N`` does);
- ``no regions``: the same without the region hashes' search and their
  computation (as before they were added);
- ``no-verify``: the hash alone (``--no-verify``; region hashes still computed).

Prints each setting's median seconds and the default's cost over the other
two.  The issue's target: default within 15% of a cold run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy_data as data  # noqa: E402
import real_data as real  # noqa: E402

import imgdupes  # noqa: E402
from imgdupes import group, hashes, thumbs  # noqa: E402


def _no_regions():
    """Patches that skip the region hashes and their search (forked workers inherit them)."""
    saved = (hashes.region_hashes, group.region_labels, thumbs._inner_boxes, thumbs._regions)

    def empty(methods, grays, hash_size):
        return {}  # the region keys keep their zeros

    def alone(plain, regions, link, signatures, keys, known):
        return np.full(len(plain), -1, dtype=np.int64)

    def no_boxes(gray):  # the fast path's: no region resizes at all
        return np.zeros((len(gray), 4), dtype=np.float32), None

    def blank(small, across_side, side, boxes, inner):
        blank = np.zeros((len(small), side, side), dtype=np.uint8)
        return blank, blank

    hashes.region_hashes = empty
    group.region_labels = alone
    thumbs._inner_boxes = no_boxes
    thumbs._regions = blank
    return saved


def _restore(saved) -> None:
    hashes.region_hashes, group.region_labels, thumbs._inner_boxes, thumbs._regions = saved


def _distinct(folder: str, count: int) -> list[str]:
    from imgdupes.samples import synthetic_photo

    os.makedirs(folder)
    names = []
    for k in range(count):
        img = synthetic_photo(1000 + k, (640, 480))
        names.append(os.path.join(folder, f"p{k:04d}.jpg"))
        img.save(names[-1], quality=90)
        if k % 10 == 0:
            names.append(os.path.join(folder, f"p{k:04d}_q50.jpg"))
            img.save(names[-1], quality=50)
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=("real", "tune", "distinct"), default="real")
    p.add_argument("--threshold", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--count", type=int, default=400, help="photos of the distinct split")
    args = p.parse_args(argv)
    root = tempfile.mkdtemp(prefix="imgdupes-accuracy-cost-")
    try:
        if args.split == "real":
            items = real.build(root, 0, log=lambda *a, **k: None)
            folder = os.path.join(root, real.SPLIT)
        elif args.split == "tune":
            items = data.build(root, "tune")
            folder = os.path.join(root, "tune")
        else:
            folder = os.path.join(root, "distinct")
            items = _distinct(folder, args.count)
        print(f"# cost of verification: {len(items)} files ({args.split}), phash {args.threshold}")
        print(f"(machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start)")
        times: dict[str, list[float]] = {"default": [], "no regions": [], "no-verify": []}
        for _ in range(args.repeat):
            for name in times:
                saved = _no_regions() if name == "no regions" else None
                try:
                    start = time.perf_counter()
                    imgdupes.find_duplicates(
                        folder,
                        "phash",
                        args.threshold,
                        num_proc=args.num_proc,
                        use_cache=False,
                        verify=name != "no-verify",
                    )
                    times[name].append(time.perf_counter() - start)
                finally:
                    if saved is not None:
                        _restore(saved)
        med = {k: statistics.median(v) for k, v in times.items()}
        print("\n| setting | median s | runs |")
        print("|---|---|---|")
        for k, v in times.items():
            print(f"| {k} | {med[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
        print(
            f"\ndefault vs no-verify: {100 * (med['default'] / med['no-verify'] - 1):+.0f}%; "
            f"default vs no regions: {100 * (med['default'] / med['no regions'] - 1):+.0f}%"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
