"""Hashing throughput: cold and warm runs against the original imgdupes and the decode floor.

    python benchmarks/hash_throughput.py [--count 150] [--num-proc 2]
        [--orig /tmp/venv-orig-cache/bin/imgdupes] [--many 100000]

Prints, on the same real-size JPEG photos (written to a temporary folder):
- the decode floor: Pillow decoding each file at 1/8 scale (draft mode) in
  N processes, nothing else;
- the original imgdupes 0.1.3 (``--no-cache --num-proc N``), when its
  command is given or found (install it in its own venv:
  ``python -m venv V && V/bin/pip install imgdupes==0.1.3``);
- this imgdupes: cold (empty cache), ``--no-cache``, ``--full-decode``, and
  warm (everything cached);
- with --many: a warm run over that many tiny cached files next to the time
  to discover (stat) them and the time the command needs to start.

Commands are timed as whole processes (wall clock), start-up included.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, SRC)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
from _photos import make_photos  # noqa: E402
from PIL import Image  # noqa: E402

from imgdupes.cache import HashStore  # noqa: E402
from imgdupes.config import Config  # noqa: E402
from imgdupes.discover import discover  # noqa: E402
from imgdupes.hasher import HashSpec, hash_files  # noqa: E402
from imgdupes.pipeline import scan  # noqa: E402

DEFAULT_ORIG = "/tmp/venv-orig-cache/bin/imgdupes"


def _draft_decode(path: str) -> tuple[int, int]:
    with Image.open(path) as im:
        im.draft("RGB", (im.size[0] // 8, im.size[1] // 8))
        im.load()
        return im.size


def decode_floor(paths: list[str], procs: int) -> float:
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        start = time.perf_counter()
        pool.map(_draft_decode, paths, chunksize=4)
        return time.perf_counter() - start


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
    return elapsed


def best_of(n: int, fn) -> float:
    return min(fn() for _ in range(n))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=150, help="real-size JPEG photos (150)")
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--orig", default=DEFAULT_ORIG, help="the original imgdupes 0.1.3 command")
    p.add_argument("--many", type=int, default=0, help="also time a warm run over N tiny files")
    p.add_argument("--repeat", type=int, default=3, help="rounds per figure, best kept (3)")
    args = p.parse_args()
    n = args.count
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, Pillow {Image.__version__}")
    with tempfile.TemporaryDirectory(prefix="imgdupes-bench-") as tmp:
        env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": os.path.join(tmp, "xdg")}
        if n > 0:
            photo_runs(tmp, args, env)
        if args.many:
            many_run(tmp, args.many, args.num_proc, env)
    return 0


def photo_runs(tmp: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    n, procs = args.count, args.num_proc
    photos = os.path.join(tmp, "photos")
    os.mkdir(photos)
    t = time.perf_counter()
    paths = make_photos(photos, n)
    mb = sum(os.path.getsize(q) for q in paths) / 1e6
    print(
        f"{n} JPEG photos (3840x2160 to 6000x4000, {mb:.0f} MB) written in "
        f"{time.perf_counter() - t:.0f} s\n"
    )

    ours = [sys.executable, "-m", "imgdupes", "-q", "--num-proc", str(procs)]
    cold_cache = os.path.join(tmp, "cache-cold")

    def cold() -> float:
        shutil.rmtree(cold_cache, ignore_errors=True)
        return timed([*ours, "--cache-dir", cold_cache, photos, "phash", "4"], env, tmp)

    runs: dict[str, Callable[[], float]] = {
        "decode floor (1/8 draft)": lambda: decode_floor(paths, procs),
        "ours cold (cache written)": cold,
        "ours --no-cache": lambda: timed([*ours, "--no-cache", photos, "phash", "4"], env, tmp),
    }
    if args.orig and shutil.which(args.orig):
        cmd = [args.orig, "--no-cache", "--num-proc", str(procs), photos, "phash", "4"]
        runs["imgdupes 0.1.3 --no-cache"] = lambda: timed(cmd, env, tmp)
    else:
        print(f"(original imgdupes not found at {args.orig}; skipped)")
    # Interleaved rounds: on a shared machine the load drifts, and each
    # figure then sees the same conditions as the others.
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, run in runs.items():
            times[name].append(run())
    full = [*ours, "--no-cache", "--full-decode", photos, "phash", "4"]
    times["ours --no-cache --full-decode"] = [timed(full, env, tmp)]
    for method, r in (("phash", "4"), ("dhash", "6")):
        name = "ours warm (all cached)" if method == "phash" else "ours warm, dhash 6 (switched)"
        warm_cmd = [*ours, "--cache-dir", cold_cache, photos, method, r]
        times[name] = [timed(warm_cmd, env, tmp) for _ in range(args.repeat)]
    version = [sys.executable, "-m", "imgdupes", "--version"]
    times["python start-up (imgdupes --version)"] = [
        timed(version, env, tmp) for _ in range(args.repeat)
    ]

    best = {name: min(t) for name, t in times.items()}
    floor = best["decode floor (1/8 draft)"]
    print(f"best of {args.repeat} interleaved rounds (median in brackets)")
    print(f"{'':40} {'seconds':>15} {'images/s':>9} {'vs floor':>9}")
    for name, t in times.items():
        secs = best[name]
        rate = f"{n / secs:9.1f}" if "start-up" not in name else " " * 9
        print(f"{name:40} {secs:6.2f} [{statistics.median(t):6.2f}] {rate} {secs / floor:8.2f}x")
    cold_best = best["ours cold (cache written)"]
    if "imgdupes 0.1.3 --no-cache" in best:
        print(f"\ncold speed-up over 0.1.3: {best['imgdupes 0.1.3 --no-cache'] / cold_best:.2f}x")
    print(f"cold / decode floor: {cold_best / floor:.2f}x")
    print(f"cold / warm: {cold_best / best['ours warm (all cached)']:.1f}x")

    # The hashing stage alone, in this process: what the cache saves,
    # without the interpreter start-up that both runs pay.
    def stage(cache: str) -> float:
        config = Config(targets=[photos], num_proc=procs, cache_dir=cache).validate()
        start = time.perf_counter()
        scan(config, lambda msg: None)
        return time.perf_counter() - start

    # What storing all five methods costs next to computing the requested one.
    files = discover([photos]).files

    def hashing(all_methods: bool) -> float:
        spec = HashSpec(("phash",), 64, full_decode=False, all_methods=all_methods)
        start = time.perf_counter()
        hash_files(files, spec, num_proc=procs)
        return time.perf_counter() - start

    five, one, floors = [], [], []
    for _ in range(args.repeat):
        floors.append(decode_floor(paths, procs))
        five.append(hashing(True))
        one.append(hashing(False))
    print(
        f"hashing stage, no cache, in-process (best of {args.repeat}): "
        f"all five methods {min(five):.2f} s ({min(five) / min(floors):.2f}x floor), "
        f"phash only {min(one):.2f} s ({min(one) / min(floors):.2f}x), "
        f"floor {min(floors):.2f} s"
    )

    split_one_worker(paths, args.repeat)

    stage_cache = os.path.join(tmp, "cache-stage")
    stage_cold = stage(stage_cache)
    stage_warm = best_of(3, lambda: stage(stage_cache))
    print(
        f"hashing stage in-process: cold {stage_cold:.2f} s, warm {stage_warm:.3f} s "
        f"({stage_cold / stage_warm:.0f}x)"
    )


def split_one_worker(paths: list[str], repeat: int) -> None:
    """Where a cold run's time over the floor goes, per photo, in this process
    (one BLAS thread, as a hashing worker): the floor's decode, ours, and the
    hashes and signature after it (CPU seconds, best of ``repeat``)."""
    from imgdupes.decode import decode_pixels
    from imgdupes.hasher import _one_blas_thread, hash_chunk

    spec = HashSpec(("phash",), 64, full_decode=False)

    def cpu(step: Callable[[str], object]) -> float:
        best = float("inf")
        for _ in range(repeat):
            start = time.process_time()
            for path in paths:
                step(path)
            best = min(best, time.process_time() - start)
        return best / len(paths) * 1e3

    with _one_blas_thread():
        floor = cpu(_draft_decode)
        ours = cpu(lambda path: decode_pixels(path, spec.reduce_to))
        whole = cpu(lambda path: hash_chunk([path], spec))
    print(
        f"one worker, per photo (CPU ms, best of {repeat}): floor's decode {floor:.1f}, "
        f"ours {ours:.1f} ({ours / floor:.2f}x), with every hash and the signature "
        f"{whole:.1f} ({whole / floor:.2f}x)"
    )


def many_run(tmp: str, count: int, procs: int, env: dict[str, str]) -> None:
    root = os.path.join(tmp, "many")
    os.mkdir(root)
    rng = np.random.default_rng(5)
    per_dir = 1000
    t = time.perf_counter()
    for i in range(count):
        d = os.path.join(root, f"d{i // per_dir:04d}")
        if i % per_dir == 0:
            os.mkdir(d)
        noise = rng.integers(0, 256, size=(12, 16), dtype=np.uint8)
        Image.fromarray(noise, "L").save(os.path.join(d, f"f{i:06d}.png"))
    print(f"\n{count} tiny PNG files written in {time.perf_counter() - t:.0f} s")
    cache = os.path.join(tmp, "cache-many")
    cmd = [sys.executable, "-m", "imgdupes", "-q", "-r", "--num-proc", str(procs)]
    cmd += ["--cache-dir", cache, root, "phash", "0"]
    cold = timed(cmd, env, tmp)
    warm = timed(cmd, env, tmp)
    # the warm run's stages, in this process
    start = time.perf_counter()
    found = discover([root], recursive=True)
    walk = time.perf_counter() - start
    spec = HashSpec(("phash",), 64, full_decode=False)
    start = time.perf_counter()
    with HashStore.open(cache) as store:
        rows, _ = hash_files(found.files, spec, num_proc=procs, store=store)
    lookup = time.perf_counter() - start
    start = time.perf_counter()
    for f in found.files:
        os.stat(f.path)
    restat = time.perf_counter() - start
    print(f"cold run (hash + write cache): {cold:.1f} s")
    print(f"warm run, whole command:       {warm:.1f} s")
    print(f"  discovery (walk + stat):     {walk:.1f} s for {len(found.files)} files")
    print(f"  cache look-up of all:        {lookup:.1f} s ({len(rows)} found)")
    print(f"  (one more os.stat of each:   {restat:.1f} s)")
    print(f"  the rest (start-up, search, grouping): {warm - walk - lookup:.1f} s")


if __name__ == "__main__":
    raise SystemExit(main())
