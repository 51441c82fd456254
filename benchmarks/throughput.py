"""Throughput at dataset scale: small JPEGs cold and warm, a million files warm, dense clusters.

    python benchmarks/throughput.py [--count 105000] [--many 1000000] [--dense 50000]
        [--num-proc 2] [--side 96x72] [--czkawka /tmp/vcz/bin/python] [--only small,many,dense]

Everything is written to a temporary folder and removed afterwards.

- small: ``--count`` JPEGs of 96x72 (an ML dataset's thumbnails; ``--side
  256x192`` for bigger ones). Prints the draft-decode floor (Pillow decoding each
  file at 1/8 scale in N processes, nothing else), a bare ``os.walk`` +
  ``os.stat`` of the tree, our cold run (empty hash store) and warm run
  (everything stored) as whole commands with their peak memory, czkawka's engine
  on the same folder (its Python bindings, run from their own venv: ``python -m
  venv V && V/bin/pip install czkawka``, cache folder empty), and the warm run's
  stages in this process.
- many: ``--many`` tiny files whose hashes are already in the store (filled
  directly, no decode: what a warm run over a million-file dataset does), one
  warm run as a whole command with its peak memory, next to a bare walk + stat.
- dense: ``--dense`` files in 200 clusters of near-identical pictures (what
  placeholder and thumbnail images do to datasets: 50,000 files make 6.2M
  candidate pairs), their hashes and signatures stored as designed (every
  pair of a cluster within 4 bits and accepted by verification), one run
  with its peak memory: search, verification and grouping.

Commands are timed as whole processes (wall clock, start-up included); peak
memory is the process's maximum resident set (``/usr/bin/time -f %M``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

PER_DIR = 1000
SIDE = (96, 72)
CZKAWKA = """
import sys, time
from czkawka import ImageSimilarity
finder = ImageSimilarity()
finder.set_directories([sys.argv[1]])
finder.set_similarity(int(sys.argv[2]))
groups = finder.find_similar()
print(len(groups))
"""


# --- making the trees ------------------------------------------------------------------------


def _write_small(job: tuple[str, int, int, tuple[int, int]]) -> None:
    root, start, stop, side = job
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        folder = os.path.join(root, f"d{i // PER_DIR:04d}")
        os.makedirs(folder, exist_ok=True)
        small = rng.integers(0, 256, size=(9, 12, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(side, Image.Resampling.BILINEAR)
        img.save(os.path.join(folder, f"f{i:07d}.jpg"), quality=85)


def make_small(root: str, count: int, procs: int, side: tuple[int, int] = SIDE) -> None:
    step = -(-count // (procs * 4))
    jobs = [(root, lo, min(count, lo + step), side) for lo in range(0, count, step)]
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        pool.map(_write_small, jobs)


def make_empty_files(root: str, count: int) -> None:
    """``count`` one-byte .jpg files: a warm run stats them and never reads them."""
    for i in range(count):
        if i % PER_DIR == 0:
            folder = os.path.join(root, f"d{i // PER_DIR:04d}")
            os.mkdir(folder)
        fd = os.open(os.path.join(folder, f"f{i:07d}.jpg"), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"\xff")
        os.close(fd)


def change_one(root: str, i: int, side: tuple[int, int] = SIDE) -> None:
    """Write file ``i`` of a tree made above anew: another real JPEG (new
    size, mtime and pixels), so the next warm run has one file to hash and
    no result snapshot to answer from."""
    rng = np.random.default_rng(10_000_000 + i)
    small = rng.integers(0, 256, size=(9, 12, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(side, Image.Resampling.BILINEAR)
    img.save(os.path.join(root, f"d{i // PER_DIR:04d}", f"f{i:07d}.jpg"), quality=80)


def warm_runs(
    root: str, cache: str, procs: int, radius: int, env: dict[str, str], count: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((s, MB) of a warm run over the unchanged tree, the best of two: the
    result snapshot answers; the same after one file changed: the full
    warm path), one run first so that a snapshot exists."""
    cmd = ours(root, cache, procs, radius)
    run(cmd, env)
    hit = min(run(cmd, env) for _ in range(2))
    misses = []
    for k in (1, 2):
        change_one(root, count * k // 3)
        misses.append(run(cmd, env))
    return hit, min(misses)


# --- measuring -------------------------------------------------------------------------------


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one command."""
    timer = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
    start = time.perf_counter()
    done = subprocess.run([*timer, *cmd], env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode()}")
    peak = float("nan")
    if timer:
        peak = int(done.stderr.decode().strip().splitlines()[-1]) / 1024
    return elapsed, peak


def _draft(path: str) -> None:
    with Image.open(path) as im:
        im.draft("RGB", (im.size[0] // 8, im.size[1] // 8))
        im.load()


def decode_floor(paths: list[str], procs: int) -> float:
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        start = time.perf_counter()
        pool.map(_draft, paths, chunksize=64)
        return time.perf_counter() - start


def bare_walk(root: str) -> tuple[float, list[str]]:
    start = time.perf_counter()
    paths = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            os.stat(path)
            paths.append(path)
    return time.perf_counter() - start, paths


def ours(root: str, cache: str, procs: int, radius: int = 4) -> list[str]:
    return [sys.executable, "-m", "imgdupes", "-q", "-r", "--num-proc", str(procs)] + [
        "--cache-dir",
        cache,
        root,
        "phash",
        str(radius),
    ]


def row(name: str, secs: float, peak: float | None = None, ref: float | None = None) -> None:
    mem = f"{peak:8.0f} MB" if peak is not None else " " * 11
    rel = f"{secs / ref:7.2f}x" if ref else ""
    print(f"  {name:44} {secs:8.2f} s {mem} {rel}")


def stages(root: str, cache: str, procs: int) -> None:
    """The warm run's stages in this process (start-up excluded)."""
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
        config = Config(targets=[root], recursive=True, threshold=4, num_proc=procs).validate()
        pipeline.group(config, table)
        t3 = time.perf_counter()
    finally:
        store.close()
    print(
        f"  warm stages in-process: discover {t1 - t0:.2f} s, store look-up {t2 - t1:.2f} s,"
        f" search + verify + group {t3 - t2:.2f} s"
    )


# --- sections --------------------------------------------------------------------------------


def small(tmp: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    root = os.path.join(tmp, "small")
    t = time.perf_counter()
    side = tuple(int(v) for v in args.side.split("x"))
    make_small(root, args.count, args.num_proc, side)  # type: ignore[arg-type]
    print(f"\n== {args.count} JPEGs of {args.side}, written in {time.perf_counter() - t:.0f} s ==")
    walk, paths = bare_walk(root)
    walk = min(walk, bare_walk(root)[0])
    floor = decode_floor(paths, args.num_proc)
    cache = os.path.join(tmp, "cache-small")
    cold, cold_mb = run(ours(root, cache, args.num_proc), env)
    (warm, warm_mb), (miss, miss_mb) = warm_runs(root, cache, args.num_proc, 4, env, args.count)
    floor = min(floor, decode_floor(paths, args.num_proc))
    row("bare os.walk + os.stat", walk)
    row("decode floor (1/8 draft, N processes)", floor, ref=None)
    row("ours cold (vs floor)", cold, cold_mb, floor)
    row("ours warm, unchanged (vs bare walk)", warm, warm_mb, walk)
    row("ours warm, one file changed (vs bare walk)", miss, miss_mb, walk)
    if args.czkawka and os.path.exists(args.czkawka):
        home = os.path.join(tmp, "czhome")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(home)
        cz_env = {**os.environ, "HOME": home, "XDG_CACHE_HOME": home, "XDG_CONFIG_HOME": home}
        cz_env["RAYON_NUM_THREADS"] = str(args.num_proc)
        cz, cz_mb = run([args.czkawka, "-c", CZKAWKA, root, "2"], cz_env)
        row("czkawka engine (cold, its cache empty)", cz, cz_mb, floor)
        print(f"  ours cold is {cz / cold:.2f}x faster than czkawka's engine")
    else:
        print(f"  (czkawka's Python not found at {args.czkawka}; skipped)")
    stages(root, cache, args.num_proc)


def fill_store(root: str, cache: str, clusters: int = 0) -> int:
    """Store hashes for every file below ``root`` as a cold run would (no decode).

    With ``clusters``, file k belongs to cluster k % clusters: its hashes are
    the cluster's with two bits flipped (every two files of a cluster are
    within 4 bits, and no two share a hash), its signature the cluster's
    thumbnails plus a little noise, so every pair of a cluster is a
    candidate that verification accepts.  Returns the number of files."""
    from imgdupes.cache import HashStore
    from imgdupes.discover import discover
    from imgdupes.hasher import HashSpec
    from imgdupes.hashvalue import region_names, texture_names
    from imgdupes.signature import SIGNATURE_BYTES, SIGNATURE_VERSION

    spec = HashSpec(("phash",), 64, full_decode=False)
    files = discover([root], recursive=True).files
    rng = np.random.default_rng(3)
    keys = [*spec.computed, "phash@tone", "phash_org@tone", *region_names(spec.computed)]
    base_hash = rng.integers(0, 256, (max(1, clusters), 8), dtype=np.uint8)
    base_sig = rng.integers(0, 256, (max(1, clusters), SIGNATURE_BYTES)).astype(np.int16)
    flips = np.array([(a, b) for a in range(64) for b in range(a + 1, 64)])
    with HashStore.open(cache) as store:
        step = 4096
        for lo in range(0, len(files), step):
            part = files[lo : lo + step]
            n = len(part)
            if clusters:
                k = np.arange(lo, lo + n)
                bits = np.unpackbits(base_hash[k % clusters], axis=1)
                pick = flips[(k // clusters) % len(flips)]
                bits[np.arange(n), pick[:, 0]] ^= 1
                bits[np.arange(n), pick[:, 1]] ^= 1
                one = np.packbits(bits, axis=1)
                packed = {key: one for key in keys}
                noise = rng.integers(-2, 3, (n, SIGNATURE_BYTES))
                sig = np.clip(base_sig[k % clusters] + noise, 0, 255).astype(np.uint8)
            else:
                packed = {key: rng.integers(0, 256, (n, 8), dtype=np.uint8) for key in keys}
                sig = rng.integers(0, 256, (n, SIGNATURE_BYTES), dtype=np.uint8)
            # texture hashes (imgdupes.lowdetail): zeros but for the low-detail
            # pictures, here one file in 50 (a folder of photos with some papers)
            for key in texture_names(spec.computed):
                packed[key] = packed[key].copy()
                packed[key][(np.arange(lo, lo + n) % 50 != 0) | (clusters > 0)] = 0
            size = np.full(n, 96, dtype=np.int64)
            ok = np.ones(n, dtype=bool)
            store.put_chunk(
                part, spec.decode_mode, 64, packed, size, size, sig, ok, SIGNATURE_VERSION
            )
    return len(files)


def many(tmp: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    root = os.path.join(tmp, "many")
    os.mkdir(root)
    t = time.perf_counter()
    make_empty_files(root, args.many)
    made = time.perf_counter() - t
    cache = os.path.join(tmp, "cache-many")
    t = time.perf_counter()
    fill_store(root, cache)
    print(
        f"\n== {args.many} files, hashes already stored (files made in {made:.0f} s,"
        f" store filled in {time.perf_counter() - t:.0f} s) =="
    )
    walk = min(bare_walk(root)[0] for _ in range(2))
    (warm, warm_mb), (miss, miss_mb) = warm_runs(root, cache, args.num_proc, 0, env, args.many)
    row("bare os.walk + os.stat", walk)
    row("ours warm, unchanged, whole command (vs walk)", warm, warm_mb, walk)
    row("ours warm, one file changed (vs walk)", miss, miss_mb, walk)


def dense(tmp: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    root = os.path.join(tmp, "dense")
    os.mkdir(root)
    make_empty_files(root, args.dense)
    cache = os.path.join(tmp, "cache-dense")
    fill_store(root, cache, clusters=200)
    per = args.dense // 200
    pairs = 200 * per * (per - 1) // 2
    print(
        f"\n== {args.dense} files in 200 clusters of {per} near-identical pictures"
        f" ({pairs} candidate pairs in each of the plain and tone forms), hashes stored =="
    )
    warm, warm_mb = run(ours(root, cache, args.num_proc), env)
    row("ours warm, whole command: search + verify", warm, warm_mb)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=105_000, help="small JPEGs (105000)")
    p.add_argument("--many", type=int, default=1_000_000, help="stored files, warm (1000000)")
    p.add_argument("--dense", type=int, default=50_000, help="files in 200 clusters (50000)")
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--side", default="96x72", help="small JPEGs' size, WxH (96x72)")
    p.add_argument("--czkawka", default="/tmp/vcz/bin/python", help="python with czkawka")
    p.add_argument("--only", default="small,many,dense", help="sections, comma-separated")
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, Pillow {Image.__version__}, numpy {np.__version__}")
    try:
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    except OSError:
        pass
    sections = {"small": small, "many": many, "dense": dense}
    with tempfile.TemporaryDirectory(prefix="imgdupes-throughput-") as tmp:
        env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": os.path.join(tmp, "xdg")}
        for name in args.only.split(","):
            sections[name.strip()](tmp, args, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
