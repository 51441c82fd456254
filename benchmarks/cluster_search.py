"""The exact search over a Parquet dataset on a loopback Dask cluster, at scale.

Synthetic 64-bit hashes: random, 5% planted near-copies (0-3 bits from one
of n/20 centres), 1% one blank hash; 2M rows a file, written to a temporary
folder under /tmp and deleted afterwards.  For each size: wall time, shuffle
volume (what the stages route, and what crossed between the two worker
processes), peak RSS per worker; with ``--local N`` also the single-machine
engine on the same N-row dataset, and whether the sets are equal.

    python3 benchmarks/cluster_search.py --rows 10000000 30000000 100000000 --local 10000000
    python3 benchmarks/cluster_search.py --rows 4000000 --local 4000000 --rows-per-file 500000

Workers run with ``memory_limit`` (default 3 GiB): Dask spills to disk past
60% of it and kills a worker past 95%, so "completed" means "completed
within that limit".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

ROWS_PER_FILE = 2_000_000
GIB = 1 << 30


def _strings(fixed: np.ndarray):
    """(n, L) uint8 ASCII -> Arrow string array, without a Python object per row."""
    import pyarrow as pa

    n, width = fixed.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(np.ascontiguousarray(fixed).tobytes())
    )


def _hex(words: np.ndarray) -> np.ndarray:
    """uint64 -> (n, 16) ASCII hex as ImageHash prints the packed bytes."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    b = words.astype("<u8").view(np.uint8).reshape(-1, 8)
    out = np.empty((len(words), 16), dtype=np.uint8)
    out[:, 0::2] = digits[b >> 4]
    out[:, 1::2] = digits[b & 15]
    return out


def _paths(start: int, n: int) -> np.ndarray:
    idx = np.arange(start, start + n, dtype=np.int64)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :4] = np.frombuffer(b"img/", np.uint8)
    for k in range(10):
        out[:, 13 - k] = ord("0") + (idx // 10**k) % 10
    out[:, 14:] = np.frombuffer(b".jpg", np.uint8)
    return out


def make_dataset(folder: str, n: int, seed: int = 0, per_file: int = ROWS_PER_FILE) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**63, n // 20, dtype=np.int64).astype(np.uint64)
    os.makedirs(folder, exist_ok=True)
    for f, start in enumerate(range(0, n, per_file)):
        m = min(per_file, n - start)
        h = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64) << np.uint64(1)
        h ^= rng.integers(0, 2, m).astype(np.uint64)
        copy = rng.random(m) < 0.05
        k = int(copy.sum())
        c = centres[rng.integers(0, len(centres), k)]
        for _ in range(3):
            on = rng.random(k) < 0.5
            c[on] ^= np.uint64(1) << rng.integers(0, 64, int(on.sum())).astype(np.uint64)
        h[copy] = c
        h[rng.random(m) < 0.01] = 0
        table = pa.table(
            {
                "path": _strings(_paths(start, m)),
                "hash": _strings(_hex(h)),
                "size": pa.array(rng.integers(1_000, 5_000_000, m)),
            }
        )
        pq.write_table(table, os.path.join(folder, f"part-{f:04d}.parquet"))


class PeakRSS:
    """Samples the RSS of the worker processes every 0.2 s."""

    def __init__(self, pids: list[int]):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.peak = [0] * len(pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.2):
            for k, p in enumerate(self.procs):
                try:
                    self.peak[k] = max(self.peak[k], p.memory_info().rss)
                except Exception:
                    pass

    def done(self) -> list[int]:
        self.stop.set()
        self.thread.join()
        return self.peak


def _sent(dask_worker) -> int:
    return int(dask_worker.transfer_outgoing_bytes_total)


