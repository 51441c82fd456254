"""Search engines on synthetic hashes: build time, search time, recall, peak memory.

    python benchmarks/engines.py                       # 100k and 1M, every engine
    python benchmarks/engines.py --sizes 100000 --engines ngt,hnsw
    python benchmarks/engines.py --cap 300             # skip runs predicted to exceed 300 s

Data: N random 64-bit hashes of which about a quarter sit in planted clusters
of 2-6 near copies (0 to r+1 bits flipped from the cluster's first member),
shuffled; r = 4. Every engine searches the distinct hashes for all pairs
within r (approximate engines: the k nearest of every hash, then the
distance check), as ``find_matches`` does.

Recall is the share of the true pairs within r an engine found. The true
pairs come from a pigeonhole reference in this script (r+1 bit blocks; two
hashes within r agree exactly on at least one block), which is exact and
fast on random hashes; for N where the project's exact engine runs, the
script checks that both agree.

Each engine runs in its own child process so that its peak memory (ru_maxrss,
whole process, including Python, numpy and the hashes) is its own. "index MB"
is peak RSS minus the RSS just before the build. Engines whose time grows
with N^2 (exact brute force, faiss flat indexes) are skipped at a size where
the previous size predicts more than --cap seconds; the printed line then gives
that prediction, marked as extrapolated. Any run still going after --cap
seconds is stopped and reported as such.

Only temporary files under a private temporary directory are written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parent.parent / "src")
sys.path.insert(0, SRC)

ENGINES = (
    "exact",
    "ngt",
    "hnsw",
    "faiss-flat",
    "faiss-binary-flat",
    "faiss-binary-hnsw",
    "faiss-binary-multihash",
)
QUADRATIC = {"exact", "faiss-flat", "faiss-binary-flat"}
NOTES = {
    "exact": "project exact engine (search/mih.py as of this run)",
    "ngt": "--ngt, k=20, epsilon=0.1, edges 10/40 (seed defaults)",
    "hnsw": "--hnsw, k=20, ef_construction=100, M=16, ef=50 (seed defaults)",
    "faiss-flat": "--faiss-flat, IndexFlatL2 on 0/1 floats, k=20",
    "faiss-binary-flat": "not a CLI engine: IndexBinaryFlat k=20 (same answers as faiss-flat)",
    "faiss-binary-hnsw": "not a CLI engine: IndexBinaryHNSW M=16, efSearch=50, k=20",
    "faiss-binary-multihash": "not a CLI engine: IndexBinaryMultiHash range search, "
    "r+1 tables of 64/(r+1) bits",
}


def planted_hashes(n: int, nbits: int, radius: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, nbits), dtype=np.uint8)
    sizes = rng.integers(2, 7, size=n // 4)
    sizes = sizes[np.cumsum(sizes) <= n // 4]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    centre = np.repeat(starts, sizes)
    member = np.arange(len(centre))
    copies = member != centre
    member, centre = member[copies], centre[copies]
    bits[member] = bits[centre]
    nflip = rng.integers(0, radius + 2, size=len(member))
    where = rng.integers(0, nbits, size=(len(member), radius + 1))
    for c in range(radius + 1):
        rows = np.nonzero(nflip > c)[0]
        bits[member[rows], where[rows, c]] ^= 1
    return np.packbits(bits[rng.permutation(n)], axis=1)


def reference_pairs(unique: np.ndarray, nbits: int, radius: int) -> np.ndarray:
    """Keys lo*U+hi of every pair within radius (pigeonhole on r+1 blocks)."""
    from imgdupes.search.bitops import as_words

    words = as_words(unique)
    bits = np.unpackbits(unique, axis=1, count=nbits)
    u = len(unique)
    bounds = np.linspace(0, nbits, radius + 2).astype(int)
    found = []
    for lo_bit, hi_bit in zip(bounds[:-1], bounds[1:], strict=True):
        block = bits[:, lo_bit:hi_bit]
        key = np.packbits(block, axis=1, bitorder="little")
        key = np.pad(key, ((0, 0), (0, 8 - key.shape[1]))).view(np.uint64).ravel()
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        step = 1
        while step < u:
            same = np.nonzero(sorted_key[step:] == sorted_key[:-step])[0]
            if len(same) == 0:
                break
            i, j = order[same], order[same + step]
            d = np.bitwise_count(words[i] ^ words[j]).sum(axis=1)
            i, j = i[d <= radius], j[d <= radius]
            found.append(np.minimum(i, j) * u + np.maximum(i, j))
            step += 1
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(engine: str, n: int, radius: int, threads: int, out_path: str) -> dict:
    """Child process: build and search one engine, save its pairs, return figures."""
    from imgdupes.search import EngineParams
    from imgdupes.search.libs import bit_vectors, knn_pairs

    nbits = 64
    unique = np.unique(planted_hashes(n, nbits, radius), axis=0)
    params = EngineParams(num_proc=threads)
    k = 20
    before = rss_mb()
    t0 = time.perf_counter()
    if engine == "exact":
        from imgdupes.search.mih import find_pairs_mih

        i, j, _ = find_pairs_mih(unique, radius)
        t1 = t0
    elif engine == "ngt":
        from imgdupes.search import ngt

        with ngt._index(unique, params) as index:
            t1 = time.perf_counter()
            parts = []
            for s in range(0, len(unique), ngt._BATCH):
                labels, dists = ngt._search(index, unique[s : s + ngt._BATCH], k, params)
                parts.append(knn_pairs(labels, dists, radius, first=s))
            t2 = time.perf_counter()
        i = np.concatenate([p[0] for p in parts])
        j = np.concatenate([p[1] for p in parts])
    else:
        import faiss

        faiss.omp_set_num_threads(threads)
        if engine == "hnsw":
            from imgdupes.search import hnsw

            data = bit_vectors(unique, nbits)
            index = hnsw._build(data, params)
            t1 = time.perf_counter()
            search = lambda q: hnsw._search(index, q, k, params)[::-1]  # noqa: E731
        elif engine == "faiss-flat":
            from imgdupes.search import faiss_flat

            data = bit_vectors(unique, nbits)
            index = faiss_flat._build(data, params)
            t1 = time.perf_counter()
            search = lambda q: index.search(q, k)  # noqa: E731
        elif engine == "faiss-binary-multihash":
            data = unique
            index = faiss.IndexBinaryMultiHash(nbits, radius + 1, nbits // (radius + 1))
            index.add(data)
            t1 = time.perf_counter()
            # Binary range search keeps d < radius, so radius+1 keeps d <= r.
            lims, _, labels = index.range_search(data, radius + 1)
            t2 = time.perf_counter()
            i = np.repeat(np.arange(len(data), dtype=np.int64), np.diff(lims.astype(np.int64)))
            j = labels.astype(np.int64)
            search = None
        else:
            data = unique
            if engine == "faiss-binary-flat":
                index = faiss.IndexBinaryFlat(nbits)
            else:
                index = faiss.IndexBinaryHNSW(nbits, 16)
                index.hnsw.efConstruction = 100
                index.hnsw.efSearch = 50
            index.add(data)
            t1 = time.perf_counter()
            search = lambda q: index.search(q, k)  # noqa: E731
        if search is not None:
            parts = []
            for s in range(0, len(data), 65536):
                dists, labels = search(data[s : s + 65536])
                parts.append(knn_pairs(labels, dists, radius, first=s))
            t2 = time.perf_counter()
            i = np.concatenate([p[0] for p in parts])
            j = np.concatenate([p[1] for p in parts])
    if engine == "exact":
        t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    u = len(unique)
    keep = i != j
    key = np.unique(np.minimum(i[keep], j[keep]) * u + np.maximum(i[keep], j[keep]))
    np.save(out_path, key)
    return {
        "unique": u,
        "build_s": t1 - t0,
        "search_s": t2 - t1,
        "peak_mb": peak,
        "index_mb": peak - before,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--radius", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--cap",
        type=float,
        default=600,
        help="seconds: skip runs predicted to take longer, stop runs that do",
    )
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "N", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        engine, n, out = args.child
        print(json.dumps(run_one(engine, int(n), args.radius, args.threads, out)))
        return

    engines = [e for e in args.engines.split(",") if e]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# r={args.radius}, 64-bit hashes, {args.threads} threads, k=20 where the engine has k")
    for e in engines:
        print(f"#   {e}: {NOTES[e]}")
    print(
        f"{'N':>9} {'distinct':>9} {'engine':<23} {'build s':>8} {'search s':>9} "
        f"{'recall':>8} {'peak MB':>8} {'index MB':>9}"
    )
    last_total: dict[str, tuple[int, float]] = {}
    workdir = tempfile.mkdtemp(prefix="imgdupes-bench-")
    try:
        for n in sizes:
            unique = np.unique(planted_hashes(n, 64, args.radius), axis=0)
            ref = reference_pairs(unique, 64, args.radius)
            for e in engines:
                if e in QUADRATIC and e in last_total:
                    n0, t0 = last_total[e]
                    predicted = t0 * (n / n0) ** 2
                    if predicted > args.cap:
                        print(
                            f"{n:>9} {len(unique):>9} {e:<23} skipped: about {predicted:,.0f} s "
                            f"extrapolated as N^2 from {t0:.1f} s at N={n0}"
                        )
                        continue
                out = os.path.join(workdir, f"{e}-{n}.npy")
                cmd = [sys.executable, __file__, "--child", e, str(n), out]
                cmd += ["--radius", str(args.radius), "--threads", str(args.threads)]
                # The child's temporary files (NGT's index) go under workdir, so
                # even a child killed at the time limit leaves nothing behind.
                env = dict(os.environ, TMPDIR=workdir)
                try:
                    proc = subprocess.run(
                        cmd, capture_output=True, text=True, timeout=args.cap, env=env
                    )
                except subprocess.TimeoutExpired:
                    print(f"{n:>9} {len(unique):>9} {e:<23} stopped: over {args.cap:.0f} s")
                    continue
                if proc.returncode != 0:
                    tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{n:>9} {len(unique):>9} {e:<23} failed: {tail}")
                    continue
                fig = json.loads(proc.stdout.strip().splitlines()[-1])
                got = np.load(out)
                recall = np.isin(ref, got).mean() if len(ref) else 1.0
                if e == "exact" and not np.array_equal(got, ref):
                    print("# warning: exact engine and pigeonhole reference disagree")
                last_total[e] = (n, fig["build_s"] + fig["search_s"])
                print(
                    f"{n:>9} {len(unique):>9} {e:<23} {fig['build_s']:>8.2f} "
                    f"{fig['search_s']:>9.2f} {recall:>8.4f} {fig['peak_mb']:>8.0f} "
                    f"{fig['index_mb']:>9.0f}",
                    flush=True,
                )
            print(f"# N={n}: {len(ref)} true pairs within r", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
