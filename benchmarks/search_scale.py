"""Exact search at scale: exactness, speed against the original imgdupes, growth.

    python benchmarks/search_scale.py                # exactness + original + growth to 1M
    python benchmarks/search_scale.py --orig /tmp/venv-orig/bin/imgdupes
    python benchmarks/search_scale.py --only growth --sizes 10000000 --radii 4

Synthetic hashes: uniform random bits, 30% of them near-copies of another
(0..bits/10 bits flipped) and 0.5% one identical "blank" hash.  Every figure
is printed from a run; nothing is written outside a temporary directory.
Timings are of the whole search stage (``find_matches``: collapse identical
hashes, engine, distance check, connected components).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from imgdupes.search import collapse, find_matches  # noqa: E402
from imgdupes.search.brute import find_pairs_brute  # noqa: E402
from imgdupes.search.mih import compiled_join  # noqa: E402


def synthetic(n: int, nbits: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nbytes = nbits // 8
    m = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    blank = n // 200
    m[:blank] = m[blank]
    k = int(n * 0.3)
    lo = n - k
    m[lo:] = m[rng.integers(blank + 1, lo, size=k)]
    max_flips = nbits // 10
    flips = rng.integers(0, max_flips + 1, size=k)
    for f in range(max_flips):
        rows = np.flatnonzero(flips > f) + lo
        pos = rng.integers(0, nbits, size=len(rows))
        m[rows, pos // 8] ^= (1 << (pos % 8)).astype(np.uint8)
    return m[rng.permutation(n)]


def canonical_sets(labels: np.ndarray) -> list[tuple[int, ...]]:
    rows = np.flatnonzero(labels >= 0)
    order = np.argsort(labels[rows], kind="stable")
    rows = rows[order]
    parts = np.split(rows, np.flatnonzero(np.diff(labels[rows])) + 1)
    return sorted(tuple(sorted(p.tolist())) for p in parts if len(p) > 1)


def brute_labels(m: np.ndarray, radius: int) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    unique, inverse = collapse(m)
    i, j, _ = find_pairs_brute(unique, radius)
    u = len(unique)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(u, u)))
    comp = comp[inverse]
    sizes = np.bincount(comp)
    return np.where(sizes[comp] >= 2, comp, -1)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def exactness(n: int) -> None:
    print(f"\n== exactness: sets vs brute-force components, {n} hashes ==")
    print(f"{'bits':>5} {'r':>3} {'sets':>7} {'equal':>6} {'ours s':>8} {'brute s':>8}")
    for nbits in (64, 256):
        m = synthetic(n, nbits, seed=nbits)
        for r in (0, 1, 4, 8, 12):
            ours, t_ours = timed(find_matches, m, nbits, r)
            ref, t_ref = timed(brute_labels, m, r)
            a, b = canonical_sets(ours.labels), canonical_sets(ref)
            print(f"{nbits:>5} {r:>3} {len(a):>7} {str(a == b):>6} {t_ours:>8.3f} {t_ref:>8.2f}")


def original(n: int, exe: str) -> None:
    """The original imgdupes 0.1.3, default (NGT) search, fed through its joblib cache."""
    print(f"\n== original imgdupes 0.1.3 (NGT default) vs ours, {n} hashes, 64 bits, r=4 ==")
    m = synthetic(n, 64, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "imgs"
        target.mkdir()
        names = [str(target / f"{k:07d}.jpg") for k in range(n)]
        for name in names:
            open(name, "wb").close()
        np.save(Path(tmp) / "bits.npy", np.unpackbits(m, axis=1).astype(np.int64))
        # Its joblib cache: same name as its get_hashcache_dump_name(), in its cwd, keyed by
        # the paths its glob gives; written by its own interpreter (joblib lives there).
        write = (
            "import joblib, numpy as np; b = np.load('bits.npy'); "
            f"names = ['imgs/%07d.jpg' % k for k in range({n})]; "
            "joblib.dump({nm: b[k] for k, nm in enumerate(names)}, "
            "'hash_cache_imgs_phash_64.dump', protocol=2, compress=True)"
        )
        subprocess.run([str(Path(exe).parent / "python"), "-c", write], cwd=tmp, check=True)
        out_path = Path(tmp) / "orig.out"
        t = time.perf_counter()
        # stdout to a file: reading stderr while its stdout pipe fills would deadlock.
        out_file = open(out_path, "w")  # noqa: SIM115 - closed once the process ends
        proc = subprocess.Popen(
            [exe, "imgs", "phash", "4"],
            stdout=out_file,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
        )
        # Its search starts when it says "Building NGT index": time from there to exit.
        t_build = None
        for line in proc.stderr:
            if "Building NGT index" in line and t_build is None:
                t_build = time.perf_counter()
        proc.wait()
        t_end = time.perf_counter()
        t_orig, t_search = t_end - t, t_end - (t_build or t)
        out_file.close()
        out = out_path.read_text()
        their_sets = [
            tuple(sorted(int(Path(p).stem) for p in block.split("\n") if p.strip()))
            for block in out.strip().split("\n\n")
            if block.strip()
        ]
        ours, t_ours = timed(find_matches, m, 64, 4)
        exact = canonical_sets(ours.labels)
        # Pairs within 4 that the original puts in one set (its recall of pairs).
        ref = brute_labels(m, 4)
        unique, inverse = collapse(m)
        pi, pj, _ = find_pairs_brute(unique, 4)
        set_of = np.full(n, -1)
        for s, members in enumerate(their_sets):
            set_of[list(members)] = s
        rep = np.full(len(unique), -1)
        rep[inverse[::-1]] = np.arange(n)[::-1]  # first input row of each unique hash
        a, b = set_of[rep[pi]], set_of[rep[pj]]
        recall = float(((a == b) & (a >= 0)).mean()) if len(pi) else 1.0
        blank_sets = len({set_of[k] for k in np.flatnonzero(inverse == inverse[0])})
        # CLI end to end, reading the same hashes from a CSV.
        csv_path = Path(tmp) / "h.csv"
        with open(csv_path, "w") as fh:
            fh.write("path,hash\n")
            hexes = [bytes(row).hex() for row in m]
            fh.writelines(f"{name},{h}\n" for name, h in zip(names, hexes, strict=True))
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent / "src"))
        t = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "imgdupes", "--hashes-from", str(csv_path), "phash", "4"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        t_cli = time.perf_counter() - t
    print(
        f"original: {t_orig:8.2f} s  whole run; {t_search:.2f} s from 'Building NGT index' to exit"
    )
    print(f"original: exit {proc.returncode}, {len(their_sets)} sets, "
          f"pairs within 4 recovered {recall:.1%}, the {n // 200} identical blank hashes "
          f"spread over {blank_sets} sets")  # fmt: skip
    same = exact == canonical_sets(ref)
    print(f"ours:     {t_ours:8.3f} s  search stage, {len(exact)} sets (exact: {same}); "
          f"{t_search / t_ours:.0f}x faster than its search")  # fmt: skip
    print(f"ours CLI: {t_cli:8.2f} s  imgdupes --hashes-from CSV phash 4 (exit {cli.returncode}), "
          f"speed-up {t_orig / t_cli:.0f}x")  # fmt: skip


def growth(sizes: list[int], radii: list[int], bits: list[int]) -> None:
    print("\n== growth: search stage seconds (find_matches) ==")
    print(f"{'bits':>5} {'N':>10} {'r':>3} {'seconds':>8} {'pairs':>10} {'sets':>9}")
    for nbits in bits:
        for n in sizes:
            m = synthetic(n, nbits, seed=n + nbits)
            for r in radii:
                res, t = timed(find_matches, m, nbits, r)
                nsets = len(np.unique(res.labels[res.labels >= 0]))
                print(f"{nbits:>5} {n:>10} {r:>3} {t:>8.2f} {len(res.pairs_i):>10} {nsets:>9}",
                      flush=True)  # fmt: skip
            del m
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak RSS {peak / 2**30:.2f} GiB = {peak / max(sizes):.0f} bytes per hash "
          f"(largest N = {max(sizes)})")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["exact", "original", "growth"], default=None)
    p.add_argument("--exact-n", type=int, default=30_000)
    p.add_argument("--orig", default=shutil.which("imgdupes-orig") or "/tmp/venv-orig/bin/imgdupes")
    p.add_argument("--orig-n", type=int, default=30_000)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--radii", type=int, nargs="+", default=[0, 4, 8, 16])
    p.add_argument("--bits", type=int, nargs="+", default=[64, 256])
    a = p.parse_args()
    kernel = "numba kernel" if compiled_join() else "numpy only (pip install numba)"
    print(f"exact engine: multi-index hashing, {kernel}; {os.cpu_count()} CPUs")
    if compiled_join():
        find_matches(synthetic(2000, 64), 64, 4)  # compile/load the kernel outside the timings
    if a.only in (None, "exact"):
        exactness(a.exact_n)
    if a.only in (None, "original"):
        if os.path.exists(a.orig):
            original(a.orig_n, a.orig)
        else:
            print(f"\n(original imgdupes not found at {a.orig}; pass --orig)")
    if a.only in (None, "growth"):
        growth(a.sizes, a.radii, a.bits)


if __name__ == "__main__":
    main()