def run_cluster(folder: str, radius: int, memory_limit: str, export: str, listing: bool):
    import distributed

    from imgdupes import cluster_search
    from imgdupes.config import Config

    with (
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            memory_limit=memory_limit,
        ) as cluster,
        distributed.Client(cluster.scheduler_address, set_as_default=False) as client,
    ):
        pids = list(client.run(os.getpid).values())
        rss = PeakRSS(pids)
        config = Config(hash_method="phash", threshold=radius, hashes_from=folder)
        stats = cluster_search.ClusterStats()
        t0 = time.perf_counter()
        error = None
        sets = None
        try:
            # export only (0): nothing but counts comes to the client
            cluster_search.CLIENT_ROWS = 2_000_000 if listing else 0
            _, sets = cluster_search.search(
                client, folder, config, lambda m: None, export_dir=export, stats=stats
            )
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - t0
        peaks = rss.done()
        try:
            sent = sum(client.run(_sent).values())
        except Exception:
            sent = -1
    return wall, stats, peaks, sent, sets, error


def run_local(folder: str, radius: int):
    import resource

    from imgdupes import hashio
    from imgdupes.config import Config
    from imgdupes.fromhashes import group_table

    t0 = time.perf_counter()
    table = hashio.read_dataset(folder, "phash", lambda m: None)
    t1 = time.perf_counter()
    sets = group_table(Config(hash_method="phash", threshold=radius), table)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return t1 - t0, t2 - t1, peak, sets


def listing(sets):
    return [[(e.path, e.distance) for e in s.entries] for s in sets]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 30_000_000, 100_000_000])
    ap.add_argument("--local", type=int, default=10_000_000, help="also run one machine at N")
    ap.add_argument("--radius", type=int, default=4)
    ap.add_argument("--memory-limit", default="3GiB")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--rows-per-file", type=int, default=ROWS_PER_FILE)
    args = ap.parse_args()
    print(f"loopback cluster: 2 worker processes x 1 thread, memory_limit={args.memory_limit}")
    print(f"r = {args.radius}, 64-bit hashes, {args.rows_per_file:,} rows a file")
    for n in args.rows:
        tmp = tempfile.mkdtemp(prefix="imgdupes-bench-", dir=args.tmp)
        try:
            folder = os.path.join(tmp, "hashes")
            t0 = time.perf_counter()
            make_dataset(folder, n, per_file=args.rows_per_file)
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
            print(
                f"\n{n:,} rows: dataset {size / GIB:.2f} GiB written in "
                f"{time.perf_counter() - t0:.0f} s"
            )
            with_listing = n == args.local
            wall, st, peaks, sent, sets, error = run_cluster(
                folder, args.radius, args.memory_limit, os.path.join(tmp, "sets"), with_listing
            )
            w = 1
            routed = st.rows * (8 * w + 8) + st.chunks * st.unique * (8 * w + 8)
            status = "completed" if error is None else f"FAILED ({error[:300]})"
            print(
                f"  cluster: {status} in {wall:.1f} s; {st.unique:,} unique of {st.rows:,}; "
                f"{st.partitions} partitions x {st.chunks} chunk rounds"
            )
            print(
                f"  candidates from the engine {st.candidates:,}, edges kept {st.edges:,}, "
                f"hashes linked {st.linked:,}, files in sets {st.rows_in_sets:,}, "
                f"sets written {st.sets_exported:,}"
            )
            print(
                f"  shuffle: {routed / GIB:.2f} GiB routed by the read and join stages; "
                f"{sent / GIB:.2f} GiB sent between workers (all stages)"
            )
            print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in st.seconds.items()))
            print("  peak RSS per worker: " + ", ".join(f"{p / GIB:.2f} GiB" for p in peaks))
            if with_listing:
                t_read, t_search, peak, local = run_local(folder, args.radius)
                same = sets is not None and listing(sets) == listing(local)
                print(
                    f"  one machine: read {t_read:.1f} s + search {t_search:.1f} s, "
                    f"peak RSS {peak / GIB:.2f} GiB; {len(local):,} sets; "
                    f"cluster sets equal: {same}"
                )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
