"""CPU per file of one hashing worker on small JPEGs: the decode, and everything.

    python benchmarks/chunk_cpu.py [--count 2000] [--side 96x72] [--rounds 4]
        [--against OTHER/src] [--asked-only]

Writes ``--count`` JPEGs of ``--side`` (the pictures of benchmarks/throughput.py)
to a temporary folder, then hashes them as a hashing worker does: chunks of 64
through ``hasher.hash_chunk``, one BLAS thread, the workers' malloc setting.
Prints CPU microseconds per file (``time.process_time``: on a loaded machine
the wall clock says less) for the decode alone (``decode.decode_pixels``) and
for the whole chunk (decode, every hash, the signature), best and median of
``--rounds``.  With ``--against``, the same is measured with another checkout's
``src`` (e.g. a ``git archive`` of main) in alternate rounds on the same files;
with ``--asked-only``, this checkout computing the asked method (phash) only
(``HashSpec(all_methods=False)``) against it computing all five, as it does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")


def measure(folder: str, rounds: int, all_methods: bool = True) -> dict[str, list[float]]:
    """Runs in a child whose ``sys.path`` starts with the ``src`` measured."""
    from imgdupes.decode import decode_pixels
    from imgdupes.hasher import HashSpec, _one_blas_thread, hash_chunk
    from imgdupes.workers import steady_heap

    steady_heap()
    paths = sorted(os.path.join(d, n) for d, _, names in os.walk(folder) for n in names)
    spec = HashSpec(("phash",), 64, full_decode=False, all_methods=all_methods)
    out: dict[str, list[float]] = {"decode": [], "hash_chunk": []}

    def per_file(step) -> float:  # type: ignore[no-untyped-def]
        start = time.process_time()
        step()
        return (time.process_time() - start) / len(paths) * 1e6

    def decode_all() -> None:
        for path in paths:
            decode_pixels(path, spec.reduce_to)

    def hash_all() -> None:
        for lo in range(0, len(paths), 64):
            hash_chunk(paths[lo : lo + 64], spec)

    with _one_blas_thread():
        hash_all()  # warm: page cache, weights
        for _ in range(rounds):
            out["decode"].append(per_file(decode_all))
            out["hash_chunk"].append(per_file(hash_all))
    return out


def child(src: str, folder: str, rounds: int, all_methods: bool) -> dict[str, list[float]]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import chunk_cpu; print(json.dumps(chunk_cpu.measure("
        "sys.argv[3], int(sys.argv[4]), sys.argv[5] == '1')))"
    )
    flag = "1" if all_methods else "0"
    done = subprocess.run(
        [sys.executable, "-c", code, os.path.abspath(src), HERE, folder, str(rounds), flag],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--side", default="96x72")
    p.add_argument("--rounds", type=int, default=4, help="alternate rounds per build (4)")
    p.add_argument("--against", help="another checkout's src folder, measured alike")
    p.add_argument("--asked-only", action="store_true", help="phash only against all five")
    args = p.parse_args()
    side = tuple(int(v) for v in args.side.split("x"))
    sys.path.insert(0, HERE)
    from throughput import make_small

    builds = {"this": (SRC, True)}
    if args.against:
        builds["against"] = (args.against, True)
    if args.asked_only:
        builds["phash only"] = (SRC, False)
    with tempfile.TemporaryDirectory(prefix="imgdupes-chunk-") as tmp:
        make_small(tmp, args.count, 1, side)  # type: ignore[arg-type]
        got: dict[str, dict[str, list[float]]] = {name: {} for name in builds}
        for _ in range(args.rounds):
            for name, (src, all_methods) in builds.items():
                for key, values in child(src, tmp, 1, all_methods).items():
                    got[name].setdefault(key, []).extend(values)
    print(f"{args.count} JPEGs {args.side}, chunks of 64, one worker, CPU us per file")
    for name, figures in got.items():
        line = ", ".join(
            f"{key} best {min(v):.0f} median {statistics.median(v):.0f}"
            for key, v in figures.items()
        )
        print(f"{name:10} ({builds[name][0]}): {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
