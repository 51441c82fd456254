"""The exact search over a Parquet dataset on a real loopback Dask cluster.

Every comparison is against the single-machine engine on the same files:
the cluster must find the same sets, in the same order, with the same
distances.  One cluster (2 worker processes) serves the whole module.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from imgdupes import cli, cluster_search, hashio  # noqa: E402
from imgdupes.config import Config  # noqa: E402
from imgdupes.fromhashes import group_table  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as c:
        yield c


def make_dataset(
    folder, n, nbits, nfiles, seed=0, blank=0.01, planted=0.05, flips=3, names="part"
) -> str:
    """Random hashes with planted near-copies (0..flips bits apart) and a share of one
    blank hash, written as ``nfiles`` Parquet files."""
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 256, size=(n, nbits // 8), dtype=np.uint8)
    k = int(n * planted)
    src, dst = rng.integers(0, n, k), rng.integers(0, n, k)
    m[dst] = m[src]
    for _ in range(flips):  # each flip happens with p = 0.7: some copies stay exact
        pos = rng.integers(0, nbits, k)
        on = rng.random(k) < 0.7
        m[dst[on], pos[on] // 8] ^= (1 << (pos[on] % 8)).astype(np.uint8)
    m[rng.random(n) < blank] = 0
    hexes = np.array(hashio.matrix_to_hex(m, nbits), dtype=object)
    size = rng.integers(1_000, 1_000_000, n)
    os.makedirs(folder, exist_ok=True)
    for f, idx in enumerate(np.array_split(np.arange(n), nfiles)):
        table = pa.table(
            {
                "path": [f"photos/{i:08d}.jpg" for i in idx.tolist()],
                "hash": pa.array(hexes[idx].tolist(), pa.string()),
                "size": pa.array(size[idx]),
            }
        )
        pq.write_table(table, os.path.join(folder, f"{names}-{f:03d}.parquet"))
    return str(folder)


def listing(sets):
    return [[(e.path, e.distance, e.hash_hex, e.size) for e in s.entries] for s in sets]


def local_sets(folder, radius):
    config = Config(hash_method="phash", threshold=radius, hashes_from=folder)
    table = hashio.read_dataset(folder, "phash", lambda m: None)
    return group_table(config, table)


def cluster_sets(client, folder, radius, **kw):
    config = Config(hash_method="phash", threshold=radius, hashes_from=folder)
    notes: list[str] = []
    nbits, sets = cluster_search.search(client, folder, config, notes.append, **kw)
    return sets


@pytest.mark.parametrize("radius", [0, 4, 8])
def test_cluster_finds_the_local_sets_64_bit(client, tmp_path, radius):
    folder = make_dataset(tmp_path / "ds", 30_000, 64, 4, seed=radius, flips=radius or 1)
    expected = local_sets(folder, radius)
    assert len(expected) > 100  # planted copies and the blank hash make sets
    assert listing(cluster_sets(client, folder, radius)) == listing(expected)


def test_cluster_finds_the_local_sets_256_bit(client, tmp_path):
    folder = make_dataset(tmp_path / "ds", 20_000, 256, 3, seed=7, flips=12)
    for radius in (8, 20):
        expected = local_sets(folder, radius)
        assert len(expected) > 100
        assert listing(cluster_sets(client, folder, radius)) == listing(expected)


def test_blank_hash_skew_finishes_as_one_set(client, tmp_path):
    # 40% of 150k rows hold one hash: collapsed first, it is one row of the join.
    folder = make_dataset(tmp_path / "ds", 150_000, 64, 3, seed=3, blank=0.4)
    sets = cluster_sets(client, folder, 4)
    assert listing(sets) == listing(local_sets(folder, 4))
    biggest = max(sets, key=len)
    assert len(biggest) > 55_000
    assert {e.hash_hex for e in biggest.entries} == {"0" * 16}


def test_eight_files_of_hashes_match_the_local_engine_r4(client, tmp_path):
    # the benchmark runs this at 4M rows (benchmarks/cluster_search.py --rows 4000000)
    folder = make_dataset(tmp_path / "ds", 400_000, 64, 8, seed=11)
    stats = cluster_search.ClusterStats()
    sets = cluster_sets(client, folder, 4, stats=stats)
    assert stats.rows == 400_000 and stats.chunks == 5
    assert listing(sets) == listing(local_sets(folder, 4))


def test_cli_lists_and_exports_the_same_sets(cluster, tmp_path):
    folder = make_dataset(tmp_path / "ds", 20_000, 64, 4, seed=5)
    out, err = io.StringIO(), io.StringIO()
    export = tmp_path / "sets"
    args = ["--hashes-from", folder, "phash", "4", "--json"]
    code = cli.main(
        args + ["--dask-scheduler", cluster.scheduler_address, "--export-sets", str(export)],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    local_out = io.StringIO()
    assert cli.main(args, stdout=local_out, stderr=io.StringIO()) == 0
    assert json.loads(out.getvalue()) == json.loads(local_out.getvalue())

    sets = json.loads(out.getvalue())["sets"]
    listed = [[(e["path"], e["distance"]) for e in s["files"]] for s in sets]
    table = pq.read_table(str(export)).to_pylist()
    by_set: dict[int, list] = {}
    for row in table:
        by_set.setdefault(row["set_id"], []).append((row["path"], row["distance"]))
    exported = sorted(by_set.values(), key=lambda s: min(p for p, _ in s))
    assert exported == listed


def test_a_bad_file_is_named_and_nothing_is_listed(cluster, tmp_path):
    folder = make_dataset(tmp_path / "ds", 5_000, 64, 3)
    with open(os.path.join(folder, "part-001.parquet"), "wb") as fh:
        fh.write(b"PAR1 this is not a parquet file")
    pq.write_table(pa.table({"file": ["a"], "h": ["00"]}), os.path.join(folder, "x.parquet"))
    for extra in ([], ["--dask-scheduler", cluster.scheduler_address]):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["--hashes-from", folder, "phash", "4"] + extra, stdout=out, stderr=err)
        lines = err.getvalue().splitlines()
        assert code == 2
        assert out.getvalue() == ""
        assert len(lines) == 3, lines
        assert "part-001.parquet" in lines[0] and "Parquet" in lines[0]
        assert "x.parquet" in lines[1] and "no path or hash column" in lines[1]
        assert "2 of 4 files cannot be used; nothing was searched" in lines[2]


def test_unreachable_scheduler_is_one_line(tmp_path):
    folder = make_dataset(tmp_path / "ds", 100, 64, 1)
    err = io.StringIO()
    code = cli.main(
        ["--hashes-from", folder, "phash", "4", "--dask-scheduler", "tcp://127.0.0.1:9"],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2
    assert err.getvalue().count("\n") == 1
    assert "--dask-scheduler tcp://127.0.0.1:9: cannot reach the scheduler" in err.getvalue()


def test_export_sets_needs_a_new_or_empty_folder(tmp_path):
    folder = make_dataset(tmp_path / "ds", 100, 64, 1)
    used = tmp_path / "used"
    used.mkdir()
    (used / "part-00000.parquet").write_bytes(b"old")
    err = io.StringIO()
    code = cli.main(
        ["--hashes-from", folder, "phash", "4", "--export-sets", str(used)],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2 and "not empty" in err.getvalue()
    assert (used / "part-00000.parquet").read_bytes() == b"old"


def test_a_worker_killed_mid_run_still_gives_the_exact_sets(tmp_path):
    # its own cluster: the nanny restarts the killed worker; Dask recomputes what it held
    folder = make_dataset(tmp_path / "ds", 300_000, 64, 6, seed=2)
    expected = listing(local_sets(folder, 4))
    with (
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as c,
        distributed.Client(c.scheduler_address, set_as_default=False) as client,
    ):
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_when_busy():
            deadline = time.time() + 60
            while time.time() < deadline:
                if any(client.processing().values()):
                    time.sleep(1.0)
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
                time.sleep(0.05)

        t = threading.Thread(target=kill_when_busy)
        t.start()
        sets = cluster_sets(client, folder, 4)
        t.join()
        assert killed
        assert listing(sets) == expected


def test_local_dataset_folder_and_glob(tmp_path):
    # Spark's layout: key=value subfolders, _SUCCESS and dot-files beside the parts
    root = tmp_path / "spark"
    make_dataset(root / "day=1", 3_000, 64, 2, seed=1)
    make_dataset(root / "day=2", 3_000, 64, 2, seed=1, names="other")
    (root / "_SUCCESS").write_text("")
    (root / "day=1" / ".part-000.parquet.crc").write_bytes(b"crc")
    table = hashio.read_source(str(root), "phash", lambda m: None)
    assert len(table) == 6_000
    globbed = hashio.read_source(str(root / "day=*" / "*.parquet"), "phash", lambda m: None)
    assert [globbed.path(k) for k in range(len(globbed))] == [
        table.path(k) for k in range(len(table))
    ]
    with pytest.raises(hashio.HashFileError, match="no Parquet files"):
        hashio.read_source(str(tmp_path / "nothing-*.parquet"), "phash", lambda m: None)


def test_too_many_rows_for_the_listing_say_export(client, tmp_path, monkeypatch):
    folder = make_dataset(tmp_path / "ds", 5_000, 64, 2, blank=0.2)
    monkeypatch.setattr(cluster_search, "CLIENT_ROWS", 100)
    with pytest.raises(cluster_search.ClusterRunError, match="write them with export_sets DIR"):
        cluster_sets(client, folder, 4)
    export = tmp_path / "sets"
    assert cluster_sets(client, folder, 4, export_dir=str(export)) is None
    rows = pq.read_table(str(export)).num_rows
    assert rows == sum(len(s) for s in local_sets(folder, 4))


def test_a_file_changed_during_the_run_fails_with_one_line(client, tmp_path):
    # A row the reader skips makes the search call warn() between the first read
    # and the second; the file is rewritten right then.
    folder = make_dataset(tmp_path / "ds", 2_000, 64, 2, blank=0.1)
    victim = os.path.join(folder, "part-000.parquet")
    table = pq.read_table(victim)
    hashes_col = table.column("hash").to_pylist()
    hashes_col[0] = "not-hex-at-all!!"
    pq.write_table(table.set_column(1, "hash", pa.array(hashes_col, pa.string())), victim)
    notes = []

    def warn(msg):
        notes.append(msg)
        if len(notes) == 1:
            pq.write_table(pq.read_table(victim), victim)  # same rows, new mtime
            os.utime(victim, ns=(time.time_ns(), time.time_ns() + 10**9))

    config = Config(hash_method="phash", threshold=4, hashes_from=folder)
    with pytest.raises(cluster_search.ClusterRunError) as err:
        cluster_search.search(client, folder, config, warn)
    assert "row 1: hash 'not-hex-at-all!!'" in notes[0]
    message = str(err.value)
    assert "\n" not in message
    assert "part-000.parquet changed while it was being searched" in message
    assert "no result is shown" in message
