"""Warm runs over an unchanged tree (the result snapshot) and after one file changed, A/B.

    python benchmarks/snapshot_ab.py [--files 105000] [--radius 4] [--rounds 3] [--against OLD/src]

Makes ``--files`` one-byte ``.jpg`` files in a temporary folder and writes
their hashes straight into a hash store (as ``throughput.py``'s ``many``
does), then per round: a bare walk + stat, the other build's warm run (when
``--against`` names its ``src``, e.g. ``mkdir OLD && git archive main src |
tar -x -C OLD``), this build's warm run over the unchanged tree, and this
build's after one file was rewritten as a real JPEG (one file hashed, no
snapshot: the full warm path).  Whole commands, wall clock and peak memory.
Everything is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, SRC)
sys.path.insert(0, HERE)

from throughput import bare_walk, change_one, fill_store, make_empty_files, ours, run  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=105_000)
    p.add_argument("--radius", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--against", help="another build's src folder")
    args = p.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="imgdupes-snapshot-") as tmp:
        root, cache = os.path.join(tmp, "tree"), os.path.join(tmp, "cache")
        os.mkdir(root)
        make_empty_files(root, args.files)
        fill_store(root, cache)

        def env(src: str) -> dict[str, str]:
            return {**os.environ, "PYTHONPATH": src, "XDG_CACHE_HOME": os.path.join(tmp, "x")}

        cmd = ours(root, cache, args.num_proc, args.radius)
        run(cmd, env(SRC))  # the snapshot exists from here on
        rows: dict[str, list[tuple[float, float]]] = {"bare walk + stat": []}
        if args.against:
            rows["other build, warm"] = []
        rows["this build, unchanged"] = []
        rows["this build, one file changed"] = []
        for k in range(args.rounds):
            rows["bare walk + stat"].append((bare_walk(root)[0], 0.0))
            if args.against:
                rows["other build, warm"].append(run(cmd, env(os.path.abspath(args.against))))
            rows["this build, unchanged"].append(run(cmd, env(SRC)))
            change_one(root, args.files * (k + 1) // (args.rounds + 1))
            rows["this build, one file changed"].append(run(cmd, env(SRC)))
        print(f"== {args.files} files, phash {args.radius}, {args.rounds} rounds ==")
        for name, got in rows.items():
            each = "  ".join(f"{s:.2f} s/{mb:.0f} MB" for s, mb in got)
            print(f"  {name:30} {each}   best {min(s for s, _ in got):.2f} s")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
