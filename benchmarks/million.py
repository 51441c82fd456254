"""A warm run over a million small files (and a cold one): time, peak memory, stages.

    python benchmarks/million.py [--files 100000] [--cold] [--num-proc 2]

Everything is written to a temporary folder and removed afterwards.

Without ``--cold`` the files are one-byte ``.jpg`` files whose hashes are
written straight into the hash store (no decode: making and hashing a
million real JPEGs takes many minutes on two cores); a warm run stats them
and never opens them, so their content does not matter.  With ``--cold``
they are real 96x72 JPEGs of distinct pixels and our own cold run fills
the store, timed too.

Printed: a bare ``os.walk`` + ``os.stat`` of the tree (the floor of any
warm run), our warm run as a whole command (``imgdupes -q -r --cache-dir C
TREE phash 0``, start-up included) with its peak resident memory, over the
unchanged tree (the result snapshot answers) and after one file changed
(the full warm path), the same with ``phash 4``, and the full warm path's
stages in this process (discover, store look-up, search + verification +
grouping).
Targets (issue #15): 1,000,000 files warm <= 10 s and <= 1 GB; 105,000
files warm <= 4x the bare walk and <= 150 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, SRC)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from throughput import (  # noqa: E402
    bare_walk,
    fill_store,
    make_empty_files,
    make_small,
    ours,
    row,
    run,
    warm_runs,
)


def stages(root: str, cache: str, radius: int) -> None:
    """The warm run's stages in this process (start-up excluded)."""
    import resource

    from imgdupes import pipeline
    from imgdupes.cache import HashStore
    from imgdupes.config import Config
    from imgdupes.discover import discover
    from imgdupes.hasher import HashSpec, hash_table

    t0 = time.perf_counter()
    found = discover([root], recursive=True)
    t1 = time.perf_counter()
    store = HashStore.open(cache)
    assert store is not None
    try:
        table, _ = hash_table(found.files, HashSpec(("phash",), 64, False), "phash", store=store)
        t2 = time.perf_counter()
        config = Config(targets=[root], recursive=True, threshold=radius).validate()
        sets = pipeline.group(config, table)
        t3 = time.perf_counter()
    finally:
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  stages in-process (phash {radius}): discover {t1 - t0:.2f} s, store look-up"
        f" {t2 - t1:.2f} s, search + verify + group {t3 - t2:.2f} s; {len(sets)} sets;"
        f" {peak:.0f} MB peak"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=100_000, help="files in the tree (100000)")
    p.add_argument("--cold", action="store_true", help="real JPEGs, hashed by a cold run first")
    p.add_argument("--num-proc", type=int, default=2)
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, Pillow {Image.__version__}, numpy {np.__version__}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="imgdupes-million-") as tmp:
        env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": os.path.join(tmp, "xdg")}
        root = os.path.join(tmp, "tree")
        cache = os.path.join(tmp, "cache")
        t = time.perf_counter()
        if args.cold:
            make_small(root, args.files, args.num_proc)
        else:
            os.mkdir(root)
            make_empty_files(root, args.files)
        made = time.perf_counter() - t
        kind = "96x72 JPEGs" if args.cold else "one-byte .jpg files, hashes stored directly"
        print(f"\n== {args.files} {kind} (made in {made:.0f} s) ==")
        walk = min(bare_walk(root)[0] for _ in range(2))
        row("bare os.walk + os.stat", walk)
        if args.cold:
            cold, cold_mb = run(ours(root, cache, args.num_proc, radius=0), env)
            row("ours cold, whole command", cold, cold_mb)
        else:
            t = time.perf_counter()
            fill_store(root, cache)
            print(f"  (store filled in {time.perf_counter() - t:.0f} s)")
        for radius in (0, 4):
            (warm, warm_mb), (miss, miss_mb) = warm_runs(
                root, cache, args.num_proc, radius, env, args.files
            )
            row(f"ours warm, unchanged, phash {radius} (vs walk)", warm, warm_mb, walk)
            row(f"ours warm, one file changed, phash {radius}", miss, miss_mb, walk)
        start, _ = run([sys.executable, "-c", "import imgdupes.cli"], env)
        row("python start-up + import imgdupes.cli", start)
        stages(root, cache, 4)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
