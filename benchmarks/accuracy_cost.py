"""What verification and the extra candidates cost, against a cold run's time.

    PYTHONPATH=src python benchmarks/accuracy_cost.py [--split real|tune|distinct]
        [--threshold 10] [--repeat 5] [--num-proc 2] [--count 1200]

Builds one split (``real``: benchmarks/real_data.py; ``tune``: accuracy_data's,
both with 11-16 copies of every original, the worst case for verification;
``distinct``: ``--count`` generated 640x480 photos, one in ten with a JPEG
copy, as in most photo folders) in a temporary folder and runs
``imgdupes.find_duplicates`` cold (no hash store) on the same files, the
settings interleaved ``--repeat`` times:

- ``default``: verification, the tone-normalised search, the region
  hashes' and the low-detail texture hashes' extra candidates (what
  ``imgdupes DIR phash N`` does);
- ``no texture``: the same without the texture hashes (imgdupes.lowdetail);
- ``no regions``: without the region hashes and the texture hashes, their
  search and their computation (as before they were added);
- ``no-verify``: the hash alone (``--no-verify``; the extra hashes still computed);
- ``bare``: the cold run with none of it: ``--no-verify`` and no extra hashes
  computed (the issue's "cold run").

Each round runs every setting once, in a rotating order; prints each
setting's median wall seconds and CPU seconds (this process and its worker
processes), and the default's cost over ``bare`` both as the ratio of the
medians and as the median of the rounds' ratios (each round's runs close in
time, which a loaded machine's drift spares).  The issue's target: default
within 15% of a cold run.

With ``--stages`` it times instead, in this process, the two parts the
settings differ in, each the smallest CPU time of ``--repeat`` tries (load on
a shared machine only adds time, and a part takes seconds, so the smallest
of many is close to its own cost): hashing every file once
(``hasher.hash_chunk``, one process) with and without the extra hashes, and a
warm run (``find_duplicates`` from a filled hash store) default against
``bare``.  A cold run is the sum of the two; the cost of the default over
``bare`` is printed against it.
"""

from __future__ import annotations

import argparse
import os
import resource
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
from imgdupes import group, hashes, lowdetail, thumbs  # noqa: E402
from imgdupes.hasher import HashSpec, hash_chunk  # noqa: E402


def _no_texture():
    """Patches that give no picture a texture hash (forked workers inherit them)."""
    saved = (lowdetail.selected, lowdetail.selected_parts)

    def none(*parts):
        return np.zeros(len(parts[0]), dtype=bool)

    lowdetail.selected = none
    lowdetail.selected_parts = none
    return saved


def _restore_texture(saved) -> None:
    lowdetail.selected, lowdetail.selected_parts = saved


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


def _cpu() -> float:
    """CPU seconds of this process and of its ended worker processes."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _patched(setting: str):
    """The undo of the patches of a setting: "default" (every extra hash),
    "no texture" (no texture hashes), "bare" (no region nor texture hashes)."""
    regions = _no_regions() if setting == "bare" else None
    texture = _no_texture() if setting != "default" else None

    def undo() -> None:
        if regions is not None:
            _restore(regions)
        if texture is not None:
            _restore_texture(texture)

    return undo


def _least_cpu(action, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def _stages(folder: str, root: str, args: argparse.Namespace) -> None:
    from threadpoolctl import threadpool_limits

    # one thread, as in a hashing worker: idle BLAS threads spinning would count as CPU here
    with threadpool_limits(1):
        _stages_one_thread(folder, root, args)


def _stages_one_thread(folder: str, root: str, args: argparse.Namespace) -> None:
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder))
    spec = HashSpec(("phash",), 64, full_decode=False)
    hash_chunk(paths[:50], spec)  # imports and first calls, timed in neither
    settings = ("default", "no texture", "bare")
    hashing, warm = {}, {}
    for setting in settings:
        undo = _patched(setting)
        try:
            hashing[setting] = _least_cpu(lambda: hash_chunk(paths, spec), args.repeat)
        finally:
            undo()
    for setting in settings:
        cache = os.path.join(root, f"store-{setting}")
        undo = _patched(setting)
        try:

            def once(setting=setting, cache=cache) -> None:
                imgdupes.find_duplicates(
                    folder, "phash", args.threshold, cache_dir=cache, verify=setting != "bare"
                )

            once()  # fills the store
            warm[setting] = _least_cpu(once, args.repeat)
        finally:
            undo()
    print(f"(load {os.getloadavg()[0]:.1f} at the end; least CPU of {args.repeat} tries)\n")
    print("| part | " + " | ".join(f"{k} s" for k in settings) + " |")
    print("|---|" + "---|" * len(settings))
    parts = (("hashing (one process)", hashing), ("warm run (search, verify, group)", warm))
    for name, got in parts:
        print(f"| {name} | " + " | ".join(f"{got[k]:.2f}" for k in settings) + " |")
    cold = hashing["bare"] + warm["bare"]
    for setting in settings[:-1]:
        extra = hashing[setting] + warm[setting] - cold
        print(
            f"- cold run (bare: hashing + warm run) {cold:.2f} s CPU; "
            f"{setting} adds {extra:+.2f} s: {100 * extra / cold:+.1f}%"
        )


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
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--count", type=int, default=1200, help="photos of the distinct split")
    p.add_argument("--stages", action="store_true", help="time hashing and a warm run apart")
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
        if args.stages:
            _stages(folder, root, args)
            return 0
        names = ("default", "no texture", "no regions", "no-verify", "bare")
        wall: dict[str, list[float]] = {k: [] for k in names}
        cpu: dict[str, list[float]] = {k: [] for k in names}
        for round_ in range(args.repeat):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                saved = _no_regions() if name in ("no regions", "bare") else None
                saved_texture = _no_texture() if name != "default" else None
                try:
                    start, start_cpu = time.perf_counter(), _cpu()
                    imgdupes.find_duplicates(
                        folder,
                        "phash",
                        args.threshold,
                        num_proc=args.num_proc,
                        use_cache=False,
                        verify=name not in ("no-verify", "bare"),
                    )
                    wall[name].append(time.perf_counter() - start)
                    cpu[name].append(_cpu() - start_cpu)
                finally:
                    if saved is not None:
                        _restore(saved)
                    if saved_texture is not None:
                        _restore_texture(saved_texture)
        print(f"(load {os.getloadavg()[0]:.1f} at the end)")
        print("\n| setting | median wall s | median CPU s | wall s per round | CPU s per round |")
        print("|---|---|---|---|---|")
        for k in names:
            runs, spent = (
                ", ".join(f"{x:.2f}" for x in wall[k]),
                ", ".join(f"{x:.2f}" for x in cpu[k]),
            )
            print(
                f"| {k} | {statistics.median(wall[k]):.2f} | {statistics.median(cpu[k]):.2f} "
                f"| {runs} | {spent} |"
            )
        print()
        for what, got in (("wall", wall), ("CPU", cpu)):
            for other in ("bare", "no-verify", "no regions", "no texture"):
                of_medians = statistics.median(got["default"]) / statistics.median(got[other])
                per_round = statistics.median(
                    a / b for a, b in zip(got["default"], got[other], strict=True)
                )
                print(
                    f"- {what}: default vs {other}: {100 * (of_medians - 1):+.1f}% "
                    f"(median of rounds {100 * (per_round - 1):+.1f}%)"
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
