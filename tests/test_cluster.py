"""--dask-scheduler: hashing on a real Dask cluster on loopback (scheduler + 2 worker processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SRC, run_inproc

distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed")

DECODERS = str(Path(__file__).resolve().parent / "cluster_decoders.py")


@dataclass
class Cluster:
    scheduler_address: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and `dask worker --nworkers 2 --nthreads 1` on 127.0.0.1."""
    info = str(tmp_path_factory.mktemp("dask") / "scheduler.json")
    env = dict(
        os.environ,
        PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        # A task fails at its first worker death (the default: the fourth): the
        # killing-file test then costs two worker restarts, not eight.
        DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0",
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    dask = [sys.executable, "-m", "dask"]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", info], **quiet,
    )  # fmt: skip
    workers = None
    try:
        deadline = time.monotonic() + 120
        address = None
        while address is None and time.monotonic() < deadline:
            try:
                with open(info) as fh:
                    address = json.load(fh)["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        assert address, "the scheduler did not start"
        workers = subprocess.Popen(
            [*dask, "worker", "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1", "--preload", DECODERS, "--scheduler-file", info], **quiet,
        )  # fmt: skip
        yield Cluster(address)
    finally:
        for proc in (workers, scheduler):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def client(cluster):
    """A client of the cluster once both workers are up (again, after a test killed one)."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=180)
        yield c


def _hashes_csv(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()[1:]
    return {row.split(",")[0]: row.split(",")[1] for row in lines}


def _slow_image(img, marker_dir: Path, sleep: float) -> bytes:
    """A picture in the SLOWME format of cluster_decoders.py."""
    gray = img.convert("L")
    meta = {"w": gray.width, "h": gray.height, "marker_dir": str(marker_dir), "sleep": sleep}
    return b"SLOWME" + json.dumps(meta).encode() + b"\n" + gray.tobytes()


def test_same_sets_and_hashes_as_the_local_run(
    cluster, client, dupe_tree, tmp_path, forbid_decoding
):
    root, families = dupe_tree
    local = run_inproc("--no-cache", "--export-hashes", str(tmp_path / "l.csv"), str(root),
                       "phash", "4")  # fmt: skip
    cache = str(tmp_path / "cache")
    remote = run_inproc(
        "--cache-dir", cache, "--dask-scheduler", cluster.scheduler_address,
        "--export-hashes", str(tmp_path / "r.csv"), str(root), "phash", "4",
    )  # fmt: skip
    assert remote.code == 0, remote.err
    assert sorted(map(sorted, remote.sets)) == sorted(families)
    assert remote.out == local.out
    assert _hashes_csv(tmp_path / "r.csv") == _hashes_csv(tmp_path / "l.csv")
    assert len(_hashes_csv(tmp_path / "r.csv")) == 15
    # The workers' results went into this machine's hash store: a local run
    # with another method reads no image at all.
    before = run_inproc("--no-cache", str(root), "dhash", "4")
    forbid_decoding()
    again = run_inproc("--cache-dir", cache, str(root), "dhash", "4")
    assert again.code == 0 and again.err == "", again.err
    assert again.out == before.out


def test_shards_on_the_cluster_give_the_local_sets(cluster, client, dupe_tree, tmp_path):
    import tarfile

    root, families = dupe_tree
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    files = sorted(root.iterdir())
    for k in range(3):  # three shards: three tasks
        with tarfile.open(shard_dir / f"part-{k}.tar", "w") as tf:
            for f in files[k::3]:
                tf.add(f, arcname=f.name)
    local = run_inproc("--no-cache", "--shards", str(shard_dir), "phash", "4")
    remote = run_inproc(
        "--no-cache", "--shards", "--dask-scheduler", cluster.scheduler_address,
        str(shard_dir), "phash", "4",
    )  # fmt: skip
    assert remote.code == 0 and remote.err == "", remote.err
    assert remote.out == local.out
    found = sorted(sorted(str(root / p.split("#")[1]) for p in s) for s in remote.sets)
    assert found == sorted(families)


def test_a_file_that_kills_its_worker_is_named_and_skipped(cluster, client, dupe_tree, tmp_path):
    root, families = dupe_tree
    (root / "crash.png").write_bytes(b"KILLME" + b"\0" * 64)
    r = run_inproc("--no-cache", "--dask-scheduler", cluster.scheduler_address, str(root),
                   "phash", "4")  # fmt: skip
    assert r.code == 0, r.err
    assert sorted(map(sorted, r.sets)) == sorted(families)
    errors = [line for line in r.err.splitlines() if "crash.png" in line]
    assert len(errors) == 1 and "worker" in errors[0] and "died" in errors[0], r.err


def test_a_task_that_keeps_failing_is_retried_then_its_file_named(cluster, client, dupe_tree):
    root, families = dupe_tree
    (root / "buggy.png").write_bytes(b"RAISEME" + b"\0" * 64)
    r = run_inproc("--no-cache", "--dask-scheduler", cluster.scheduler_address, str(root),
                   "phash", "4")  # fmt: skip
    assert r.code == 0
    assert sorted(map(sorted, r.sets)) == sorted(families)  # the rest of its chunk was hashed
    assert r.err == (
        f"imgdupes: {root / 'buggy.png'}: failed on the Dask cluster "
        "(RuntimeError: a bug in a decoder plugin)\n"
    )


def test_a_worker_killed_mid_run_changes_nothing(cluster, client, dupe_tree, tmp_path, photo):
    root, families = dupe_tree
    local = run_inproc("--no-cache", "--export-hashes", str(tmp_path / "l.csv"), str(root),
                       "phash", "4")  # fmt: skip
    markers = tmp_path / "markers"
    markers.mkdir()
    # decoded by the workers' SLOWME plugin only: hashed there, unreadable here
    (root / "slow.png").write_bytes(_slow_image(photo(999), markers, sleep=1.5))
    killed: list[int] = []

    def kill_the_worker_decoding_it() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            started = list(markers.glob("started-*"))
            if started:
                pid = int(started[0].name.split("-")[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_worker_decoding_it)
    killer.start()
    r = run_inproc("--no-cache", "--dask-scheduler", cluster.scheduler_address,
                   "--export-hashes", str(tmp_path / "r.csv"), str(root), "phash", "4")  # fmt: skip
    killer.join()
    assert killed, "the slow file was never decoded"
    assert r.code == 0 and r.err == "", r.err
    assert r.out == local.out
    remote_hashes = _hashes_csv(tmp_path / "r.csv")
    slow = remote_hashes.pop(str(root / "slow.png"))  # decoded again after the kill
    assert len(slow) == 16
    assert remote_hashes == _hashes_csv(tmp_path / "l.csv")
    assert len(list(markers.glob("started-*"))) == 2  # on the killed worker, then again


def test_unreachable_scheduler_is_one_line_and_status_2(dupe_tree):
    root, _ = dupe_tree
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_inproc("--dask-scheduler", f"tcp://127.0.0.1:{port}", str(root), "phash", "4")
    assert r.code == 2
    assert r.err.count("\n") == 1 and "cannot reach the scheduler" in r.err, r.err
    r = run_inproc("--dask-scheduler", "nonsense://x", str(root), "phash", "4")
    assert r.code == 2 and r.err.count("\n") == 1 and "not a scheduler address" in r.err


def _python(code: str, root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC)
    cmd = [sys.executable, "-c", code, str(root)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_without_the_option_nothing_of_dask_is_imported(dupe_tree):
    root, _ = dupe_tree
    done = _python(
        "import sys, io\n"
        "from imgdupes import cli\n"
        "code = cli.main(['--no-cache', sys.argv[1], 'phash', '4'], stdout=io.StringIO())\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))",
        root,
    )
    assert done.stdout.split() == ["0", "[]"], done.stderr


def test_missing_distributed_names_what_to_install(dupe_tree):
    root, _ = dupe_tree
    done = _python(
        "import sys, io\n"
        "sys.modules['distributed'] = None  # as if it were not installed\n"
        "from imgdupes import cli\n"
        "err = io.StringIO()\n"
        "code = cli.main(['--dask-scheduler', 'tcp://127.0.0.1:8786', sys.argv[1], 'phash', '4'],"
        " stderr=err)\n"
        "print(code); print(err.getvalue(), end='')",
        root,
    )
    code, *lines = done.stdout.splitlines()
    assert code == "2", done.stderr
    assert len(lines) == 1 and "pip install 'dask[distributed]'" in lines[0]
    assert "imgdupes[" not in lines[0]


def test_ctrl_c_keeps_what_the_workers_hashed(cluster, client, dupe_tree, tmp_path, photo):
    from imgdupes.cache import DB_NAME, HashStore

    root, _ = dupe_tree
    markers = tmp_path / "markers"
    markers.mkdir()
    (root / "slow.png").write_bytes(_slow_image(photo(999), markers, sleep=4))
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=SRC)
    cmd = [sys.executable, "-m", "imgdupes", "--cache-dir", str(cache),
           "--dask-scheduler", cluster.scheduler_address, str(root), "phash", "4"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(markers.glob("started-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the 15 quick files are back by now; the slow one is still decoding
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines()[-1] == "imgdupes: interrupted"
    assert b"Traceback" not in err
    with HashStore(str(cache / DB_NAME)) as store:
        stored = store.conn.execute("SELECT count(*) FROM images").fetchone()[0]
        assert stored >= 1  # written as they came back, kept through Ctrl-C
