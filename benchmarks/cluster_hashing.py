"""Hashing on a loopback Dask cluster against the local process pool, on the same files.

    python benchmarks/cluster_hashing.py [--files 10000] [--side 256] [--workers 2] [--rounds 2]

Writes ``--files`` small JPEGs (``--side`` px on the longer side) to a
temporary folder, then hashes them (phash, fast path, no cache) alternately:

- locally: ``hash_files`` with a pool of ``--workers`` processes;
- on a cluster: ``dask scheduler`` and ``dask worker --nworkers N --nthreads 1``
  processes on 127.0.0.1, through the same ``hash_files`` with the cluster
  runner (what ``--dask-scheduler`` uses); starting the cluster is not
  counted, connecting to it is.

Prints each round, the best of each, the ratio (target: cluster >= 85% of the
local pool), the cluster's tasks and its overhead per task (an empty task
round-tripped, and the cluster run's time beyond the local one divided by
its tasks), and the CPU the client and the scheduler spent: on a real
cluster they sit on other machines than the workers, here they share the
cores.  Best-of-rounds, because the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "src"))
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from imgdupes import cluster  # noqa: E402
from imgdupes.cache import HashStore  # noqa: E402
from imgdupes.discover import discover  # noqa: E402
from imgdupes.hasher import HashSpec, hash_chunk, hash_files  # noqa: E402


def make_jpegs(folder: str, count: int, side: int) -> None:
    """Distinct small pictures: a random colour grid upsampled, plus grain."""
    rng = np.random.default_rng(18)
    h = side * 3 // 4
    for n in range(count):
        grid = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
        img = Image.fromarray(grid, "RGB").resize((side, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.int16) + rng.integers(-8, 9, size=(h, side, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(
            os.path.join(folder, f"{n:06d}.jpg"), quality=85
        )


def _noop(x: int) -> int:
    return x


def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _cpu_tree(proc) -> float:
    """CPU of a process and its live children (the nannies' worker processes)."""
    return _cpu(proc) + sum(_cpu(c) for c in proc.children(recursive=True))


def _cpu_children() -> float:
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done.ru_utime + done.ru_stime


def _cpu_self() -> float:
    now = resource.getrusage(resource.RUSAGE_SELF)
    return now.ru_utime + now.ru_stime


@contextlib.contextmanager
def _loopback_cluster(workers: int, tmp: str):
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, as a user would start them."""
    import psutil

    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    info = os.path.join(tmp, "scheduler.json")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    t = time.perf_counter()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", info], **quiet,
    )  # fmt: skip
    worker = None
    try:
        while not os.path.exists(info):
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give it a moment
        with open(info) as fh:
            address = json.load(fh)["address"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", "--nworkers", str(workers), "--nthreads",
             "1", "--no-dashboard", "--host", "127.0.0.1", "--scheduler-file", info], **quiet,
        )  # fmt: skip
        print(f"scheduler {address} and {workers} workers x 1 thread started "
              f"({time.perf_counter() - t:.1f} s before the first wait)")  # fmt: skip
        yield address, psutil.Process(scheduler.pid), psutil.Process(worker.pid)
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)


def client_side_cost(files, spec) -> tuple[float, float]:
    """What the client spends per result alone (unpickling each chunk's
    results, the bookkeeping of hash_files), without and with the hash store:
    the rate one client can take results in, whatever the cluster's size."""
    import pickle

    step = cluster.MAX_CHUNK
    blobs = [
        pickle.dumps(
            (list(range(k, min(k + step, len(files)))),
             hash_chunk([f.path for f in files[k : k + step]], spec))
        )
        for k in range(0, len(files), step)
    ]  # fmt: skip

    def runner(items, spec):
        for blob in blobs:
            yield pickle.loads(blob)

    t = time.perf_counter()
    hash_files(files, spec, runner=runner)
    plain = (time.perf_counter() - t) / len(files) * 1e6
    with tempfile.TemporaryDirectory(prefix="imgdupes-store-bench-") as tmp:
        store = HashStore(os.path.join(tmp, "hashes.sqlite3"))
        t = time.perf_counter()
        hash_files(files, spec, runner=runner, store=store)
        store.close()
        stored = (time.perf_counter() - t) / len(files) * 1e6
    return plain, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from distributed import Client

    spec = HashSpec(methods=("phash",), bits=64, full_decode=False)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="imgdupes-cluster-bench-") as tmp:
        t = time.perf_counter()
        make_jpegs(tmp, args.files, args.side)
        files = discover([tmp]).files
        mb = sum(f.size for f in files) / 1e6
        print(f"{len(files)} JPEGs, {args.side} px, {mb:.0f} MB, written in "
              f"{time.perf_counter() - t:.0f} s")  # fmt: skip

        with _loopback_cluster(args.workers, tmp) as (address, scheduler, worker_cli):
            with Client(address, set_as_default=False) as probe:
                probe.wait_for_workers(args.workers, timeout=120)
                probe.gather(probe.map(_noop, range(50)))  # warm the workers
                t = time.perf_counter()
                n_empty = 2000
                probe.gather(probe.map(_noop, range(n_empty)))
                empty_ms = (time.perf_counter() - t) / n_empty * 1000
            n_tasks = len(cluster.chunked(files, args.workers))
            chunk = math.ceil(len(files) / n_tasks)
            print(f"empty task round trip: {empty_ms:.2f} ms/task ({n_empty} tasks)")
            print(f"cluster tasks: {n_tasks} of up to {chunk} files")

            local_s: list[float] = []
            cluster_s: list[float] = []
            client_cpu: list[float] = []
            scheduler_cpu: list[float] = []
            worker_cpu: list[float] = []
            local_cpu: list[float] = []
            for r in range(args.rounds):
                t = time.perf_counter()
                cpu = _cpu_self() + _cpu_children()
                rows, errors = hash_files(files, spec, num_proc=args.workers)
                local_s.append(time.perf_counter() - t)
                local_cpu.append(_cpu_self() + _cpu_children() - cpu)
                assert not errors and len(rows) == len(files)
                local_hashes = [h["phash"] for _, h, _, _ in rows]

                t = time.perf_counter()
                cpu = _cpu_self()
                sched = _cpu(scheduler)
                workers_cpu = _cpu_tree(worker_cli)
                client = cluster.connect(address)
                try:
                    rows, errors = hash_files(files, spec, runner=cluster.file_runner(client))
                finally:
                    cluster.close(client)
                cluster_s.append(time.perf_counter() - t)
                client_cpu.append(_cpu_self() - cpu)
                scheduler_cpu.append(_cpu(scheduler) - sched)
                worker_cpu.append(_cpu_tree(worker_cli) - workers_cpu)
                assert not errors and [h["phash"] for _, h, _, _ in rows] == local_hashes
                print(f"round {r + 1}: local pool {len(files) / local_s[-1]:.0f} files/s "
                      f"({local_s[-1]:.1f} s), cluster {len(files) / cluster_s[-1]:.0f} files/s "
                      f"({cluster_s[-1]:.1f} s; CPU: client {client_cpu[-1]:.2f} s, "
                      f"scheduler {scheduler_cpu[-1]:.2f} s)")  # fmt: skip

            # Once more into a hash store, as --dask-scheduler does by default.
            store = HashStore(os.path.join(tmp, "hashes.sqlite3"))
            t = time.perf_counter()
            cpu = _cpu_self()
            client = cluster.connect(address)
            try:
                rows, errors = hash_files(
                    files, spec, runner=cluster.file_runner(client), store=store
                )
            finally:
                cluster.close(client)
                store.close()
            stored_s = time.perf_counter() - t
            stored_cpu = _cpu_self() - cpu
            assert not errors and [h["phash"] for _, h, _, _ in rows] == local_hashes
            print(f"cluster into a hash store: {len(files) / stored_s:.0f} files/s "
                  f"({stored_s:.1f} s; client CPU {stored_cpu:.2f} s)")  # fmt: skip
        ingest_us, ingest_store_us = client_side_cost(files, spec)

    # The machine may be shared: wall-clock rates move with the load, CPU
    # seconds per file much less.  Every process of each side is counted.
    local_cpu_s = min(local_cpu)
    cluster_cpu_s = min(
        c + s + w for c, s, w in zip(client_cpu, scheduler_cpu, worker_cpu, strict=True)
    )
    print(f"CPU for {len(files)} files: local pool {local_cpu_s:.1f} s, cluster "
          f"{cluster_cpu_s:.1f} s (workers {min(worker_cpu):.1f}, scheduler "
          f"{min(scheduler_cpu):.1f}, client {min(client_cpu):.1f}): cluster throughput per "
          f"CPU second = {local_cpu_s / cluster_cpu_s:.0%} of the local pool's")  # fmt: skip
    ratios = sorted(lo / cl for lo, cl in zip(local_s, cluster_s, strict=True))
    shown = ", ".join(f"{r:.0%}" for r in ratios)
    print(f"wall-clock ratio per round (cluster/local throughput): {shown}; "
          f"median {ratios[len(ratios) // 2]:.0%}")  # fmt: skip
    best_local, best_cluster = min(local_s), min(cluster_s)
    ratio = best_local / best_cluster
    extra_ms = (best_cluster - best_local) / n_tasks * 1000
    print(f"best: local pool {len(files) / best_local:.0f} files/s, "
          f"cluster {len(files) / best_cluster:.0f} files/s")  # fmt: skip
    print(f"cluster throughput = {ratio:.0%} of the local pool's (target >= 85%); "
          f"hashes identical")  # fmt: skip
    per_file_us = min(client_cpu) / len(files) * 1e6
    print(f"client CPU: {per_file_us:.0f} us per file, connecting included (one client core "
          f"takes in at most {1e6 / per_file_us:,.0f} files/s)")  # fmt: skip
    print(f"client CPU with the hash store: {stored_cpu / len(files) * 1e6:.0f} us per file "
          f"(at most {len(files) / stored_cpu:,.0f} files/s)")  # fmt: skip
    print(f"client side alone, per result: {ingest_us:.1f} us (at most {1e6 / ingest_us:,.0f} "
          f"files/s), {ingest_store_us:.1f} us into the hash store (at most "
          f"{1e6 / ingest_store_us:,.0f} files/s)")  # fmt: skip
    print(f"scheduler CPU: {sum(scheduler_cpu):.1f} s over {sum(cluster_s):.0f} s of cluster "
          f"runs, idle time included")  # fmt: skip
    print(f"cluster time beyond the local pool's: {extra_ms:.0f} ms per task of {chunk} files "
          f"({(best_cluster - best_local) / len(files) * 1e6:.0f} us per file)")  # fmt: skip


if __name__ == "__main__":
    main()
